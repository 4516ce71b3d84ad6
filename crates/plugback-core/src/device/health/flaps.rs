//! Flapping: a phone that drops off and comes back by itself points at a worn cable or a
//! loose port. The log keeps when each phone arrived and left, for the last minutes.

use crate::device::DeviceEvent;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How far back the health check looks.
pub const FLAP_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Arrivals and departures of one phone within a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlapCount {
    pub attaches: u32,
    pub detaches: u32,
    /// The window the counts cover.
    pub window: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Attach,
    Detach,
}

/// Every phone's arrivals and departures, newest last, trimmed to [`FLAP_WINDOW`].
#[derive(Debug, Default)]
pub struct FlapLog {
    events: HashMap<String, Vec<(Instant, Kind)>>,
}

impl FlapLog {
    pub fn record(&mut self, event: &DeviceEvent) {
        self.record_at(event, Instant::now());
    }

    pub fn record_at(&mut self, event: &DeviceEvent, at: Instant) {
        let (id, kind) = match event {
            DeviceEvent::Attached(device) => (&device.id, Kind::Attach),
            DeviceEvent::Detached { id, .. } => (id, Kind::Detach),
            DeviceEvent::Changed(_) => return,
        };
        let log = self.events.entry(id.clone()).or_default();
        log.push((at, kind));
        log.retain(|(when, _)| at.saturating_duration_since(*when) <= FLAP_WINDOW);
    }

    /// The counts for `id` over the `window` before `now`.
    pub fn count(&self, id: &str, window: Duration, now: Instant) -> FlapCount {
        let mut count = FlapCount {
            window,
            ..FlapCount::default()
        };
        for (when, kind) in self.events.get(id).into_iter().flatten() {
            if now.saturating_duration_since(*when) > window {
                continue;
            }
            match kind {
                Kind::Attach => count.attaches += 1,
                Kind::Detach => count.detaches += 1,
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Platform;

    fn detached(id: &str) -> DeviceEvent {
        DeviceEvent::Detached {
            id: id.into(),
            platform: Platform::Android,
        }
    }

    #[test]
    fn counts_departures_per_phone_within_the_window() {
        let mut log = FlapLog::default();
        let start = Instant::now();
        log.record_at(&detached("a"), start);
        log.record_at(&detached("a"), start + Duration::from_secs(200));
        log.record_at(&detached("b"), start + Duration::from_secs(200));
        let now = start + Duration::from_secs(240);
        assert_eq!(log.count("a", Duration::from_secs(300), now).detaches, 2);
        assert_eq!(log.count("a", Duration::from_secs(60), now).detaches, 1);
        assert_eq!(log.count("b", Duration::from_secs(300), now).detaches, 1);
        assert_eq!(
            log.count("c", Duration::from_secs(300), now),
            FlapCount {
                window: Duration::from_secs(300),
                ..FlapCount::default()
            }
        );
    }

    #[test]
    fn old_events_are_forgotten() {
        let mut log = FlapLog::default();
        let start = Instant::now();
        log.record_at(&detached("a"), start);
        log.record_at(&detached("a"), start + FLAP_WINDOW + Duration::from_secs(1));
        assert_eq!(log.events["a"].len(), 1);
    }
}
