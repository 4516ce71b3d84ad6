//! Which phones are plugged in right now, shared by every running job: fed by the engine's
//! watcher (USB presence and transport events), read by each job's watchdog. A phone that
//! leaves and comes back gets a new generation, so even a blink between two looks is seen
//! as a loss.

use crate::cancel::CancelToken;
use crate::device::watcher::{WatchEvent, WatcherThread};
use crate::device::{DeviceEvent, DeviceState};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a wait looks at its cancel token.
const CANCEL_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct PresenceBoard {
    phones: Mutex<Board>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Board {
    /// id → (generation, ready): ready once trusted or authorized.
    present: HashMap<String, (u64, bool)>,
    next_generation: u64,
    /// When the computer last woke from sleep.
    resumed_at: Option<Instant>,
}

impl PresenceBoard {
    /// A board kept up to date from `watcher` on a thread of its own, until the watcher ends.
    pub fn follow(watcher: WatcherThread) -> std::io::Result<Arc<PresenceBoard>> {
        let board = Arc::new(PresenceBoard::default());
        let fed = board.clone();
        std::thread::Builder::new()
            .name("presence-board".into())
            .spawn(move || {
                for event in watcher.events() {
                    fed.apply(&event);
                }
            })?;
        Ok(board)
    }

    /// Takes in one watcher event.
    pub fn apply(&self, event: &WatchEvent) {
        match event {
            WatchEvent::Device(DeviceEvent::Attached(d) | DeviceEvent::Changed(d)) => {
                self.arrived(&d.id, d.state == DeviceState::Ready)
            }
            WatchEvent::Device(DeviceEvent::Detached { id, .. }) => self.left(id),
            _ => {}
        }
    }

    /// The phone `id` is here (again); `ready` once it trusts this computer.
    pub fn arrived(&self, id: &str, ready: bool) {
        let mut board = self.board();
        let generation = match board.present.get(id) {
            Some((generation, _)) => *generation,
            None => {
                board.next_generation += 1;
                board.next_generation
            }
        };
        board.present.insert(id.to_owned(), (generation, ready));
        drop(board);
        self.changed.notify_all();
    }

    pub fn left(&self, id: &str) {
        self.board().present.remove(id);
        self.changed.notify_all();
    }

    /// The computer woke from sleep: every phone was cut off meanwhile, so each counts as
    /// plugged in anew (and must be ready again before a job carries on).
    pub fn system_resumed(&self) {
        let mut board = self.board();
        board.resumed_at = Some(Instant::now());
        let ids: Vec<String> = board.present.keys().cloned().collect();
        for id in ids {
            board.next_generation += 1;
            let generation = board.next_generation;
            board.present.insert(id, (generation, false));
        }
        drop(board);
        self.changed.notify_all();
    }

    /// True when the computer woke from sleep after `since`.
    pub fn resumed_since(&self, since: Instant) -> bool {
        self.board().resumed_at.is_some_and(|at| at >= since)
    }

    /// The phone's current generation, None while it is not plugged in.
    pub fn generation(&self, id: &str) -> Option<u64> {
        self.board()
            .present
            .get(id)
            .map(|(generation, _)| *generation)
    }

    /// Waits until `id` is plugged in and ready, for at most `timeout`; its generation, or
    /// None on timeout or cancel.
    pub fn wait_ready(&self, id: &str, timeout: Duration, cancel: &CancelToken) -> Option<u64> {
        self.wait_back(id, None, Duration::ZERO, timeout, cancel)
    }

    /// Waits until `id` is back after a loss: ready with a generation other than `lost`
    /// (it left and came back), or ready under `lost` still after `grace` (the connection
    /// failed but the phone never left). A restore can see a loss before the watcher does;
    /// without this, the old entry would pass for the phone being back.
    pub fn wait_back(
        &self,
        id: &str,
        lost: Option<u64>,
        grace: Duration,
        timeout: Duration,
        cancel: &CancelToken,
    ) -> Option<u64> {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut board = self.board();
        loop {
            if let Some((generation, true)) = board.present.get(id)
                && (Some(*generation) != lost || start.elapsed() >= grace)
            {
                return Some(*generation);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || cancel.is_cancelled() {
                return None;
            }
            board = self
                .changed
                .wait_timeout(board, left.min(CANCEL_POLL))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// Waits up to `within` for `id` to leave (or come back as a new generation) after
    /// `generation`; true when it did. A connection that breaks as the cable is pulled
    /// fails a moment before the watcher hears of it: this tells the two causes apart.
    pub fn left_since(
        &self,
        id: &str,
        generation: Option<u64>,
        within: Duration,
        cancel: &CancelToken,
    ) -> bool {
        let deadline = Instant::now() + within;
        let mut board = self.board();
        loop {
            if board.present.get(id).map(|(g, _)| *g) != generation {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || cancel.is_cancelled() {
                return false;
            }
            board = self
                .changed
                .wait_timeout(board, left.min(CANCEL_POLL))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // A panic elsewhere while holding the lock leaves a usable map.
        self.phones.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replug_is_a_new_generation_and_waits_end_on_readiness() {
        let board = Arc::new(PresenceBoard::default());
        board.arrived("a", false);
        let first = board.generation("a").unwrap();
        assert_eq!(
            board.wait_ready("a", Duration::from_millis(50), &CancelToken::new()),
            None,
            "not ready yet"
        );
        board.arrived("a", true);
        assert_eq!(
            board.generation("a"),
            Some(first),
            "a change is not a replug"
        );
        board.left("a");
        assert_eq!(board.generation("a"), None);
        let waiter = {
            let board = board.clone();
            std::thread::spawn(move || {
                board.wait_ready("a", Duration::from_secs(10), &CancelToken::new())
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        board.arrived("a", true);
        let again = waiter.join().unwrap().unwrap();
        assert_ne!(again, first);
    }

    #[test]
    fn after_a_loss_the_old_entry_does_not_pass_for_the_phone_being_back() {
        let board = Arc::new(PresenceBoard::default());
        board.arrived("a", true);
        let lost = board.generation("a");
        let none = CancelToken::new();
        // The watcher has not heard of the loss yet: the old entry is only taken after
        // the grace period.
        assert_eq!(
            board.wait_back(
                "a",
                lost,
                Duration::from_secs(60),
                Duration::from_millis(100),
                &none
            ),
            None
        );
        assert_eq!(
            board.wait_back(
                "a",
                lost,
                Duration::from_millis(50),
                Duration::from_secs(5),
                &none
            ),
            lost
        );
        // Left and back: at once, with the new generation.
        board.left("a");
        board.arrived("a", true);
        let back = board.wait_back(
            "a",
            lost,
            Duration::from_secs(60),
            Duration::from_secs(5),
            &none,
        );
        assert!(back.is_some() && back != lost);
    }

    #[test]
    fn a_wait_ends_on_cancel() {
        let board = PresenceBoard::default();
        let cancel = CancelToken::new();
        cancel.cancel();
        let start = Instant::now();
        assert_eq!(
            board.wait_ready("x", Duration::from_secs(30), &cancel),
            None
        );
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
