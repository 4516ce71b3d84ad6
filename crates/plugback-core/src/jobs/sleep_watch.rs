//! The computer going to sleep during a restore cuts every phone off. On Linux, logind
//! announces sleep and wake with PrepareForSleep on the system D-Bus; a wake is passed to
//! the presence board, where every job's watchdog sees it as a disconnect and explains it.
//! Elsewhere the phones' own departures are what the watchdog sees.

use super::presence::PresenceBoard;
use std::sync::Arc;

/// Follows sleep and wake on a thread of its own; Err says why it cannot (no system bus,
/// as in a container) — jobs then learn of a sleep from the phone leaving.
#[cfg(target_os = "linux")]
pub fn follow(board: Arc<PresenceBoard>) -> Result<(), String> {
    use zbus::blocking::{Connection, Proxy};
    let connection = Connection::system().map_err(|e| e.to_string())?;
    let proxy = Proxy::new(
        &connection,
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
    )
    .map_err(|e| e.to_string())?;
    let signals = proxy
        .receive_signal("PrepareForSleep")
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("sleep-watch".into())
        .spawn(move || {
            // The proxy and its connection live as long as the stream.
            let _proxy = proxy;
            for message in signals {
                // true: about to sleep; false: awake again.
                if let Ok(false) = message.body().deserialize::<bool>() {
                    board.system_resumed();
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub fn follow(_board: Arc<PresenceBoard>) -> Result<(), String> {
    Err("sleep and wake are followed through the phones leaving on this system".to_owned())
}
