mod activation;
mod base;
mod bernoulli;
mod bool_tensor;
mod int_tensor;
mod conv_backward;
mod ffi;
mod max_pool;
mod module;
mod qtensor;
mod tensor;
mod transaction;

pub(crate) use base::*;
