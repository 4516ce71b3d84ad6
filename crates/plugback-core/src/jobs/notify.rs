//! Telling the person something while they may be looking elsewhere: a desktop
//! notification, behind a trait so jobs are tested without a notification service.

pub trait Notifier: Send + Sync {
    /// Shows `title` and `body`; a notification that cannot be shown is logged, never an
    /// error for the job.
    fn notify(&self, title: &str, body: &str);
}

/// The desktop's notification service, through notify-rust.
#[derive(Clone, Copy, Debug, Default)]
pub struct DesktopNotifier;

impl Notifier for DesktopNotifier {
    fn notify(&self, title: &str, body: &str) {
        let shown = notify_rust::Notification::new()
            .appname("Plugback")
            .summary(title)
            .body(body)
            .show();
        if let Err(e) = shown {
            tracing::info!("no desktop notification ({e}): {title}: {body}");
        }
    }
}

/// Notifications that go nowhere (scripts, tests).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Notifier for Silent {
    fn notify(&self, _title: &str, _body: &str) {}
}
