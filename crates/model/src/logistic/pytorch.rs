//! Weights in PyTorch's layout, as safetensors: `weight` `[num_classes, input_size]` and `bias`
//! `[num_classes]`, the `state_dict` of `torch.nn.Linear(input_size, num_classes)`.

use std::path::Path;

use burn::prelude::*;
use burn::store::{
    BurnToPyTorchAdapter, FloatCastAdapter, ModuleAdapter, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, SafetensorsStore,
};
use burn::tensor::DType;

use crate::{LogisticRegression, LogisticRegressionConfig, ModelLoadError};

/// Writing weights failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write weights to {path}: {reason}")]
pub struct ModelSaveError {
    /// The file.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

impl LogisticRegression {
    /// The weights as the bytes of a safetensors file in PyTorch's `nn.Linear` layout.
    pub fn to_pytorch_safetensors(&self) -> Result<Vec<u8>, ModelSaveError> {
        let failed = |reason: String| ModelSaveError {
            path: "(memory)".to_string(),
            reason,
        };
        let mut store = SafetensorsStore::from_bytes(None)
            .with_to_adapter(BurnToPyTorchAdapter)
            .with_key_remapping(r"^linear\.", "")
            // One metadata entry, like PyTorch's own `save_file`: with several, the header's
            // order (a hash map's) would change from save to save.
            .clear_metadata()
            .metadata("format", "pt");
        self.save_into(&mut store)
            .map_err(|err| failed(err.to_string()))?;
        store.get_bytes().map_err(|err| failed(err.to_string()))
    }

