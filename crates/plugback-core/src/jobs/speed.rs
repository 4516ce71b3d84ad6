//! Speed and time left, from the bytes a job reports over time. A sliding window, so the
//! figure follows the cable now rather than the average since the start, and a restart or
//! a pause does not leave a stale speed on screen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How far back the speed looks.
const WINDOW: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct SpeedMeter {
    samples: VecDeque<(Instant, u64)>,
}

impl SpeedMeter {
    pub fn record(&mut self, at: Instant, bytes_done: u64) {
        // Bytes going backwards (a restarted attempt) start a new measurement.
        if self.samples.back().is_some_and(|(_, b)| *b > bytes_done) {
            self.samples.clear();
        }
        self.samples.push_back((at, bytes_done));
        while let Some((first, _)) = self.samples.front() {
            if at.saturating_duration_since(*first) > WINDOW && self.samples.len() > 2 {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Forgets the history: after a pause the old pace says nothing.
    pub fn reset(&mut self) {
        self.samples.clear();
    }

    /// Bytes per second over the window; None until there are two samples apart in time.
    pub fn bytes_per_s(&self) -> Option<f64> {
        let (t0, b0) = self.samples.front()?;
        let (t1, b1) = self.samples.back()?;
        let secs = t1.saturating_duration_since(*t0).as_secs_f64();
        (secs >= 0.2).then(|| (b1 - b0) as f64 / secs)
    }

    /// Time left for `remaining` bytes at the current speed; None while the speed is unknown
    /// or zero.
    pub fn eta(&self, remaining: u64) -> Option<Duration> {
        let speed = self.bytes_per_s()?;
        (speed > 0.0).then(|| Duration::from_secs_f64(remaining as f64 / speed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_over_the_window_and_eta() {
        let mut meter = SpeedMeter::default();
        let t0 = Instant::now();
        assert_eq!(meter.bytes_per_s(), None);
        meter.record(t0, 0);
        assert_eq!(meter.bytes_per_s(), None);
        meter.record(t0 + Duration::from_secs(1), 10_000_000);
        meter.record(t0 + Duration::from_secs(2), 20_000_000);
        assert_eq!(meter.bytes_per_s(), Some(10_000_000.0));
        assert_eq!(meter.eta(30_000_000), Some(Duration::from_secs(3)));
        // Much later, at a new pace: the window forgets the old one.
        meter.record(t0 + Duration::from_secs(20), 30_000_000);
        meter.record(t0 + Duration::from_secs(21), 31_000_000);
        meter.record(t0 + Duration::from_secs(22), 32_000_000);
        meter.record(t0 + Duration::from_secs(30), 40_000_000);
        assert_eq!(meter.bytes_per_s(), Some(1_000_000.0));
    }

    #[test]
    fn a_restart_starts_a_new_measurement() {
        let mut meter = SpeedMeter::default();
        let t0 = Instant::now();
        meter.record(t0, 0);
        meter.record(t0 + Duration::from_secs(1), 5_000_000);
        meter.record(t0 + Duration::from_secs(2), 1_000);
        assert_eq!(meter.bytes_per_s(), None);
        meter.record(t0 + Duration::from_secs(3), 0);
        assert_eq!(meter.eta(10), None);
    }
}
