//! Plain-text progress for pipes, logs and CI.
//!
//! Burn's own non-terminal renderer (`CliMetricsRenderer`) prints a `Debug` dump of the progress
//! for every batch and no metric values, so runs outside a terminal use this one: one line per
//! `log_interval` iterations and one per split, with every numeric metric, and no escape codes.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use burn::train::Interrupter;

use burn::train::LearnerSummary;
use burn::train::logger::{EvaluationProgressLogger, TrainingProgressLogger};
use burn::train::metric::{
    LearningRateMetric, Metric, MetricAttributes, MetricDefinition, MetricId, NumericEntry,
};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};

/// The first error writing progress to stdout, shared between the renderer Burn owns during
/// training and the run that reports it afterwards.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputStatus(Arc<Mutex<Option<std::io::Error>>>);

impl OutputStatus {
    fn record(&self, error: std::io::Error) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert(error);
    }

    /// An error when progress could not be written (stdout closed or full): the run stopped
    /// there, and was saved.
    pub(crate) fn check(
        &self,
        artifacts: &crate::ArtifactDir,
        epochs: usize,
    ) -> Result<(), crate::LearnerError> {
        let failure = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        match failure {
            None => Ok(()),
            Some(error) => Err(crate::LearnerError::Output {
                error,
                artifacts: artifacts.root().to_path_buf(),
                epochs,
            }),
        }
    }
}

/// Where [`PlainRenderer`] reports a write error.
struct Report {
    status: OutputStatus,
    interrupter: Interrupter,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Prints training progress as plain lines on stdout.
#[derive(Debug)]
pub struct PlainRenderer {
    silent: bool,
    /// Where a write error goes, and the run it stops.
    report: Option<Report>,
    log_interval: usize,
    metrics: Vec<(MetricId, String, String)>,
    /// Metrics shown at their latest value rather than averaged (the learning rate).
    latest_only: Vec<MetricId>,
    train: HashMap<MetricId, Value>,
    valid: HashMap<MetricId, Value>,
    split: &'static str,
    epoch: usize,
    total_epochs: usize,
    iteration: usize,
    items_processed: usize,
    items_total: usize,
    split_started: Instant,
}

impl PlainRenderer {
    /// A renderer printing a progress line every `log_interval` training iterations (0: only
    /// the per-split lines).
    pub fn new(log_interval: usize) -> Self {
        Self {
            silent: false,
            report: None,
            log_interval,
            metrics: Vec::new(),
            latest_only: Vec::new(),
            train: HashMap::new(),
            valid: HashMap::new(),
            split: "train",
            epoch: 1,
            total_epochs: 0,
            iteration: 0,
            items_processed: 0,
            items_total: 0,
            split_started: Instant::now(),
        }
    }

    /// A renderer that prints nothing, not even Burn's end-of-training summary.
    pub fn silent() -> Self {
        Self {
            silent: true,
            ..Self::new(0)
        }
    }

    /// On a write error, stops the run through `interrupter` and records the error in
    /// `status`; afterwards the renderer prints nothing.
    pub(crate) fn reporting(mut self, status: OutputStatus, interrupter: Interrupter) -> Self {
        self.report = Some(Report {
            status,
            interrupter,
        });
        self
    }

    /// Prints a line; a closed or full stdout stops the printing, and the run (a training
    /// nobody can see is a training nobody asked for).
    fn say(&mut self, line: std::fmt::Arguments<'_>) {
        if self.silent {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(error) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            self.silent = true;
            if let Some(report) = &self.report {
                report.status.record(error);
                report
                    .interrupter
                    .stop(Some("standard output cannot be written"));
            }
        }
    }

