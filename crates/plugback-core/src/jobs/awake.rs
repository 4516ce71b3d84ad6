//! Keeping the computer awake while a job runs, and letting go afterwards. Behind a small
//! trait so jobs are tested without a session bus, and so the window can show whether the
//! computer could be kept awake.

/// Something that keeps the computer awake until dropped.
pub trait AwakeGuard: Send {}

impl AwakeGuard for keepawake::KeepAwake {}

/// Takes the inhibitor for a job.
pub trait KeepAwake: Send + Sync {
    /// Keeps the computer from sleeping until the guard is dropped; Err says why not.
    fn acquire(&self, reason: &str) -> Result<Box<dyn AwakeGuard>, String>;
}

/// The system's own inhibitor (systemd-logind on Linux, a power assertion on macOS, the
/// thread execution state on Windows), through the keepawake crate.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemAwake;

impl KeepAwake for SystemAwake {
    fn acquire(&self, reason: &str) -> Result<Box<dyn AwakeGuard>, String> {
        keepawake::Builder::default()
            .idle(true)
            .sleep(true)
            .app_name("Plugback")
            .app_reverse_domain("org.plugback.Plugback")
            .reason(reason)
            .create()
            .map(|guard| Box::new(guard) as Box<dyn AwakeGuard>)
            .map_err(|e| e.to_string())
    }
}
