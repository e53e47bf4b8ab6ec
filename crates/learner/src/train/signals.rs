//! Ctrl-C (SIGINT), SIGTERM and SIGHUP (a closed terminal or SSH session) stop a run cleanly,
//! in the dashboard as in plain mode.
//!
//! Burn's dashboard puts the terminal in raw mode, where Ctrl-C is only a key press and its
//! dashboard ignores it (only `q` opens its quit menu). While training, a watcher thread
//! therefore re-enables the terminal's signal keys (`ISIG`) and turns SIGINT into a call to
//! Burn's [`Interrupter`]: the current iteration ends, the last complete epoch's checkpoint stays
//! on disk, and the run is saved as interrupted. SIGTERM (`kill`, `docker stop`, a job
//! scheduler) and SIGHUP do the same. A second signal exits at once (status 130 for SIGINT, 143
//! for SIGTERM, 129 for SIGHUP).
//!
//! [`survive_file_size_limit`] keeps a file-size limit (`ulimit -f`) from killing the process:
//! the write that crosses it then fails with an error the run reports like a full disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use burn::train::Interrupter;

/// While alive, Ctrl-C and SIGTERM stop the training through the interrupter.
#[derive(Debug)]
pub(crate) struct CtrlC {
    done: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    /// Set by the first SIGINT or SIGTERM.
    pressed: Arc<AtomicBool>,
    /// Whether one had come when the training loop ended.
    pressed_during_training: bool,
    watcher: Option<JoinHandle<()>>,
    #[cfg(unix)]
    handlers: Vec<signal_hook::SigId>,
}

impl CtrlC {
    /// Installs the handler; `raw_terminal` keeps Ctrl-C working under Burn's raw-mode
    /// dashboard. Returns `None` where signals cannot be handled (then Ctrl-C keeps its default
    /// effect).
    pub(crate) fn install(interrupter: Interrupter, raw_terminal: bool) -> Option<Self> {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            use signal_hook::flag;
            let pressed = Arc::new(AtomicBool::new(false));
            let mut handlers = Vec::new();
            for signal in [SIGINT, SIGTERM, SIGHUP] {
                // First registered, first run: a second signal (flag already set) exits at once.
                let registered =
                    flag::register_conditional_shutdown(signal, 128 + signal, pressed.clone())
                        .and_then(|shutdown| {
                            handlers.push(shutdown);
                            flag::register(signal, pressed.clone())
                        });
                match registered {
                    Ok(set) => handlers.push(set),
                    Err(_) => {
                        for id in handlers {
                            signal_hook::low_level::unregister(id);
                        }
                        return None;
                    }
                }
            }
            let done = Arc::new(AtomicBool::new(false));
            let watching = done.clone();
            let stopped = Arc::new(AtomicBool::new(false));
            let seen = stopped.clone();
            let signalled = pressed.clone();
            let watcher = std::thread::Builder::new()
                .name("ctrl-c".to_string())
                .spawn(move || {
                    let mut sent = false;
                    while !watching.load(Ordering::SeqCst) {
                        if raw_terminal {
                            keep_signal_keys();
                        }
                        if !sent && pressed.load(Ordering::SeqCst) {
                            seen.store(true, Ordering::SeqCst);
                            interrupter.stop(Some("Ctrl-C or SIGTERM"));
                            sent = true;
                        }
                        // Burn's dashboard resets the interrupter when training ends, which
                        // hides a stop asked from its quit menu; remember it here.
                        if interrupter.should_stop() {
                            seen.store(true, Ordering::SeqCst);
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
                .ok();
            Some(Self {
                done,
                stopped,
                pressed: signalled,
                pressed_during_training: false,
                watcher,
                handlers,
            })
        }
        #[cfg(not(unix))]
        {
            let _ = (interrupter, raw_terminal);
            None
        }
    }

    /// Whether the run was asked to stop (Ctrl-C, SIGTERM, or the dashboard's quit menu) while
    /// this watcher ran.
    pub(crate) fn saw_stop(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Marks the end of the training loop; the handler stays installed for what follows (the
    /// evaluation and the final writes), where a first signal is seen by
    /// [`signalled_after_training`](Self::signalled_after_training) and a second one still
    /// exits at once.
    pub(crate) fn after_training(mut self) -> Self {
        self.pressed_during_training = self.pressed.load(Ordering::SeqCst);
        self
    }

    /// Whether a first SIGINT or SIGTERM came after [`after_training`](Self::after_training).
    pub(crate) fn signalled_after_training(&self) -> bool {
        !self.pressed_during_training && self.pressed.load(Ordering::SeqCst)
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        #[cfg(unix)]
        for id in self.handlers.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Keeps SIGXFSZ, which the kernel sends to a process that writes past its file-size limit
/// (`ulimit -f`), from killing it silently, halfway through a file: with the signal caught, the
/// write fails with `EFBIG` instead, and the run reports it and stops cleanly. Installed once per
/// process; a no-op where signals are not available.
pub fn survive_file_size_limit() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // The flag itself is not read: catching the signal is what keeps it from killing.
            let _ = signal_hook::flag::register(
                signal_hook::consts::SIGXFSZ,
                Arc::new(AtomicBool::new(false)),
            );
        });
    }
}

/// Turns the terminal's signal keys back on if raw mode turned them off.
#[cfg(unix)]
fn keep_signal_keys() {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    if let Ok(mut modes) = tcgetattr(&stdin)
        && !modes.local_modes.contains(LocalModes::ISIG)
    {
        modes.local_modes |= LocalModes::ISIG;
        let _ = tcsetattr(&stdin, OptionalActions::Now, &modes);
    }
}
