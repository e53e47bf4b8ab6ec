//! `experiment.log`: Burn's application log, as burn-train's `FileApplicationLoggerInstaller`
//! writes it, less its line per training iteration.
//!
//! burn-train 0.22.1 logs `Iteration N` at INFO from inside its training loop, on the training
//! thread, and its installer has no way to drop one message: every step paid for a formatted
//! line and a `write` system call (`strace -f`, one per iteration), and a 20-epoch run of the
//! logistic regression wrote 8,440 such lines. The metric logs already hold every iteration's
//! figures. This installer is Burn's (same format, level and wgpu rule), with a filter that
//! drops that one message.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::train::ApplicationLoggerInstaller;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level, LevelFilter, Metadata};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::prelude::*;

/// Installs the process's log: `experiment.log` at `path`, as Burn would, without burn-train's
/// per-iteration line.
#[derive(Debug, Clone)]
pub struct RunLogInstaller {
    path: PathBuf,
}

impl RunLogInstaller {
    /// A log written to `path` (appended to; created if missing).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
        }
    }
}

impl ApplicationLoggerInstaller for RunLogInstaller {
    fn install(&self) -> Result<(), String> {
        let (Some(folder), Some(file)) = (self.path.parent(), self.path.file_name()) else {
            return Err(format!("{} is not a file path", self.path.display()));
        };
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(tracing_appender::rolling::never(folder, file))
            .with_filter(LevelFilter::INFO)
            .with_filter(SkipIterationLines);
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .map_err(|_| "a logger is already installed in this process".to_string())?;
        let hook = std::panic::take_hook();
        let path = self.path.clone();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!("PANIC => {info}");
            eprintln!(
                "=== PANIC ===\nA fatal error happened, you can check the experiment logs here => '{}'\n=============",
                path.display()
            );
            hook(info);
        }));
        Ok(())
    }
}

/// Drops burn-train's `Iteration N` lines and, as Burn's installer does, wgpu's INFO ones.
struct SkipIterationLines;

/// Where burn-train's training loops log from.
const TRAINING_LOOPS: &str = "burn_train::learner::supervised::strategies";

impl<S> Filter<S> for SkipIterationLines {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        let wgpu = metadata
            .module_path()
            .is_some_and(|path| path.starts_with("wgpu"));
        !(wgpu && *metadata.level() >= Level::INFO)
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        // burn-train logs through the `log` crate: such an event's own target is "log", the
        // module it came from is in its fields.
        let normalized = event.normalized_metadata();
        let target = normalized
            .as_ref()
            .map_or(event.metadata().target(), |metadata| metadata.target());
        if !target.starts_with(TRAINING_LOOPS) {
            return true;
        }
        let mut message = IterationMessage(false);
        event.record(&mut message);
        !message.0
    }
}

/// Whether an event's message is `Iteration N`.
struct IterationMessage(bool);

impl Visit for IterationMessage {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let text = format!("{value:?}");
            self.0 = text
                .strip_prefix("Iteration ")
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// A writer into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// A record from the `log` crate, as burn-train writes them.
    fn log(target: &str, level: log::Level, message: fmt::Arguments<'_>) {
        let record = log::Record::builder()
            .target(target)
            .level(level)
            .args(message)
            .build();
        tracing_log::format_trace(&record).unwrap();
    }

    #[test]
    fn drops_only_the_training_loops_iteration_lines() {
        let buffer = Buffer::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(buffer.clone())
            .with_filter(LevelFilter::INFO)
            .with_filter(SkipIterationLines);
        let subscriber = tracing_subscriber::registry().with(layer);
        let epoch = "burn_train::learner::supervised::strategies::single::epoch";
        tracing::subscriber::with_default(subscriber, || {
            log(epoch, log::Level::Info, format_args!("Iteration {}", 7));
            log(
                epoch,
                log::Level::Info,
                format_args!("Executing training step for epoch 2"),
            );
            log(epoch, log::Level::Info, format_args!("Iteration speed"));
            log(epoch, log::Level::Debug, format_args!("below the level"));
            log("learner", log::Level::Info, format_args!("Iteration 7"));
            tracing::info!(target: "burn_train::learner::supervised::strategies::ddp::epoch", "Iteration {}", 8);
            tracing::warn!("Iteration 9");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[0].ends_with("Executing training step for epoch 2"),
            "{text}"
        );
        assert!(lines[1].ends_with("Iteration speed"), "{text}");
        assert!(lines[2].ends_with("learner: Iteration 7"), "{text}");
        assert!(lines[3].ends_with("Iteration 9"), "{text}");
    }
}
