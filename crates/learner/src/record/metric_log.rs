//! Burn's metric log files, written without panicking.
//!
//! Burn's `FileMetricLogger` writes `<split>/epoch-N/<Metric>.log` through one thread per file
//! that panics when a write fails (a full disk, say); the logger's `Drop` then panics again while
//! the first panic unwinds, and the process aborts. [`MetricFiles`] writes the same files, so
//! Burn's summary, early stopping and [`crate::record::plots`] read them unchanged, but returns to the
//! run instead: the first failure is recorded in a [`LogStatus`], the run is stopped through
//! its [`Interrupter`], and nothing more is written. Writes happen in the calling thread (Burn
//! already logs from its own event-processor thread), buffered, and every file is flushed when
//! its epoch ends.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use burn::train::Interrupter;
use burn::train::logger::MetricLogger;
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, MetricName, NumericEntry};

use crate::LearnerError;
use crate::record::events::EventLog;
use crate::run::manifest::Manifest;

/// What a [`MetricFiles`] tells whoever launched the run: whether it has closed its files (Burn
/// drops its metric loggers on a thread of its own, after `launch` has returned) and its first
/// write error.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogStatus(Arc<(Mutex<LogState>, Condvar)>);

#[derive(Debug, Default)]
struct LogState {
    failure: Option<(PathBuf, LogError)>,
    closed: bool,
}

/// Why a metric log could not be written.
#[derive(Debug)]
pub(crate) enum LogError {
    /// The file system refused (a full disk, say).
    Io(io::Error),
    /// The run's folder refused the file (one in the way that the run did not write).
    Refused(LearnerError),
}

impl From<io::Error> for LogError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

impl From<LearnerError> for LogError {
    fn from(error: LearnerError) -> Self {
        Self::Refused(error)
    }
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(error) => error.fmt(f),
            Self::Refused(error) => error.fmt(f),
        }
    }
}

impl LogError {
    /// The error a run reports for `path`.
    pub(crate) fn into_learner_error(self, path: PathBuf) -> LearnerError {
        match self {
            Self::Io(source) => LearnerError::Write { path, source },
            Self::Refused(error) => error,
        }
    }
}

impl LogStatus {
    fn state(&self) -> MutexGuard<'_, LogState> {
        self.0
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until the logger has written and closed every file, at most `timeout`; then returns
    /// whether it has, and the file that could not be written and why if a write failed.
    pub(crate) fn finish(&self, timeout: Duration) -> (bool, Option<(PathBuf, LogError)>) {
        let (lock, closed) = &*self.0;
        let state = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mut state, _) = closed
            .wait_timeout_while(state, timeout, |state| !state.closed)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (state.closed, state.failure.take())
    }

    /// Keeps the first failure only: later ones are its consequences.
    fn record(&self, path: PathBuf, error: LogError) -> bool {
        let mut state = self.state();
        let first = state.failure.is_none();
        if first {
            state.failure = Some((path, error));
        }
        first
    }

    fn close(&self) {
        self.state().closed = true;
        self.0.1.notify_all();
    }
}

/// The log of metric `name` for `epoch` of `split` in a run's folder `directory`:
/// `<directory>/<split>[/<tag>]/epoch-<epoch>/<Name>.log`, as Burn lays them out.
pub(crate) fn log_path(directory: &Path, name: &str, epoch: usize, split: &Split) -> PathBuf {
    let mut directory = directory.join(split.to_string());
    if let Split::Test(Some(tag)) = split {
        directory = directory.join(tag.trim().replace(' ', "-").to_lowercase());
    }
    directory
        .join(format!("epoch-{epoch}"))
        .join(format!("{}.log", name.replace(' ', "_")))
}

/// One value per epoch of `metric` in the logs of `split` under `directory`: each epoch's final
/// value (the last line, `<value>,final`), for `epochs` epochs. An epoch without a log (a run
/// killed before writing it) is left out.
pub(crate) fn final_values(
    directory: &Path,
    split: Split,
    metric: &str,
    epochs: usize,
) -> Vec<(f64, f64)> {
    (1..=epochs)
        .filter_map(|epoch| {
            let text = std::fs::read_to_string(log_path(directory, metric, epoch, &split)).ok()?;
            let value = text
                .lines()
                .rev()
                .find_map(|line| line.strip_suffix(",final"))?
                .parse::<f64>()
                .ok()?;
            Some((epoch as f64, value))
        })
        .collect()
}

