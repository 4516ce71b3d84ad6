//! The computer going to sleep during a restore cuts every phone off. A wake is passed to
//! the presence board, where every job's watchdog sees it as a disconnect and explains it.
//! On Linux, logind announces sleep and wake with PrepareForSleep on the system D-Bus.
//! Without it (no system bus, as in a container) and on macOS, two clocks tell: one runs
//! through sleep and one does not, so the gap between them grows by the time asleep.
//! Elsewhere the phones' own departures are what the watchdog sees.

use super::presence::PresenceBoard;
use std::sync::Arc;
use std::time::Duration;

/// How often the clocks are compared.
const CLOCK_LOOK_EVERY: Duration = Duration::from_secs(1);
/// Growth of the gap between the clocks that counts as a sleep: they tick together
/// otherwise, so anything past rounding is time the computer was asleep.
const SLEPT_AT_LEAST: Duration = Duration::from_millis(1500);

/// Follows sleep and wake on a thread of its own; Err says why it cannot (no system bus,
/// as in a container) — jobs then learn of a sleep from the phone leaving.
/// Follows sleep and wake on a thread of its own, from logind where it answers and from
/// the clocks otherwise; Err says why neither can be followed.
pub fn follow(board: Arc<PresenceBoard>) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if follow_logind(board.clone()).is_ok() {
        return Ok(());
    }
    follow_clocks(board)
}

#[cfg(target_os = "linux")]
fn follow_logind(board: Arc<PresenceBoard>) -> Result<(), String> {
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

fn follow_clocks(board: Arc<PresenceBoard>) -> Result<(), String> {
    let mut gap = SleepGap::new(time_asleep().ok_or_else(|| {
        "sleep and wake are followed through the phones leaving on this system".to_owned()
    })?);
    std::thread::Builder::new()
        .name("sleep-clocks".into())
        .spawn(move || {
            loop {
                std::thread::sleep(CLOCK_LOOK_EVERY);
                if time_asleep().is_some_and(|asleep| gap.woke(asleep)) {
                    board.system_resumed();
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Tells a wake from successive readings of the time spent asleep.
struct SleepGap {
    last: Duration,
}

impl SleepGap {
    fn new(asleep: Duration) -> SleepGap {
        SleepGap { last: asleep }
    }

    /// True when the computer slept since the last reading.
    fn woke(&mut self, asleep: Duration) -> bool {
        let slept = asleep.saturating_sub(self.last) >= SLEPT_AT_LEAST;
        self.last = self.last.max(asleep);
        slept
    }
}

/// How long this computer has been asleep since it started: a clock that runs through
/// sleep less one that stops (Linux: BOOTTIME and MONOTONIC; macOS: MONOTONIC and
/// UPTIME_RAW). Written against libc because std's clocks hide which one they use.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn time_asleep() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    let (through_sleep, awake_only) = (libc::CLOCK_BOOTTIME, libc::CLOCK_MONOTONIC);
    #[cfg(target_os = "macos")]
    let (through_sleep, awake_only) = (libc::CLOCK_MONOTONIC, libc::CLOCK_UPTIME_RAW);
    let read = |clock| {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through a valid pointer.
        let status = unsafe { libc::clock_gettime(clock, &mut now) };
        (status == 0).then(|| {
            Duration::new(
                u64::try_from(now.tv_sec).unwrap_or(0),
                u32::try_from(now.tv_nsec).unwrap_or(0),
            )
        })
    };
    // Read the stopping clock last, so that the gap never comes out too small.
    let through = read(through_sleep)?;
    let awake = read(awake_only)?;
    Some(through.saturating_sub(awake))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn time_asleep() -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_jump_in_the_time_asleep_is_a_wake() {
        let mut gap = SleepGap::new(Duration::from_secs(100));
        assert!(!gap.woke(Duration::from_millis(100_001)), "rounding");
        assert!(gap.woke(Duration::from_secs(160)), "a minute asleep");
        assert!(!gap.woke(Duration::from_secs(160)), "awake since");
        assert!(!gap.woke(Duration::from_secs(150)), "never backwards");
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn the_clocks_agree_while_the_computer_is_awake() {
        let first = time_asleep().expect("both clocks read");
        std::thread::sleep(Duration::from_millis(200));
        let second = time_asleep().expect("both clocks read");
        let mut gap = SleepGap::new(first);
        assert!(
            !gap.woke(second),
            "no sleep, yet the gap grew from {first:?} to {second:?}"
        );
    }
}
