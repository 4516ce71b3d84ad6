//! Whether Plugback can tell the person that a restore ended: the desktop's notification
//! service, asked through the notify-rust crate the window uses (on Linux and BSD the
//! freedesktop notification service on the session D-Bus; macOS and Windows have theirs
//! built in).

use super::bounded::probe_check;
use super::{Check, DoctorEnv};
use crate::cancel::CancelToken;
use crate::finding::{Finding, Severity};

const ID: &str = "notifications";
const NAME: &str = "desktop notifications";

/// The notification service's name and version.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn server_information() -> Result<String, String> {
    notify_rust::get_server_information()
        .map(|server| {
            format!(
                "{} {} ({}) shows notifications",
                server.name, server.version, server.vendor
            )
        })
        .map_err(|e| e.to_string())
}

/// macOS and Windows always have a notification centre.
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub fn server_information() -> Result<String, String> {
    Ok(if cfg!(windows) {
        "Windows shows notifications".to_owned()
    } else {
        "macOS shows notifications".to_owned()
    })
}

pub fn check(env: &DoctorEnv, cancel: &CancelToken) -> Vec<Check> {
    probe_check(
        (ID, NAME),
        env.probe_timeout,
        cancel,
        env.notification_probe,
        |why| {
            Finding::new(
                "doctor-no-notifications",
                Severity::Info,
                format!("no notification service answers here: {why}"),
                "Nothing is needed: Plugback still shows progress in its window and on the \
             command line. For notifications, run Plugback in a desktop session (not over \
             SSH or in a container), whose notification service then answers.",
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_notification_service_is_info_with_a_fix() {
        let mut env = DoctorEnv::from_system();
        env.notification_probe = || Err("no session bus".to_owned());
        let checks = check(&env, &CancelToken::new());
        assert_eq!(checks[0].code, Some("doctor-no-notifications"));
        assert_eq!(checks[0].status, super::super::CheckStatus::Info);
        assert!(checks[0].detail.contains("no session bus"));
        env.notification_probe = || Ok("a server".to_owned());
        assert_eq!(check(&env, &CancelToken::new())[0].code, None);
    }
}