/// A [`MetricLogger`] writing Burn's metric log files that reports write errors instead of
/// panicking, and lists every file and folder it creates in the run's manifest first.
pub(crate) struct MetricFiles {
    directory: PathBuf,
    manifest: Arc<Manifest>,
    names: HashMap<MetricId, MetricName>,
    /// The files of the epoch being logged, by path.
    open: HashMap<PathBuf, BufWriter<File>>,
    epoch: Option<usize>,
    status: LogStatus,
    failed: bool,
    interrupter: Interrupter,
    /// TensorBoard's copy of the scalars, and the iterations of an epoch (its steps).
    events: Option<(EventLog, usize)>,
    /// Training iterations logged in the current epoch.
    steps_in_epoch: usize,
}

/// The TensorBoard tag of a metric Burn logs (`Loss` -> `loss`), for those the event file
/// holds.
fn event_tag(name: &str) -> Option<&'static str> {
    match name {
        "Loss" => Some("loss"),
        "Accuracy" => Some("accuracy"),
        "Learning Rate" => Some("learning_rate"),
        _ => None,
    }
}

impl MetricFiles {
    /// Logs under the run folder's root; a write error stops the run through `interrupter`.
    pub(crate) fn new(manifest: Arc<Manifest>, directory: &Path, interrupter: Interrupter) -> Self {
        Self {
            directory: directory.to_path_buf(),
            manifest,
            names: HashMap::new(),
            open: HashMap::new(),
            epoch: None,
            status: LogStatus::default(),
            failed: false,
            interrupter,
            events: None,
            steps_in_epoch: 0,
        }
    }

    /// Also writes the training scalars of every iteration and the validation scalars of every
    /// epoch to `events`, an epoch being `iterations_per_epoch` steps.
    pub(crate) fn with_events(mut self, events: EventLog, iterations_per_epoch: usize) -> Self {
        self.events = Some((events, iterations_per_epoch));
        self
    }

    /// The update's scalars in the event file: training ones at their iteration, validation
    /// ones (Burn's final value of the epoch) at the epoch's last iteration.
    fn log_events(&mut self, update: &MetricsUpdate, epoch: usize, split: &Split) {
        let Some((events, iterations)) = &self.events else {
            return;
        };
        let is_final = update
            .entries_numeric
            .iter()
            .any(|numeric| matches!(numeric.numeric_entry, Some(NumericEntry::Final(_))));
        let (prefix, step) = match (split, is_final) {
            (Split::Train, false) => {
                self.steps_in_epoch += 1;
                ("train", (epoch - 1) * iterations + self.steps_in_epoch)
            }
            (Split::Valid, true) => ("validation", epoch * iterations),
            _ => return,
        };
        for numeric in &update.entries_numeric {
            let (Some(entry), Some(name)) = (
                &numeric.numeric_entry,
                self.names.get(&numeric.entry.metric_id),
            ) else {
                continue;
            };
            let Some(tag) = event_tag(name) else {
                continue;
            };
            if let Err(error) = events.scalar(&format!("{prefix}/{tag}"), step, entry.current()) {
                let path = events.path();
                self.fail(path, error.into());
                return;
            }
        }
    }

    /// Where the end of the logging and its first write error, if any, will be found.
    pub(crate) fn status(&self) -> LogStatus {
        self.status.clone()
    }

    fn path(&self, name: &str, epoch: usize, split: &Split) -> PathBuf {
        log_path(&self.directory, name, epoch, split)
    }

    fn fail(&mut self, path: PathBuf, error: LogError) {
        self.failed = true;
        self.open.clear();
        if self.status.record(path, error) {
            self.interrupter
                .stop(Some("the metric logs could not be written"));
        }
    }

