//! What the link probe measures on a phone, and the summaries the health check grades.
//! Both platforms' probes fill the same figures.

use crate::device::DeviceError;
use serde::Serialize;
use std::time::Duration;

/// The size of the payload written to the phone and read back: big enough that the
/// transfer, not the round trips, sets the time.
pub const DEFAULT_PAYLOAD_BYTES: u64 = 32 * 1024 * 1024;
/// How many small requests time the round trip.
pub const DEFAULT_ROUND_TRIPS: usize = 50;

/// What to probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbePlan {
    pub payload_bytes: u64,
    pub round_trips: usize,
}

impl Default for ProbePlan {
    fn default() -> Self {
        ProbePlan {
            payload_bytes: DEFAULT_PAYLOAD_BYTES,
            round_trips: DEFAULT_ROUND_TRIPS,
        }
    }
}

/// An error the transport gave during the probe, kept as its code and words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeError {
    pub code: &'static str,
    pub message: String,
}

impl From<&DeviceError> for ProbeError {
    fn from(err: &DeviceError) -> Self {
        ProbeError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

/// What one probe of a phone measured. A probe stops at the first transport error and
/// records it; whatever it measured before stays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeFigures {
    /// Each timed round trip (a small request and its answer).
    pub round_trips: Vec<Duration>,
    pub payload_bytes: u64,
    /// How long writing the payload to the phone took; None when it did not finish.
    pub write: Option<Duration>,
    /// How long reading it back took; None when it did not finish.
    pub read: Option<Duration>,
    /// Whether the bytes read back were the bytes written; None when not read back.
    pub intact: Option<bool>,
    /// Whether the temporary file was removed from the phone again.
    pub cleaned_up: bool,
    pub errors: Vec<ProbeError>,
}

impl ProbeFigures {
    pub fn new(plan: &ProbePlan) -> ProbeFigures {
        ProbeFigures {
            payload_bytes: plan.payload_bytes,
            ..ProbeFigures::default()
        }
    }

    pub fn record_error(&mut self, err: &DeviceError) {
        self.errors.push(ProbeError::from(err));
    }

    /// The round-trip time at quantile `q` (0.5 for the median), nearest rank.
    pub fn latency(&self, q: f64) -> Option<Duration> {
        quantile(&self.round_trips, q)
    }

    pub fn write_mb_per_s(&self) -> Option<f64> {
        self.write.and_then(|t| mb_per_s(self.payload_bytes, t))
    }

    pub fn read_mb_per_s(&self) -> Option<f64> {
        self.read.and_then(|t| mb_per_s(self.payload_bytes, t))
    }
}

/// Nearest-rank quantile of unsorted samples.
pub fn quantile(samples: &[Duration], q: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Decimal megabytes per second.
pub fn mb_per_s(bytes: u64, took: Duration) -> Option<f64> {
    let secs = took.as_secs_f64();
    (secs > 0.0).then(|| bytes as f64 / 1e6 / secs)
}

/// The probe's payload: `len` bytes that do not compress (a transport that compresses must
/// not flatter the figure), different on every call so a stale file on the phone cannot
/// pass for the new one.
pub fn payload(len: u64) -> Vec<u8> {
    let mut state: u64 = rand::random::<u64>() | 1;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (bytes.len() as u64) < len {
        // xorshift64: fast, and random enough to defeat compression.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let take = (len - bytes.len() as u64).min(8) as usize;
        bytes.extend_from_slice(&state.to_le_bytes()[..take]);
    }
    bytes
}

/// A name for the probe's temporary file that no other run shares.
pub fn temporary_name() -> String {
    format!("plugback-health-{:016x}.tmp", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let samples: Vec<_> = (1..=100).rev().map(ms).collect();
        assert_eq!(quantile(&samples, 0.5), Some(ms(50)));
        assert_eq!(quantile(&samples, 0.99), Some(ms(99)));
        assert_eq!(quantile(&samples, 1.0), Some(ms(100)));
        assert_eq!(quantile(&samples, 0.0), Some(ms(1)));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[ms(7)], 0.99), Some(ms(7)));
    }

    #[test]
    fn payload_has_the_length_asked_and_differs_each_time() {
        let a = payload(1_000_003);
        let b = payload(1_000_003);
        assert_eq!(a.len(), 1_000_003);
        assert_ne!(a, b);
        assert!(payload(0).is_empty());
        // Incompressible: every byte value turns up about as often.
        let mut counts = [0u32; 256];
        for byte in &a {
            counts[*byte as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 3000 && c < 5000), "{counts:?}");
    }

    #[test]
    fn throughput_in_decimal_megabytes() {
        let mut figures = ProbeFigures::new(&ProbePlan {
            payload_bytes: 32_000_000,
            round_trips: 0,
        });
        figures.write = Some(Duration::from_secs(2));
        assert_eq!(figures.write_mb_per_s(), Some(16.0));
        assert_eq!(figures.read_mb_per_s(), None);
        assert_eq!(mb_per_s(5, Duration::ZERO), None);
    }
}
