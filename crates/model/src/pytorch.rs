//! Weights in PyTorch's layout, as safetensors: `weight` `[num_classes, input_size]` and `bias`
//! `[num_classes]`, the `state_dict` of `torch.nn.Linear(input_size, num_classes)`.

use std::path::Path;

use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

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
    pub fn load_pytorch_safetensors(
        &self,
        path: impl AsRef<Path>,
        device: &Device,
    ) -> Result<LogisticRegression, ModelLoadError> {
        let path = path.as_ref();
        let shown = crate::logistic::existing_file(path)?;
        let invalid = |reason: String| ModelLoadError::Invalid {
            path: shown.clone(),
            reason,
        };
        let mut model = self.init(device);
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"^(weight|bias)$", "linear.$1");
        let result = model
            .load_from(&mut store)
            .map_err(|err| invalid(err.to_string()))?;
        if !result.errors.is_empty() {
            let errors: Vec<String> = result.errors.iter().map(|e| format!("{e:?}")).collect();
            return Err(invalid(format!(
                "the tensors do not fit a {}x{} linear layer{}: {}",
                self.num_classes,
                self.input_size,
                if self.bias { " with bias" } else { "" },
                errors.join("; ")
            )));
        }
        if !result.missing.is_empty() || !result.unused.is_empty() {
            let missing: Vec<&str> = result
                .missing
                .iter()
                .map(|(path, _)| path.as_str())
                .collect();
            return Err(invalid(format!(
                "expected the tensors `weight` and{} `bias` of an nn.Linear state_dict; missing: \
                 {missing:?}, unexpected: {:?}",
                if self.bias { "" } else { " no" },
                result.unused
            )));
        }
        Ok(model)
    }
}