    fn values(&self, values: &HashMap<MetricId, Value>) -> String {
        self.metrics
            .iter()
            .filter_map(|(id, name, unit)| {
                values
                    .get(id)
                    .map(|value| format!("{name} {}{unit}", format_value(value.get(), unit)))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn record(values: &mut HashMap<MetricId, Value>, latest_only: &[MetricId], state: MetricState) {
        let MetricState::Numeric(entry, Some(numeric)) = state else {
            return;
        };
        let latest = latest_only.contains(&entry.metric_id);
        let value = values.entry(entry.metric_id).or_insert(Value::Latest(0.0));
        match numeric {
            NumericEntry::Aggregated {
                aggregated_value, ..
            } if latest => *value = Value::Latest(aggregated_value),
            // A batch's value and its size: keep the epoch's running mean.
            NumericEntry::Aggregated {
                aggregated_value,
                count,
            } => {
                let (sum, total) = match *value {
                    Value::Mean { sum, count } => (sum, count),
                    Value::Latest(_) => (0.0, 0),
                };
                *value = Value::Mean {
                    sum: sum + aggregated_value * count as f64,
                    count: total + count,
                };
            }
            NumericEntry::Value(latest) | NumericEntry::Final(latest) => {
                *value = Value::Latest(latest)
            }
        }
    }
}

/// What is shown for a metric: the running mean over the epoch's batches so far, or the latest
/// value for metrics that are not averages (learning rate, CPU use, the epoch's final figure).
#[derive(Debug, Clone, Copy)]
enum Value {
    Mean { sum: f64, count: usize },
    Latest(f64),
}

impl Value {
    fn get(self) -> f64 {
        match self {
            Value::Mean { sum, count } if count > 0 => sum / count as f64,
            Value::Mean { .. } => 0.0,
            Value::Latest(value) => value,
        }
    }
}

fn format_value(value: f64, unit: &str) -> String {
    if unit.trim() == "%" {
        format!("{value:.2}")
    } else if value != 0.0 && value.abs() < 0.01 {
        format!("{value:.3e}")
    } else {
        format!("{value:.4}")
    }
}

impl MetricsRendererTraining for PlainRenderer {
    fn update_train(&mut self, state: MetricState) {
        Self::record(&mut self.train, &self.latest_only, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        Self::record(&mut self.valid, &self.latest_only, state);
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        if let Some(summary) = summary {
            self.say(format_args!("{summary}"));
        }
        Ok(())
    }
}

impl MetricsRendererEvaluation for PlainRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl MetricsRenderer for PlainRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        if self
            .metrics
            .iter()
            .any(|(id, ..)| *id == definition.metric_id)
        {
            return;
        }
        let unit = match &definition.attributes {
            MetricAttributes::Numeric(attributes) => attributes
                .unit
                .as_ref()
                .map(|unit| format!(" {unit}"))
                .unwrap_or_default(),
            MetricAttributes::None => String::new(),
        };
        if definition.name == LearningRateMetric::new().name() {
            self.latest_only.push(definition.metric_id.clone());
        }
        self.metrics
            .push((definition.metric_id, definition.name.to_string(), unit));
    }
}

/// The line a run starts with: how many epochs it trains, or where a resumed run goes on. A
/// run killed after its last checkpoint and before its summary resumes past its last epoch:
/// it trains nothing more, only finishes.
fn start_line(epoch: usize, total_epochs: usize) -> String {
    let epochs = if total_epochs == 1 { "epoch" } else { "epochs" };
    if epoch > total_epochs {
        format!("all {total_epochs} {epochs} already trained; finishing the run")
    } else if epoch > 1 {
        format!("resuming at epoch {epoch} of {total_epochs}")
    } else {
        format!("training for {total_epochs} {epochs}")
    }
}

impl TrainingProgressLogger for PlainRenderer {
    fn start(
        &mut self,
        total_epochs: usize,
        starting_epoch: usize,
        _items: Option<usize>,
        _label: Option<&str>,
    ) {
        self.total_epochs = total_epochs;
        self.epoch = starting_epoch.max(1);
        let line = start_line(self.epoch, total_epochs);
        self.say(format_args!("{line}"));
    }

    fn update_epoch(&mut self, epoch: usize) {
        self.epoch = epoch + 1;
    }

    fn start_split(&mut self, split: &str, total_items: usize) {
        self.split = if split == "valid" { "valid" } else { "train" };
        self.iteration = 0;
        self.items_processed = 0;
        self.items_total = total_items;
        self.split_started = Instant::now();
        if self.split == "train" {
            self.train.clear();
        } else {
            self.valid.clear();
        }
    }

    fn update_split(&mut self, items_processed: usize) {
        self.iteration += 1;
        self.items_processed = items_processed;
        if self.split == "train"
            && self.log_interval > 0
            && self.iteration.is_multiple_of(self.log_interval)
        {
            let line = format!(
                "epoch {}/{} | {:>6}/{} images | {}",
                self.epoch,
                self.total_epochs,
                self.items_processed,
                self.items_total,
                self.values(&self.train)
            );
            self.say(format_args!("{line}"));
        }
    }

    fn end_split(&mut self) {
        let values = if self.split == "train" {
            &self.train
        } else {
            &self.valid
        };
        let line = format!(
            "epoch {}/{} {} | {} | {:.2} s",
            self.epoch,
            self.total_epochs,
            self.split,
            self.values(values),
            self.split_started.elapsed().as_secs_f64()
        );
        self.say(format_args!("{line}"));
    }

    fn end(&mut self) {}

    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for PlainRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}

    fn start_test(&mut self, _name: &str, _total_items: usize) {}

    fn update_test_progress(&mut self, _items_processed: usize) {}

    fn end_test(&mut self) {}

    fn end_global_progress(&mut self) {}

    fn log_event_evaluation(&mut self, _event: String) {}
}

#[cfg(test)]
mod tests {
    use super::start_line;

    #[test]
    fn a_run_starts_with_what_it_will_train() {
        assert_eq!(start_line(1, 1), "training for 1 epoch");
        assert_eq!(start_line(1, 8), "training for 8 epochs");
        assert_eq!(start_line(4, 8), "resuming at epoch 4 of 8");
        assert_eq!(start_line(8, 8), "resuming at epoch 8 of 8");
        assert_eq!(
            start_line(7, 6),
            "all 6 epochs already trained; finishing the run"
        );
    }
}
