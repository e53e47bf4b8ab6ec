//! TensorBoard's view of a run: one event file per process in the run's folder
//! (`events.out.tfevents.*`), so that `tensorboard --logdir artifacts` shows every run side by
//! side.
//!
//! - per iteration: `train/loss`, `train/accuracy` (%), `train/learning_rate`;
//! - per epoch, at the epoch's last iteration: `validation/loss`, `validation/accuracy` (%),
//!   and, once the run ends, `test/loss` and `test/accuracy` (%) of every epoch's checkpoint;
//! - the run's pictures (`curves`, `confusion`, and the model's own, e.g. `weights`) at the last
//!   step, and its hyperparameters for the HParams view (every config setting, the model, the
//!   backend, as the run started), with its end once it finishes.
//!
//! A resumed run writes a new file that starts with a session-start record at the first
//! iteration it trains: TensorBoard then drops what the killed process logged after the
//! checkpoint, so the curves continue without repeated or missing steps. Records are written
//! whole and flushed at the end of every epoch, so a killed run's file reads up to its last
//! epoch. A write error (a full disk) is recorded and stops the run like the metric logs' do.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tfevents::{EventWriter, HParam, SessionStatus};

use crate::{LearnerError, RunFolder, ValidConfig};

/// Prefix of the event files' names (`events.out.tfevents.<seconds>.<host>.<pid>`).
pub const EVENTS_PREFIX: &str = "events.out.tfevents.";

/// The run's event file, shared by the metric logger (training and validation scalars, on
/// Burn's thread) and the end of the run (test scalars, pictures, how it ended).
#[derive(Clone, Debug)]
pub(crate) struct EventLog {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    writer: Option<EventWriter<BufWriter<File>>>,
    /// (tag, step) of the values earlier processes of the run wrote that TensorBoard keeps
    /// (those before the restart): not written again.
    kept: HashSet<(String, i64)>,
}

