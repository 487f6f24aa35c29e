//! The order of one connection's changes.
//!
//! socketioxide gives every incoming event a task of its own, and tokio does not start tasks in
//! the order they were made (the last one spawned on a worker usually runs first). Two messages
//! sent back to back by one tab were therefore stored, numbered and shown to everyone in either
//! order, and "add a reaction, remove it" could end with it added. People expect what they did
//! in one tab to happen in the order they did it, as it does in any chat.
//!
//! A handler's synchronous part runs while the connection's packets are read, in their order;
//! there each change takes a [`Turn`], and its work waits for the turn before it to end. Reads
//! (history, search, typing…) take no turn and run side by side. One connection's changes wait
//! for each other, nobody else's: other tabs and people are not slowed.

use std::sync::{Arc, Mutex, PoisonError};

use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use tokio::sync::oneshot;

/// The next turn of `socket`'s changes. The queue is made with the connection's first change:
/// a connection that only listens (most of them) carries nothing for it. Runs in the socket's
/// packet order, so the look-up and the insert cannot race with another change of the socket.
pub fn take_turn<A: Adapter>(socket: &SocketRef<A>) -> Turn {
    let order = socket.extensions.get::<InOrder>().unwrap_or_else(|| {
        let order = InOrder::default();
        socket.extensions.insert(order.clone());
        order
    });
    order.take_turn()
}

/// One connection's queue of changes: the end of the last turn handed out.
#[derive(Clone, Default)]
pub struct InOrder(Arc<Mutex<Option<oneshot::Receiver<()>>>>);

impl InOrder {
    /// The next turn: it starts when every turn taken before it has ended.
    pub fn take_turn(&self) -> Turn {
        let (ended, end) = oneshot::channel();
        let before = self.0.lock().unwrap_or_else(PoisonError::into_inner).replace(end);
        Turn { before, _ended: ended }
    }
}

/// A change's place in its connection's order; it ends when dropped (also on an error or a
/// panic, so one failed request never stalls the next).
pub struct Turn {
    before: Option<oneshot::Receiver<()>>,
    _ended: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until the turn before this one has ended.
    pub async fn start(&mut self) {
        if let Some(before) = self.before.take() {
            // Nothing is ever sent: the sender's drop is the signal.
            let _ = before.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn turns_run_in_the_order_they_were_taken_whatever_order_they_start_in() {
        let order = InOrder::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..50 {
            let mut turn = order.take_turn();
            let log = Arc::clone(&log);
            tasks.push(async move {
                turn.start().await;
                tokio::task::yield_now().await;
                log.lock().expect("the log").push(i);
            });
        }
        // Started last first.
        let handles: Vec<_> = tasks.into_iter().rev().map(tokio::spawn).collect();
        for handle in handles {
            handle.await.expect("a turn ran");
        }
        assert_eq!(*log.lock().expect("the log"), (0..50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_turn_dropped_without_running_lets_the_next_one_go() {
        let order = InOrder::default();
        let first = order.take_turn();
        let mut second = order.take_turn();
        drop(first);
        tokio::time::timeout(std::time::Duration::from_secs(5), second.start())
            .await
            .expect("the second turn started");
    }
}
