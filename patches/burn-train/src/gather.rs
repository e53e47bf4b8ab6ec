//! Patched (PATCHED.md): how burn-train's metric threads wait for their next message.
//!
//! burn-train 0.22.1 handed every training step's outputs to a processor thread, and that
//! thread every step's metrics to the event store's thread, each blocked in a receive whenever
//! its queue was empty. Each message then woke a sleeping thread: a system call on the sender,
//! and on a 2-core machine the woken thread preempting whatever ran there (a logistic
//! regression's epoch of 422 steps switched threads about 1,500 times). Here a thread that
//! finds its queue empty first rests for [`GATHER`] and then takes what gathered meanwhile in
//! one go; it blocks only if the queue is still empty after the rest. While messages keep
//! coming it never blocks, so their sends wake nobody. A sender whose message needs an answer
//! unparks the thread to cut its rest short.

use std::time::Duration;

/// How long a thread whose queue is empty rests before it looks again.
pub(crate) const GATHER: Duration = Duration::from_micros(500);

/// What a non-blocking receive found.
pub(crate) enum Polled<M> {
    /// The next message.
    Message(M),
    /// Nothing yet.
    Empty,
    /// Nothing, and nothing more will come.
    Closed,
}

/// What `std::sync::mpsc`'s `try_recv` found (the event store's channel).
impl<M> From<Result<M, std::sync::mpsc::TryRecvError>> for Polled<M> {
    fn from(received: Result<M, std::sync::mpsc::TryRecvError>) -> Self {
        match received {
            Ok(msg) => Self::Message(msg),
            Err(std::sync::mpsc::TryRecvError::Empty) => Self::Empty,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => Self::Closed,
        }
    }
}

/// What `async_channel`'s `try_recv` found (the training processor's channel).
impl<M> From<Result<M, async_channel::TryRecvError>> for Polled<M> {
    fn from(received: Result<M, async_channel::TryRecvError>) -> Self {
        match received {
            Ok(msg) => Self::Message(msg),
            Err(async_channel::TryRecvError::Empty) => Self::Empty,
            Err(async_channel::TryRecvError::Closed) => Self::Closed,
        }
    }
}

/// The next message: at once if one is queued; else after a rest of [`GATHER`] (shorter if
/// the thread is unparked) if one came meanwhile; else whatever `block` waits for (`None` once
/// the channel is closed).
pub(crate) fn next_gathered<M>(
    mut poll: impl FnMut() -> Polled<M>,
    block: impl FnOnce() -> Option<M>,
) -> Option<M> {
    match poll() {
        Polled::Message(msg) => return Some(msg),
        Polled::Closed => return None,
        Polled::Empty => {}
    }
    std::thread::park_timeout(GATHER);
    match poll() {
        Polled::Message(msg) => Some(msg),
        Polled::Closed => None,
        Polled::Empty => block(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn poll<M>(receiver: &mpsc::Receiver<M>) -> Polled<M> {
        receiver.try_recv().into()
    }

    #[test]
    fn every_message_comes_in_order_then_none_once_closed() {
        let (sender, receiver) = mpsc::channel();
        let producer = std::thread::spawn(move || {
            for i in 0..1000 {
                sender.send(i).unwrap();
                if i % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        });
        let mut seen = Vec::new();
        while let Some(msg) = next_gathered(|| poll(&receiver), || receiver.recv().ok()) {
            seen.push(msg);
        }
        producer.join().unwrap();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn a_message_long_after_the_rest_still_comes_and_a_close_ends_the_wait() {
        let (sender, receiver) = mpsc::channel::<u32>();
        let waiter = std::thread::spawn(move || {
            let first = next_gathered(|| poll(&receiver), || receiver.recv().ok());
            let second = next_gathered(|| poll(&receiver), || receiver.recv().ok());
            (first, second)
        });
        // Both arrive while the waiter is blocked, well after its rest.
        std::thread::sleep(GATHER * 20);
        sender.send(7).unwrap();
        std::thread::sleep(GATHER * 20);
        drop(sender);
        assert_eq!(waiter.join().unwrap(), (Some(7), None));
    }
}
