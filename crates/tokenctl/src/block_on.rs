//! `block_on`: runs a future to completion on the current thread, without an async
//! runtime.
//!
//! tokenctl calls token-core's `async` API-key service only over the in-memory store,
//! whose futures are ready at once; this is all the executor that needs.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Wakes the blocked thread by unparking it.
#[derive(Debug)]
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls until it is woken, and returns
/// its output.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A spurious wake-up only costs another poll.
            Poll::Pending => thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll};
    use std::thread;
    use std::time::Duration;

    use super::block_on;

    /// Pending until `done` is set; the first poll hands its waker to a thread that
    /// sets `done` and wakes it (or wakes it at once, when `from_thread` is false).
    struct WokenLater {
        done: Arc<AtomicBool>,
        from_thread: bool,
    }

    impl Future for WokenLater {
        type Output = &'static str;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            if self.done.load(Ordering::SeqCst) {
                return Poll::Ready("done");
            }
            let done = Arc::clone(&self.done);
            let waker = cx.waker().clone();
            if self.from_thread {
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(20));
                    done.store(true, Ordering::SeqCst);
                    waker.wake();
                });
            } else {
                done.store(true, Ordering::SeqCst);
                waker.wake();
            }
            Poll::Pending
        }
    }

    #[test]
    fn ready_futures_complete() {
        assert_eq!(block_on(async { 40 + 2 }), 42);
        let inner = async { 2 };
        assert_eq!(block_on(async { 40 + inner.await }), 42);
    }

    #[test]
    fn pending_futures_complete_once_woken() {
        for from_thread in [false, true] {
            let future = WokenLater {
                done: Arc::new(AtomicBool::new(false)),
                from_thread,
            };
            assert_eq!(block_on(future), "done", "from_thread: {from_thread}");
        }
    }
}