    /// Flushes and closes every open file (and hands the event file's records to the system).
    fn close_all(&mut self) {
        if let Some((events, _)) = &self.events
            && !self.failed
            && let Err(error) = events.flush()
        {
            let path = events.path();
            self.fail(path, error.into());
            return;
        }
        for (path, mut file) in std::mem::take(&mut self.open) {
            if let Err(error) = file.flush() {
                if !self.failed {
                    self.fail(path, error.into());
                }
                return;
            }
        }
    }

    fn write(&mut self, path: PathBuf, line: &str) -> Result<(), LogError> {
        let file = match self.open.entry(path) {
            std::collections::hash_map::Entry::Occupied(open) => open.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                if let Some(parent) = slot.key().parent() {
                    self.manifest.create_dir_all(parent)?;
                }
                self.manifest.claim(slot.key())?;
                // Truncated, as Burn does: a resumed run logs its epochs afresh.
                let file = File::create(slot.key())?;
                slot.insert(BufWriter::new(file))
            }
        };
        Ok(writeln!(file, "{line}")?)
    }
}

impl MetricLogger for MetricFiles {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        if self.epoch != Some(epoch) {
            self.close_all();
            self.epoch = Some(epoch);
            self.steps_in_epoch = 0;
        }
        if self.failed {
            return;
        }
        self.log_events(&update, epoch, split);
        if self.failed {
            return;
        }
        let entries = update
            .entries
            .iter()
            .chain(update.entries_numeric.iter().map(|numeric| &numeric.entry));
        for entry in entries {
            // Global-only metrics have nothing to write per batch.
            if entry.serialized_entry.is_not_available() {
                continue;
            }
            let Some(name) = self.names.get(&entry.metric_id) else {
                continue;
            };
            let path = self.path(name, epoch, split);
            if let Err(error) = self.write(path.clone(), &entry.serialized_entry.serialized) {
                self.fail(path, error);
                return;
            }
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        let path = self.path(name, epoch, split);
        if let Some(file) = self.open.get_mut(&path)
            && let Err(error) = file.flush()
        {
            let message = format!("cannot write {}: {error}", path.display());
            self.fail(path, error.into());
            return Err(message);
        }
        // A metric never logged in that epoch has no entries, as with Burn's logger.
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(format!("cannot read {}: {error}", path.display())),
        };
        text.lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                NumericEntry::deserialize(line)
                    .map_err(|error| format!("{}: bad entry {line:?}: {error}", path.display()))
            })
            .collect()
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }

    fn log_epoch_summary(&mut self, _summary: EpochSummary) {
        self.close_all();
    }
}

