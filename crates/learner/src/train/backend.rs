//! Choosing the compute backend at run time among those compiled in (cargo features).
//!
//! The device is always built explicitly: Burn's `Device::default()` follows its own priority
//! order and would silently pick another backend when several features are on. A device is
//! checked with a small computation before it is used, so a backend that cannot run here (no
//! wgpu adapter, no CUDA driver) is an error that says how to fix it, not a panic later.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// The backends this workspace knows. Which ones a binary holds depends on its cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// Burn's flex CPU backend, the successor of ndarray (feature `flex`, the default).
    Flex,
    /// Burn's ndarray CPU backend (feature `ndarray`).
    Ndarray,
    /// Burn's wgpu backend: the best GPU adapter wgpu finds, on Vulkan, Metal, DX12 or
    /// WebGPU (feature `wgpu`).
    Wgpu,
    /// LibTorch on the CPU (feature `tch`).
    Tch,
    /// LibTorch on a CUDA GPU (feature `tch`, with a CUDA build of LibTorch at run time).
    TchCuda,
    /// Burn's CUDA backend (feature `cuda`; untested here, see the README).
    Cuda,
}

/// A backend that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The name matches no known backend.
    #[error("unknown backend `{name}`: known backends are {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// The backend exists but this binary was built without it.
    #[error(
        "backend `{name}` is not compiled into this binary (compiled in: {compiled}); rebuild \
         with its cargo feature: `cargo run --release -p trainer --features {feature} -- --backend {name}`"
    )]
    NotCompiled {
        /// The backend asked for.
        name: &'static str,
        /// Its cargo feature.
        feature: &'static str,
        /// The backends that are compiled in.
        compiled: String,
    },
    /// The binary has no backend at all.
    #[error(
        "this binary was built without any backend; rebuild with one of the features flex, \
         ndarray, wgpu, tch"
    )]
    NoneCompiled,
    /// The backend chosen because none was named (a feature beyond the default was enabled)
    /// does not work on this machine.
    #[error(
        "backend `{name}` cannot open its device: {reason}. {fix}. It was chosen because this \
         binary was built with the `{feature}` feature and no --backend was given: pass \
         --backend flex to train on the CPU"
    )]
    DefaultUnavailable {
        /// The backend.
        name: &'static str,
        /// What failed.
        reason: String,
        /// How to fix it.
        fix: &'static str,
        /// The feature that made it the default.
        feature: &'static str,
    },
    /// The backend is compiled in but its device does not work on this machine.
    #[error("backend `{name}` cannot open its device: {reason}. {fix}")]
    Unavailable {
        /// The backend.
        name: &'static str,
        /// What failed.
        reason: String,
        /// How to fix it.
        fix: &'static str,
    },
    /// Fewer devices than asked for.
    #[error(
        "backend `{name}` offers {available} device(s) here, not the {requested} asked for with \
         --devices: {hint}"
    )]
    TooFewDevices {
        /// The backend.
        name: &'static str,
        /// Devices asked for.
        requested: usize,
        /// Devices available.
        available: usize,
        /// What to do instead.
        hint: &'static str,
    },
}

impl BackendKind {
    /// Every known backend, in order of preference when none is named.
    pub const ALL: [BackendKind; 6] = [
        BackendKind::Flex,
        BackendKind::Ndarray,
        BackendKind::Wgpu,
        BackendKind::Tch,
        BackendKind::TchCuda,
        BackendKind::Cuda,
    ];

