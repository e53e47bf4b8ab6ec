//! What a run records as it goes and when it ends: the metric logs (Burn's layout), the
//! TensorBoard event file, the progress lines, the pictures and the evaluation report.

pub(crate) mod events;
pub(crate) mod metric_log;
pub mod plots;
pub(crate) mod renderer;
pub(crate) mod report;