    /// Saves the weights as a safetensors file that PyTorch loads into
    /// `torch.nn.Linear(input_size, num_classes)`:
    /// `linear.load_state_dict(safetensors.torch.load_file(path))`.
    ///
    /// The file is written next to `path` under a temporary name and renamed, so `path` never
    /// holds half a file.
    pub fn save_pytorch_safetensors(&self, path: impl AsRef<Path>) -> Result<(), ModelSaveError> {
        let path = path.as_ref();
        let failed = |reason: String| ModelSaveError {
            path: path.display().to_string(),
            reason,
        };
        let bytes = self
            .to_pytorch_safetensors()
            .map_err(|err| failed(err.reason))?;
        let name = path
            .file_name()
            .ok_or_else(|| failed("the path names no file".to_string()))?;
        let temporary = path.with_file_name(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let written =
            std::fs::write(&temporary, &bytes).and_then(|()| std::fs::rename(&temporary, path));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(failed(err.to_string()));
        }
        Ok(())
    }
}

impl LogisticRegressionConfig {
    /// Creates a model on `device` with the weights of a safetensors file holding a PyTorch
    /// `nn.Linear` `state_dict` (`weight` `[num_classes, input_size]`, `bias` `[num_classes]`),
    /// as `safetensors.torch.save_file(linear.state_dict(), path)` writes it.
    ///
    /// Floating-point tensors of any precision (F16, BF16, F64: `linear.half()`, `.double()`)
    /// are converted to F32, the model's precision; anything else, and weights that are not
    /// finite numbers, are refused.
    pub fn load_pytorch_safetensors(
        &self,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<LogisticRegression, ModelLoadError> {
        let path = path.as_ref();
        let shown = super::existing_file(path)?;
        self.check_file_shapes(SafetensorsStore::from_file(path), &shown)?;
        self.load_from_store(SafetensorsStore::from_file(path), shown, device)
    }

    /// [`load_pytorch_safetensors`](Self::load_pytorch_safetensors) from the bytes of such a
    /// file held in memory; `name` labels the errors.
    pub fn load_pytorch_safetensors_bytes(
        &self,
        bytes: Vec<u8>,
        name: &str,
        device: &Device,
    ) -> Result<LogisticRegression, ModelLoadError> {
        self.check_file_shapes(SafetensorsStore::from_bytes(Some(bytes.clone())), name)?;
        self.load_from_store(
            SafetensorsStore::from_bytes(Some(bytes)),
            name.to_string(),
            device,
        )
    }

    /// The shapes of `weight` and `bias` as the file holds them, in PyTorch's layout
    /// (`[out_features, in_features]`), checked against `nn.Linear(input_size, outputs)` before
    /// anything is loaded: Burn keeps the weight transposed, and its own errors would name
    /// shapes the file does not have.
    fn check_file_shapes(
        &self,
        mut raw: SafetensorsStore,
        shown: &str,
    ) -> Result<(), ModelLoadError> {
        let invalid = |reason: String| ModelLoadError::Invalid {
            path: shown.to_string(),
            reason,
        };
        let outputs = self.head.outputs(self.num_classes);
        let linear = format!("nn.Linear({}, {outputs})", self.input_size);
        let mut expected = vec![("weight", vec![outputs, self.input_size])];
        if self.bias {
            expected.push(("bias", vec![outputs]));
        }
        for (name, shape) in expected {
            let found = raw
                .get_tensor(name)
                .map_err(|err| invalid(err.to_string()))?
                .map(|tensor| tensor.shape.to_vec());
            let Some(found) = found else {
                continue; // named with the other missing tensors after loading
            };
            if found != shape {
                let mut reversed = shape.clone();
                reversed.reverse();
                let hint = if found == reversed && shape.len() == 2 {
                    ": the file holds its transpose; save the nn.Linear's own state_dict (weight \
                     [out_features, in_features])"
                } else {
                    ""
                };
                return Err(invalid(format!(
                    "tensor `{name}` is {found:?} in the file, and {linear} has `{name}` \
                     {shape:?} (PyTorch's layout){hint}"
                )));
            }
        }
        Ok(())
    }

    fn load_from_store(
        &self,
        store: SafetensorsStore,
        shown: String,
        device: &Device,
    ) -> Result<LogisticRegression, ModelLoadError> {
        let invalid = |reason: String| ModelLoadError::Invalid {
            path: shown.clone(),
            reason,
        };
        let mut model = self.init(device);
        // Partial loads are allowed so that a missing tensor comes back in `result.missing`,
        // named below, rather than as burn-store's error with its API hint.
        let mut store = store
            .with_from_adapter(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(DType::F32)))
            .with_key_remapping(r"^(weight|bias)$", "linear.$1")
            .allow_partial(true);
        let result = model
            .load_from(&mut store)
            .map_err(|err| invalid(err.to_string()))?;
        let expected = format!(
            "an nn.Linear({}, {}) state_dict: `weight` [{}, {}]{}",
            self.input_size,
            self.num_classes,
            self.head.outputs(self.num_classes),
            self.input_size,
            if self.bias {
                format!(" and `bias` [{}]", self.head.outputs(self.num_classes))
            } else {
                " and no bias".to_string()
            }
        );
        if !result.errors.is_empty() {
            let errors: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
            return Err(invalid(format!(
                "the tensors do not fit {expected}: {}",
                errors.join("; ")
            )));
        }
        if !result.missing.is_empty() || !result.unused.is_empty() {
            let name = |path: &str| path.strip_prefix("linear.").unwrap_or(path).to_string();
            let missing: Vec<String> = result.missing.iter().map(|(p, _)| name(p)).collect();
            let unused: Vec<String> = result.unused.iter().map(|p| name(p)).collect();
            return Err(invalid(format!(
                "expected {expected}; missing: {missing:?}, unexpected: {unused:?}"
            )));
        }
        // Burn holds the weight as [input_size, outputs]: reported in PyTorch's layout.
        check_floats("weight", model.weights().transpose()).map_err(&invalid)?;
        if let Some(bias) = model.bias() {
            check_floats("bias", bias).map_err(&invalid)?;
        }
        Ok(model)
    }
}

/// The tensor must hold F32 numbers, all finite.
fn check_floats<const D: usize>(name: &str, tensor: Tensor<D>) -> Result<(), String> {
    let dtype = tensor.dtype();
    if dtype != DType::F32 {
        return Err(format!(
            "tensor `{name}` holds {dtype:?} values; the weights must be floating-point numbers"
        ));
    }
    let dims = tensor.dims().to_vec();
    let values = tensor
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|err| format!("tensor `{name}` cannot be read: {err:?}"))?;
    if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let bad = values.iter().filter(|v| !v.is_finite()).count();
        let at = match dims.as_slice() {
            [_, columns] => format!("[{}, {}]", index / columns, index % columns),
            _ => format!("[{index}]"),
        };
        return Err(format!(
            "tensor `{name}` holds {bad} values that are not finite numbers (the first, at \
             {at}, flat index {index} in PyTorch's layout, is {value}); a model with NaN or \
             infinite weights answers nothing meaningful: export weights from a model that \
             trained without diverging"
        ));
    }
    Ok(())
}