    /// The name used on the command line, in configs and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ndarray => "ndarray",
            Self::Flex => "flex",
            Self::Wgpu => "wgpu",
            Self::Tch => "tch",
            Self::TchCuda => "tch-cuda",
            Self::Cuda => "cuda",
        }
    }

    /// The cargo feature that compiles the backend in.
    pub fn feature(self) -> &'static str {
        match self {
            Self::TchCuda => "tch",
            other => other.name(),
        }
    }

    /// Whether this binary was built with the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Ndarray => cfg!(feature = "ndarray"),
            Self::Flex => cfg!(feature = "flex"),
            Self::Wgpu => cfg!(feature = "wgpu"),
            Self::Tch | Self::TchCuda => cfg!(feature = "tch"),
            Self::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The compiled-in backends, in order of preference.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL
            .into_iter()
            .filter(|kind| kind.is_compiled())
            .collect()
    }

    /// The backend used when none is named: the one a cargo feature beyond the default asked
    /// for, so that `cargo run -p trainer --features wgpu` trains on wgpu. In order: `tch-cuda`
    /// when a CUDA LibTorch is present (its device is tried), then `wgpu`, `tch`, `ndarray`,
    /// and last `flex`, the default feature. `cuda` is never picked implicitly (untested).
    pub fn preferred() -> Result<BackendKind, BackendError> {
        if Self::TchCuda.is_compiled() && Self::TchCuda.device().is_ok() {
            return Ok(Self::TchCuda);
        }
        [Self::Wgpu, Self::Tch, Self::Ndarray, Self::Flex]
            .into_iter()
            .find(|kind| kind.is_compiled())
            .ok_or(BackendError::NoneCompiled)
    }

    /// The backend to use and `count` of its devices, opened and checked: `requested`, or the
    /// [`preferred`](Self::preferred) one. When the preferred one cannot open its device, the
    /// error says why it was chosen and how to train on the CPU instead.
    pub fn choose(
        requested: Option<BackendKind>,
        count: usize,
    ) -> Result<(BackendKind, Vec<Device>), BackendError> {
        let kind = match requested {
            Some(kind) => kind,
            None => Self::preferred()?,
        };
        match kind.devices(count) {
            Ok(devices) => Ok((kind, devices)),
            Err(BackendError::Unavailable { name, reason, fix }) if requested.is_none() => {
                Err(BackendError::DefaultUnavailable {
                    name,
                    reason,
                    fix,
                    feature: kind.feature(),
                })
            }
            Err(err) => Err(err),
        }
    }

    /// Whether `device` is a software adapter (llvmpipe / lavapipe, SwiftShader): a GPU API
    /// emulated on the CPU, far slower than the CPU backends.
    pub fn is_software(self, device: &Device) -> bool {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if matches!(self, Self::Wgpu | Self::Cuda)
            && let Ok(Some(identity)) = quietly(|| device.identity())
        {
            let name = identity.name.to_lowercase();
            // cubecl reports no physical card for a CPU or a software rasterizer.
            return identity.physical.is_none()
                || ["llvmpipe", "lavapipe", "swiftshader", "softpipe"]
                    .iter()
                    .any(|software| name.contains(software));
        }
        let _ = device;
        false
    }

    /// Opens the backend's first device and checks that it computes.
    pub fn device(self) -> Result<Device, BackendError> {
        let device = self.unchecked_device(0)?;
        self.check(&device)?;
        Ok(device)
    }

    /// Opens `count` distinct devices of the backend (for multi-device training) and checks
    /// each. The CPU backends offer one device.
    pub fn devices(self, count: usize) -> Result<Vec<Device>, BackendError> {
        if count <= 1 {
            return Ok(vec![self.device()?]);
        }
        let available = self.available_devices()?;
        if available.len() < count {
            let hint = match self {
                Self::Flex | Self::Ndarray | Self::Tch => {
                    "it is a CPU backend, with one device whose operations already use every core; \
                     Burn 0.22's data-parallel training runs on several devices of a GPU backend \
                     (wgpu adapters, CUDA GPUs with tch-cuda): train with --devices 1 here"
                }
                _ => "give --devices at most the number of devices this machine has",
            };
            return Err(BackendError::TooFewDevices {
                name: self.name(),
                requested: count,
                available: available.len(),
                hint,
            });
        }
        let devices: Vec<Device> = available.into_iter().take(count).collect();
        for device in &devices {
            self.check(device)?;
        }
        Ok(devices)
    }

    /// A human-readable description of `device`: the adapter name for wgpu and CUDA devices,
    /// Burn's device description otherwise.
    pub fn describe(self, device: &Device) -> String {
        #[cfg(any(feature = "wgpu", feature = "cuda"))]
        if matches!(self, Self::Wgpu | Self::Cuda)
            && let Ok(Some(identity)) = quietly(|| device.identity())
        {
            return format!("{} [{}]", identity.name, identity.fingerprint);
        }
        match self {
            Self::Flex | Self::Ndarray => "CPU".to_string(),
            Self::Tch => "LibTorch, CPU".to_string(),
            _ => format!("{device:?}"),
        }
    }

    fn not_compiled(self) -> BackendError {
        BackendError::NotCompiled {
            name: self.name(),
            feature: self.feature(),
            compiled: compiled_names(),
        }
    }

    /// The device at `index`, without checking that it works.
    #[allow(unused_variables)] // `index` is unused when only CPU backends are compiled in
    fn unchecked_device(self, index: usize) -> Result<Device, BackendError> {
        if !self.is_compiled() {
            return Err(self.not_compiled());
        }
        #[allow(unreachable_code)]
        Ok(match self {
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // burn 0.22 deprecates ndarray in favour of flex; both are offered
            Self::Ndarray => Device::ndarray(),
            #[cfg(feature = "flex")]
            Self::Flex => Device::flex(),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Device::wgpu(DeviceKind::DefaultDevice),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            // burn 0.22 deprecates its LibTorch backend; it is offered still
            Self::Tch => Device::libtorch(),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            Self::TchCuda => Device::libtorch_cuda(index),
            #[cfg(feature = "cuda")]
            Self::Cuda => Device::cuda(index),
            _ => return Err(self.not_compiled()),
        })
    }

    /// Every device of the backend on this machine.
    fn available_devices(self) -> Result<Vec<Device>, BackendError> {
        if !self.is_compiled() {
            return Err(self.not_compiled());
        }
        #[allow(unreachable_code)]
        Ok(match self {
            #[cfg(feature = "wgpu")]
            Self::Wgpu => quietly(|| Device::enumerate(burn::tensor::DeviceType::Wgpu).into_vec())
                .unwrap_or_default(),
            #[cfg(feature = "cuda")]
            Self::Cuda => quietly(|| Device::enumerate(burn::tensor::DeviceType::Cuda).into_vec())
                .unwrap_or_default(),
            #[cfg(feature = "tch")]
            Self::TchCuda => {
                let mut devices = Vec::new();
                while let Ok(device) = self.unchecked_device(devices.len()) {
                    if self.check(&device).is_err() || devices.len() >= 64 {
                        break;
                    }
                    devices.push(device);
                }
                devices
            }
            _ => vec![self.unchecked_device(0)?],
        })
    }

    /// Runs a tiny computation on `device` and reads the result back; a panic or a wrong answer
    /// (no adapter, no driver, no library) becomes [`BackendError::Unavailable`].
    fn check(self, device: &Device) -> Result<(), BackendError> {
        let outcome = quietly(|| {
            let values = Tensor::<1>::from_floats([1.0, 2.0, 3.0], device);
            let total = (values.clone() * values).sum();
            total.try_into_data().map(|data| data.iter::<f32>().next())
        });
        let reason = match outcome {
            Ok(Ok(Some(value))) if (value - 14.0).abs() < 1e-3 => return Ok(()),
            Ok(Ok(value)) => format!("a test computation returned {value:?} instead of 14"),
            Ok(Err(err)) => err.to_string(),
            Err(panic) => panic,
        };
        Err(BackendError::Unavailable {
            name: self.name(),
            reason,
            fix: self.fix(),
        })
    }

    fn fix(self) -> &'static str {
        match self {
            Self::Wgpu => {
                "wgpu needs a working Vulkan, Metal or DX12 driver: install your GPU's driver, or \
                 on Linux without a GPU Mesa's CPU driver (`apt-get install mesa-vulkan-drivers \
                 libvulkan1`, as scripts/setup.sh does); or pick a CPU backend with --backend flex"
            }
            Self::Tch => {
                "LibTorch must be the one the binary was built against \
                 (scripts/install-libtorch.sh); or pick another backend with --backend flex"
            }
            Self::TchCuda => {
                "tch-cuda needs an NVIDIA GPU with its driver and a CUDA build of LibTorch at run \
                 time (see docs/backends.md, GPU); or use --backend tch for LibTorch on the CPU"
            }
            Self::Cuda => "cuda needs an NVIDIA GPU with its driver and the CUDA toolkit",
            Self::Ndarray | Self::Flex => "this CPU backend should always work; please report this",
        }
    }
}

/// Runs `work`, turning a panic into `Err(message)` without printing it. Backends often fail on
/// a thread of their own and report a disconnected channel to the caller, so the message is the
/// first panic seen on any thread during `work`, which names the real cause.
pub(crate) fn quietly<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::{Arc, Mutex};
    let first_panic: Arc<Mutex<Option<String>>> = Arc::default();
    let previous = std::panic::take_hook();
    let seen = first_panic.clone();
    std::panic::set_hook(Box::new(move |info| {
        let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.is_none() {
            let payload = info.payload();
            *seen = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    std::panic::set_hook(previous);
    outcome.map_err(|_| {
        first_panic
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
            .unwrap_or_else(|| "the backend panicked".to_string())
    })
}

fn compiled_names() -> String {
    let names: Vec<&str> = BackendKind::compiled()
        .into_iter()
        .map(BackendKind::name)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| BackendError::Unknown {
                name: s.to_string(),
                known: Self::ALL.map(BackendKind::name).join(", "),
            })
    }
}
