//! What the restore-job tests of both platforms share.

use plugback_core::jobs::KeepAwake;
use plugback_core::jobs::awake::AwakeGuard;

/// The seed of the fault-injection runs: `PLUGBACK_FAULT_SEED` replays a failed one.
pub(super) fn fault_seed(default: u64) -> u64 {
    match std::env::var("PLUGBACK_FAULT_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PLUGBACK_FAULT_SEED={text:?} is not a whole number")),
        Err(_) => default,
    }
}

/// How many fault-injection runs: `default` in the suite, `PLUGBACK_FAULT_RUNS` for a soak
/// (`PLUGBACK_FAULT_RUNS=50`).
pub(super) fn fault_runs(default: usize) -> usize {
    match std::env::var("PLUGBACK_FAULT_RUNS") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("PLUGBACK_FAULT_RUNS={text:?} is not a whole number")),
        Err(_) => default,
    }
}

/// Keeps nothing awake: jobs run without a session bus here.
pub(super) struct NoInhibitor;

struct NoGuard;
impl AwakeGuard for NoGuard {}

impl KeepAwake for NoInhibitor {
    fn acquire(&self, _reason: &str) -> Result<Box<dyn AwakeGuard>, String> {
        Ok(Box::new(NoGuard))
    }
}
