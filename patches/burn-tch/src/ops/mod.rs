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
mod threads;
mod transaction;

pub use threads::{cpu_threads_here, one_cpu_thread_here};

pub(crate) use base::*;
