//! Any bytes as the safetensors file of `trainer import-pytorch --weights FILE`: the importer
//! returns an `nn.Linear(784, 10)` model with finite F32 weights, or a typed error. A panic, an
//! abort, a timeout or an out-of-memory fails the run.
#![no_main]

use burn::prelude::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let device = Device::flex();
    let config = model::LogisticRegressionConfig::new();
    match config.load_pytorch_safetensors_bytes(input.to_vec(), "fuzz-input", &device) {
        Ok(model) => {
            assert_eq!(model.weights().dims(), [784, 10]);
            assert_eq!(model.weights().dtype(), burn::tensor::DType::F32);
            let values = model.weights().into_data().try_into_vec::<f32>().unwrap();
            assert!(values.iter().all(|v| v.is_finite()));
        }
        Err(err) => assert!(err.to_string().contains("fuzz-input")),
    }
});
