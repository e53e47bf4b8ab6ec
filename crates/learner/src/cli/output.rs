//! Writing to standard output and error without panicking.
//!
//! `println!` panics when stdout cannot be written: a closed pipe (`trainer eval | head -1`) or
//! a full device (`trainer > /dev/full`). Everything the trainer prints goes through [`say!`]
//! instead, which returns the write error; [`fail`] then exits quietly with 141 for a closed
//! pipe (what a shell reports for a process ended by SIGPIPE) and with an error on stderr and 1
//! for anything else.

use std::io::Write;
use std::process::ExitCode;

/// Standard output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output")]
pub struct StdoutError(#[source] pub std::io::Error);

/// Writes one line to stdout.
pub fn line(text: std::fmt::Arguments<'_>) -> Result<(), StdoutError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(StdoutError)
}

/// `println!` that returns the write error (`?`) instead of panicking.
#[doc(hidden)]
#[macro_export]
macro_rules! __learner_say {
    () => {
        $crate::cli::output::line(format_args!(""))?
    };
    ($($arg:tt)*) => {
        $crate::cli::output::line(format_args!($($arg)*))?
    };
}
pub use crate::__learner_say as say;

/// Prints `error: ...` with the whole cause chain on stderr (if stderr can be written) and
/// returns the exit code: 141, silently, when stdout was closed by its reader.
pub fn fail(err: &anyhow::Error) -> ExitCode {
    if closed_stdout(err) {
        return ExitCode::from(141);
    }
    let _ = writeln!(std::io::stderr(), "error: {err:#}");
    ExitCode::FAILURE
}

/// Prints clap's answer (`--help`, `--version`, or a usage error) and returns its exit code;
/// when it cannot be written (`trainer --help > /dev/full`), an error and 1 (141, silently, for
/// a closed pipe) rather than clap's own exit code, which would claim success.
pub fn usage(err: &clap::Error) -> ExitCode {
    match err.print() {
        Ok(()) => ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2)),
        Err(io) if io.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(io) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write the help ({io})");
            ExitCode::FAILURE
        }
    }
}

/// Whether `err` comes from a stdout whose reader went away.
fn closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
        cause
            .downcast_ref::<StdoutError>()
            .is_some_and(|e| broken(&e.0))
            || matches!(
                cause.downcast_ref::<crate::LearnerError>(),
                Some(crate::LearnerError::Output { error, .. }) if broken(error)
            )
    })
}

/// A last line of defence for output this module does not see (a library's `println!`): the
/// panic of a closed stdout exits with 141 instead of a panic message, and that of any other
/// stdout failure with the error and 1.
pub fn exit_quietly_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") {
            if message.contains("Broken pipe") {
                std::process::exit(141);
            }
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot write to standard output ({})",
                message.trim_start_matches("failed printing to stdout: ")
            );
            std::process::exit(1);
        }
        default_hook(info);
    }));
}