impl EventLog {
    /// Creates this process's event file in the run's folder (listed in its manifest first),
    /// with the run's hyperparameters; a resumed run's file first marks where it restarts.
    pub(crate) fn create(
        folder: &RunFolder,
        config: &ValidConfig,
        described: (&str, &str),
        restart_at: Option<i64>,
    ) -> Result<Self, LearnerError> {
        let kept = restart_at.map_or_else(HashSet::new, |step| kept_values(folder.root(), step));
        let path = folder.root().join(file_name(folder.root()));
        folder.manifest().claim(&path)?;
        let error = |source| LearnerError::Write {
            path: path.clone(),
            source,
        };
        let file = File::create_new(&path).map_err(error)?;
        let mut writer = EventWriter::new(BufWriter::new(file)).map_err(error)?;
        // TensorBoard's HParams view reads the first record of each kind a run holds, so the
        // hyperparameters are written once, by the process that starts the run.
        match restart_at {
            Some(step) => writer.restart_at(step),
            None => writer.hparams_start(&hparams(config, described)),
        }
        .and_then(|()| writer.flush())
        .map_err(error)?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                path,
                writer: Some(writer),
                kept,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The event file.
    pub(crate) fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    /// Writes with the event writer; after a failure nothing more is written and every call
    /// returns the error again.
    pub(crate) fn write(
        &self,
        write: impl FnOnce(&mut EventWriter<BufWriter<File>>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut inner = self.lock();
        let Some(writer) = inner.writer.as_mut() else {
            return Err(io::Error::other(
                "an earlier write to the event file failed",
            ));
        };
        let result = write(writer);
        if result.is_err() {
            inner.writer = None;
        }
        result
    }

    /// Whether an earlier process of the run already wrote `tag` at `step`, and TensorBoard
    /// keeps it (a run resumed after it wrote its test figures, say).
    fn kept(&self, tag: &str, step: usize) -> bool {
        self.lock().kept.contains(&(tag.to_string(), step as i64))
    }

    /// A scalar.
    pub(crate) fn scalar(&self, tag: &str, step: usize, value: f64) -> io::Result<()> {
        if self.kept(tag, step) {
            return Ok(());
        }
        self.write(|writer| writer.scalar(tag, step as i64, value as f32))
    }

    /// Hands what was written to the operating system.
    pub(crate) fn flush(&self) -> io::Result<()> {
        self.write(|writer| writer.flush())
    }

    /// A PNG picture of the run under `pictures/<name>`; bytes that are not a PNG (a model's
    /// extra artifact named `.png` that is not one) are left out of the event file.
    pub(crate) fn picture(&self, name: &str, step: usize, png: &[u8]) -> io::Result<()> {
        let tag = format!("pictures/{name}");
        let Some(size) = png_size(png) else {
            return Ok(());
        };
        if self.kept(&tag, step) {
            return Ok(());
        }
        self.write(|writer| writer.png(&tag, step as i64, png, size))
    }

    /// Flushes and syncs the file to the disk; for a run that finished, first records that it
    /// did (the HParams view reads a run's first such record, so nothing is recorded for a run
    /// that stopped and may go on).
    pub(crate) fn end(&self, finished: bool) -> io::Result<()> {
        self.write(|writer| {
            if finished {
                writer.hparams_end(SessionStatus::Success)?;
            }
            writer.flush()?;
            writer.get_ref().get_ref().sync_all()
        })
    }

    /// Turns a write error into the run's error.
    pub(crate) fn error(&self, source: io::Error) -> LearnerError {
        LearnerError::Write {
            path: self.path(),
            source,
        }
    }
}

/// The (tag, step) of every value the run's earlier event files hold before `restart`: what
/// TensorBoard keeps of them once this process marks its restart there. A file that cannot be
/// read (or is damaged before its end) adds what it holds up to the damage.
fn kept_values(root: &Path, restart: i64) -> HashSet<(String, i64)> {
    let mut kept = HashSet::new();
    for (path, _) in event_files(root) {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let events = tfevents::read_events_lenient(&bytes);
        for event in events.iter().filter(|event| event.step < restart) {
            if let Some(tfevents::proto::event::What::Summary(summary)) = &event.what {
                kept.extend(summary.value.iter().map(|v| (v.tag.clone(), event.step)));
            }
        }
    }
    kept
}

/// `events.out.tfevents.<seconds>.<host>.<pid>`, with a counter when that file exists (two
/// runs of one process in one second). TensorBoard reads a folder's event files in name
/// order, so the seconds are at least one past the latest earlier file's: a resumed run
/// started within the same second as the process before it would otherwise sort by its pid,
/// and a lower pid put its curve before the first process's.
fn file_name(root: &Path) -> String {
    let latest = earlier_seconds(root).max();
    let seconds = (tfevents::now() as u64).max(latest.map_or(0, |latest| latest + 1));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().replace(['/', '.'], "-"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    let pid = std::process::id();
    (0..)
        .map(|n| match n {
            0 => tfevents::file_name(seconds, &host, &format!(".{pid}")),
            n => tfevents::file_name(seconds, &host, &format!(".{pid}.{n}")),
        })
        .find(|name| std::fs::symlink_metadata(root.join(name)).is_err())
        .expect("an unused name")
}

/// The `<seconds>` of the event files already in `root`.
fn earlier_seconds(root: &Path) -> impl Iterator<Item = u64> {
    event_files(root).filter_map(|(_, rest)| rest.split('.').next()?.parse().ok())
}

/// The event files in `root` (none if it cannot be read): each one's path and its name after
/// [`EVENTS_PREFIX`].
fn event_files(root: &Path) -> impl Iterator<Item = (std::path::PathBuf, String)> {
    let files = std::fs::read_dir(root).into_iter().flatten().flatten();
    files.filter_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix(EVENTS_PREFIX)?.to_string();
        Some((entry.path(), rest))
    })
}

/// The run's settings as TensorBoard hyperparameters: the model as it describes itself, the
/// backend, and every other config setting under its dotted JSON name
/// (`optimizer.learning_rate`, `lr_schedule.type`, `model.kind`, ...).
fn hparams(config: &ValidConfig, (model, backend): (&str, &str)) -> Vec<(String, HParam)> {
    let mut out = vec![
        ("model".to_string(), HParam::Text(model.to_string())),
        ("backend".to_string(), HParam::Text(backend.to_string())),
    ];
    let json = serde_json::to_value(&**config).expect("a config serialises");
    flatten(String::new(), &json, &mut out);
    out
}

fn flatten(name: String, value: &serde_json::Value, out: &mut Vec<(String, HParam)>) {
    use serde_json::Value;
    let hparam = match value {
        Value::Object(fields) => {
            for (field, inner) in fields {
                let inner_name = if name.is_empty() {
                    field.clone()
                } else {
                    format!("{name}.{field}")
                };
                flatten(inner_name, inner, out);
            }
            return;
        }
        Value::Number(number) => HParam::Number(number.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => HParam::Text(text.clone()),
        Value::Bool(switch) => HParam::Bool(*switch),
        Value::Null => HParam::Text("none".to_string()),
        Value::Array(_) => HParam::Text(value.to_string()),
    };
    out.push((name, hparam));
}

/// Width, height and channels of a PNG, from its header.
fn png_size(png: &[u8]) -> Option<(u32, u32, u8)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    let channels = match png.get(25)? {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => 3,
    };
    Some((number(16)?, number(20)?, channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_event_file_sorts_after_the_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        // An earlier process's file from a later second than now, with a pid that sorts last.
        std::fs::write(
            dir.path().join("events.out.tfevents.4000000000.host.99999"),
            b"",
        )
        .unwrap();
        let name = super::file_name(dir.path());
        assert!(
            name.starts_with("events.out.tfevents.4000000001."),
            "{name}"
        );
    }

    #[test]
    fn png_sizes_are_read_from_the_header() {
        let mut png = Vec::new();
        image::RgbaImage::new(7, 3)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(png_size(&png), Some((7, 3, 4)));
        assert_eq!(png_size(b"not a png"), None);
    }

    #[test]
    fn every_setting_is_a_hyperparameter() {
        let config = crate::TrainingConfig::default().validate().unwrap();
        let hparams = hparams(&config, ("logistic regression", "flex"));
        let names: Vec<&str> = hparams.iter().map(|(name, _)| name.as_str()).collect();
        for name in [
            "model",
            "backend",
            "optimizer.learning_rate",
            "lr_schedule.type",
            "batch_size",
            "task.type",
            "early_stopping",
        ] {
            assert!(names.contains(&name), "{name}: {names:?}");
        }
        assert!(hparams.contains(&("batch_size".to_string(), HParam::Number(128.0))));
    }
}