impl Drop for MetricFiles {
    fn drop(&mut self) {
        self.close_all();
        self.status.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::train::metric::store::NumericMetricUpdate;
    use burn::train::metric::{MetricAttributes, MetricEntry, SerializedEntry};

    fn definition(name: &str) -> MetricDefinition {
        MetricDefinition {
            metric_id: MetricId::new(Arc::new(name.to_string())),
            name: Arc::new(name.to_string()),
            description: None,
            attributes: MetricAttributes::None,
        }
    }

    fn update(definition: &MetricDefinition, value: f64) -> MetricsUpdate {
        let entry = MetricEntry::new(
            definition.metric_id.clone(),
            SerializedEntry::new(format!("{value}"), format!("{value}")),
        );
        MetricsUpdate::new(
            Vec::new(),
            vec![NumericMetricUpdate::new(
                entry,
                Some(NumericEntry::Value(value)),
                None,
            )],
        )
    }

    /// A logger for a fresh run folder in `dir`, and the folder (which holds the lock).
    fn logger(dir: &Path, interrupter: Interrupter) -> (MetricFiles, crate::RunFolder) {
        let run = crate::ArtifactDir::new(dir).start_run(false).unwrap();
        (
            MetricFiles::new(run.manifest().clone(), dir, interrupter),
            run,
        )
    }

    #[test]
    fn writes_burns_layout_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let interrupter = Interrupter::new();
        let (mut logger, _run) = logger(dir.path(), interrupter.clone());
        let loss = definition("Loss");
        logger.log_metric_definition(loss.clone());
        logger.log(update(&loss, 0.5), 1, &Split::Train);
        logger.log(update(&loss, 0.25), 1, &Split::Train);
        // Read before the epoch ends: what was logged is flushed first.
        let read = logger.read_numeric("Loss", 1, &Split::Train).unwrap();
        assert_eq!(read.len(), 2);
        logger.log_epoch_summary(EpochSummary::new(1, Split::Train));
        logger.log(update(&loss, 0.125), 2, &Split::Train);
        drop(logger);
        let path = dir.path().join("train/epoch-1/Loss.log");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "0.5\n0.25\n");
        let path = dir.path().join("train/epoch-2/Loss.log");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "0.125\n");
        assert!(!interrupter.should_stop());
    }

    #[test]
    fn a_write_error_stops_the_run_instead_of_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let interrupter = Interrupter::new();
        let (mut logger, _run) = logger(dir.path(), interrupter.clone());
        // A file where the split folder should be: the logs cannot be created.
        std::fs::write(dir.path().join("train"), "in the way").unwrap();
        let status = logger.status();
        let loss = definition("Loss");
        logger.log_metric_definition(loss.clone());
        logger.log(update(&loss, 0.5), 1, &Split::Train);
        logger.log(update(&loss, 0.25), 1, &Split::Train);
        drop(logger);
        assert!(interrupter.should_stop());
        let (closed, failure) = status.finish(Duration::ZERO);
        assert!(closed);
        let (path, _error) = failure.expect("the failure is recorded");
        assert_eq!(path, dir.path().join("train/epoch-1/Loss.log"));
    }

    #[test]
    fn the_status_waits_for_the_logger_to_close_its_files() {
        let dir = tempfile::tempdir().unwrap();
        let (mut logger, _run) = logger(dir.path(), Interrupter::new());
        let status = logger.status();
        let loss = definition("Loss");
        logger.log_metric_definition(loss.clone());
        logger.log(update(&loss, 0.5), 1, &Split::Valid);
        assert!(!status.finish(Duration::ZERO).0, "still open");
        // Burn drops its loggers on a thread of its own.
        let dropper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(logger);
        });
        let (closed, failure) = status.finish(Duration::from_secs(30));
        assert!(closed && failure.is_none());
        let path = dir.path().join("valid/epoch-1/Loss.log");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "0.5\n");
        dropper.join().unwrap();
    }

    #[test]
    fn a_missing_log_reads_as_no_entries() {
        let dir = tempfile::tempdir().unwrap();
        let (mut logger, _run) = logger(dir.path(), Interrupter::new());
        assert!(
            logger
                .read_numeric("Loss", 3, &Split::Valid)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn final_values_read_the_last_line_of_each_epoch() {
        let dir = tempfile::tempdir().unwrap();
        for (epoch, text) in [(1, "0.9\n0.7\n0.5,final\n"), (3, "0.4\n0.25,final\n")] {
            let path = log_path(dir.path(), "Loss", epoch, &Split::Valid);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        // Epoch 2 has no log (a run killed before it was written): its point is left out.
        assert_eq!(
            final_values(dir.path(), Split::Valid, "Loss", 3),
            vec![(1.0, 0.5), (3.0, 0.25)]
        );
        assert!(final_values(dir.path(), Split::Train, "Loss", 3).is_empty());
    }

    #[test]
    fn a_log_file_the_run_did_not_write_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let interrupter = Interrupter::new();
        let (mut logger, _run) = logger(dir.path(), interrupter.clone());
        let status = logger.status();
        let path = log_path(dir.path(), "Loss", 1, &Split::Train);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "someone else's\n").unwrap();
        let loss = definition("Loss");
        logger.log_metric_definition(loss.clone());
        logger.log(update(&loss, 0.5), 1, &Split::Train);
        drop(logger);
        assert!(interrupter.should_stop());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's\n");
        let (_, failure) = status.finish(Duration::ZERO);
        let (_, error) = failure.expect("the refusal is recorded");
        assert!(
            error.to_string().contains("not written by this run"),
            "{error}"
        );
    }
}
