//! Jobs: a restore run for a person, with progress (speed, time left), a log, a report,
//! and the stay-plugged-in watchdog. Several jobs run at once, one per phone.

pub mod awake;
pub mod choice;
pub mod log;
pub mod notify;
pub mod presence;
pub mod report;
pub mod restore_job;
pub mod runner;
pub mod sleep_watch;
pub mod speed;

pub use awake::{KeepAwake, SystemAwake};
pub use choice::RestoreChoice;
pub use notify::{DesktopNotifier, Notifier, Silent};
pub use presence::PresenceBoard;
pub use report::{JobError, JobReport};
pub use runner::{AfterLoss, AttemptOutcome, JobContext, JobEvent, JobSpec, RetryPolicy, run};
