//! The byte-counting faults of the simulated Android phone, and its link speed.
//!
//! Every service stream carries a [`StreamMeter`]. After each read or write it counts the
//! bytes (both directions), paces the stream to the slowest configured rate, and fires the
//! faults whose threshold this stream has reached. A fault fires once: it leaves the
//! configuration as it fires, so `status` lists only the faults still armed.

use crate::android::AndroidPhone;
use crate::fault::Fault;
use std::time::{Duration, Instant};

/// What the transport must do because a fault fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Pull the cable; plug it back after the delay, if any.
    Unplug(Option<Duration>),
    /// Stop reading and writing on this stream for a while.
    Stall(Duration),
    /// Forget every allowed host key and drop the connections.
    RevokeAuth,
}

/// Bytes carried by one stream, and when it started, for pacing.
pub struct StreamMeter {
    bytes: u64,
    started: Instant,
    /// Time spent in stalls, left out of the pacing.
    paused: Duration,
}

impl Default for StreamMeter {
    fn default() -> Self {
        StreamMeter {
            bytes: 0,
            started: Instant::now(),
            paused: Duration::ZERO,
        }
    }
}

impl StreamMeter {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// How many more bytes this stream may carry before the next byte fault fires, so a
    /// write can stop exactly at the threshold. None when no byte fault is armed.
    pub fn room(&self, phone: &AndroidPhone) -> Option<u64> {
        phone
            .config()
            .faults
            .iter()
            .filter_map(|fault| match *fault {
                Fault::DisconnectAfterBytes { bytes, .. }
                | Fault::StallAfterBytes { bytes, .. }
                | Fault::RevokeAuthAfterBytes { bytes } => Some(bytes.saturating_sub(self.bytes)),
                _ => None,
            })
            .min()
    }

    /// Counts `n` more bytes, sleeps as long as the rate limit asks, and returns the
    /// faults that fire now.
    pub fn record(&mut self, phone: &AndroidPhone, n: usize) -> Vec<FaultAction> {
        self.bytes += n as u64;
        let total = self.bytes;
        let mut actions = Vec::new();
        let mut rate = None;
        phone.update(|config| {
            rate = rate_limit(config.link_mbps, &config.faults);
            config.faults.retain(|fault| match fired(fault, total) {
                Some(action) => {
                    actions.push(action);
                    false
                }
                None => true,
            });
        });
        if let Some(bytes_per_s) = rate {
            let due = Duration::from_secs_f64(self.bytes as f64 / bytes_per_s as f64);
            let spent = self.started.elapsed().saturating_sub(self.paused);
            if due > spent {
                std::thread::sleep(due - spent);
            }
        }
        for action in &actions {
            if let FaultAction::Stall(pause) = action {
                self.paused += *pause;
            }
        }
        actions
    }
}

/// The action of `fault` once a stream has carried `bytes`, if it fires.
fn fired(fault: &Fault, bytes: u64) -> Option<FaultAction> {
    match *fault {
        Fault::DisconnectAfterBytes {
            bytes: limit,
            back_after,
        } if bytes >= limit => Some(FaultAction::Unplug(back_after)),
        Fault::StallAfterBytes {
            bytes: limit,
            stall,
        } if bytes >= limit => Some(FaultAction::Stall(stall)),
        Fault::RevokeAuthAfterBytes { bytes: limit } if bytes >= limit => {
            Some(FaultAction::RevokeAuth)
        }
        _ => None,
    }
}

/// The slowest of the link speed (Mbit/s) and any `slow-mbps` fault (MB/s), in bytes/s.
pub fn rate_limit(link_mbps: Option<u32>, faults: &[Fault]) -> Option<u64> {
    let link = link_mbps.map(|mbit| (u64::from(mbit) * 1_000_000 / 8).max(1));
    faults
        .iter()
        .filter_map(Fault::rate_limit_bytes_per_s)
        .chain(link)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::android::AndroidConfig;

    #[test]
    fn faults_fire_once_at_their_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let phone = AndroidPhone::new(AndroidConfig::new(dir.path().into())).unwrap();
        phone.update(|c| {
            c.faults = vec![
                "disconnect-after-bytes=100,back-after-ms=5"
                    .parse()
                    .unwrap(),
                "stall-after-bytes=50,ms=1".parse().unwrap(),
                "revoke-auth-after-bytes=1000".parse().unwrap(),
                "hostile=paths".parse().unwrap(),
            ]
        });
        let mut meter = StreamMeter::default();
        assert_eq!(meter.room(&phone), Some(50));
        assert_eq!(meter.record(&phone, 49), vec![]);
        assert_eq!(
            meter.record(&phone, 1),
            vec![FaultAction::Stall(Duration::from_millis(1))]
        );
        assert_eq!(
            meter.record(&phone, 60),
            vec![FaultAction::Unplug(Some(Duration::from_millis(5)))]
        );
        assert_eq!(meter.record(&phone, 60), vec![]);
        let mut other = StreamMeter::default();
        assert_eq!(other.record(&phone, 999), vec![]);
        assert_eq!(other.record(&phone, 1), vec![FaultAction::RevokeAuth]);
        assert_eq!(phone.config().faults, vec![Fault::HostilePaths]);
    }

    #[test]
    fn the_slowest_rate_wins() {
        let slow: Fault = "slow-mbps=2".parse().unwrap();
        assert_eq!(rate_limit(None, &[]), None);
        assert_eq!(rate_limit(Some(480), &[]), Some(60_000_000));
        assert_eq!(
            rate_limit(Some(480), std::slice::from_ref(&slow)),
            Some(2_000_000)
        );
        assert_eq!(rate_limit(Some(8), &[slow]), Some(1_000_000));
    }
}
