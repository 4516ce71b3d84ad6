//! One service stream between the host and a service on the phone, with the phone's faults
//! applied: it counts the bytes it carries (both directions), pulls the plug or stalls
//! when a fault says so, and paces itself under `slow-mbps`.

use crate::iphone::Phone;
use crate::iphone::phone::{ConnectionGuard, StreamAction, StreamPlan};
use crate::iphone::socket::MuxStream;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Under a rate limit, move at most this long's worth of bytes per call, so pacing is smooth.
const PACING_SLICE: Duration = Duration::from_millis(50);

/// A service stream. Services read and write it as any `Read + Write`.
pub struct Link {
    stream: MuxStream,
    phone: Arc<Phone>,
    carried: u64,
    plan_version: u64,
    plan: StreamPlan,
    pace_start: Instant,
    paced_bytes: u64,
    unplugged: bool,
    _tracked: ConnectionGuard,
}

impl Link {
    /// Wraps a connected stream; an unplug of `phone` cuts it.
    pub fn new(stream: MuxStream, phone: Arc<Phone>) -> io::Result<Link> {
        let tracked = phone.track_connection(&stream)?;
        let plan_version = phone.faults_version();
        let plan = phone.stream_plan();
        Ok(Link {
            stream,
            phone,
            carried: 0,
            plan_version,
            plan,
            pace_start: Instant::now(),
            paced_bytes: 0,
            unplugged: false,
            _tracked: tracked,
        })
    }

    /// A read that waits longer than this fails with `WouldBlock`/`TimedOut`, so that a
    /// service can do other work between two host messages.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }

    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.stream.set_write_timeout(timeout)
    }

    /// Bytes carried so far, both directions.
    pub fn carried(&self) -> u64 {
        self.carried
    }

    pub fn phone(&self) -> &Arc<Phone> {
        &self.phone
    }

    fn refresh_plan(&mut self) {
        let version = self.phone.faults_version();
        if version != self.plan_version {
            let plan = self.phone.stream_plan();
            if plan.rate_limit != self.plan.rate_limit {
                self.pace_start = Instant::now();
                self.paced_bytes = 0;
            }
            self.plan = plan;
            self.plan_version = version;
        }
    }

    /// How many bytes the next call may move: up to the next fault trigger, and a slice of
    /// the rate limit.
    fn allowance(&mut self, wanted: usize) -> io::Result<usize> {
        if self.unplugged {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the phone was unplugged",
            ));
        }
        self.refresh_plan();
        let mut allowed = wanted as u64;
        if let Some(trigger) = self.plan.next_trigger
            && trigger > self.carried
        {
            allowed = allowed.min(trigger - self.carried);
        }
        if let Some(rate) = self.plan.rate_limit {
            let slice = (rate as f64 * PACING_SLICE.as_secs_f64()) as u64;
            allowed = allowed.min(slice.max(1));
        }
        Ok(allowed.max(1).min(wanted as u64) as usize)
    }

    /// Books `n` moved bytes: paces, and fires the faults that are due.
    fn account(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        self.carried += n as u64;
        if let Some(rate) = self.plan.rate_limit {
            self.paced_bytes += n as u64;
            let due = Duration::from_secs_f64(self.paced_bytes as f64 / rate as f64);
            let elapsed = self.pace_start.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
        }
        if self.plan.next_trigger.is_some_and(|t| self.carried >= t) {
            match self.phone.on_stream_bytes(self.carried) {
                Some(StreamAction::Disconnected) => self.unplugged = true,
                Some(StreamAction::Stall(pause)) => std::thread::sleep(pause),
                None => {}
            }
            self.refresh_plan();
        }
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let allowed = self.allowance(buf.len())?;
        let n = self.stream.read(&mut buf[..allowed])?;
        self.account(n);
        Ok(n)
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let allowed = self.allowance(buf.len())?;
        let n = self.stream.write(&buf[..allowed])?;
        self.account(n);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
