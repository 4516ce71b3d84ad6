//! Faults a simulated phone can be told to inject, parsed from `--fault SPEC`.
//!
//! Both simulators accept the same spec language, so a test or a demo can describe a bad
//! cable the same way for an iPhone and an Android phone:
//!
//! | spec | effect |
//! |---|---|
//! | `disconnect-after-bytes=N[,back-after-ms=M]` | unplug once a service stream has carried N bytes |
//! | `disconnect-at-percent=P[,back-after-ms=M]` | unplug when a restore reports P % (iPhone) |
//! | `stall-after-bytes=N,ms=M` | stop reading and writing for M ms after N bytes |
//! | `flap=N` | unplug and plug back N times, about a second apart |
//! | `slow-mbps=N` | limit each service stream to N MB/s (decimal megabytes) |
//! | `hostile=paths` | ask the host for paths outside the backup (iPhone restore) |
//! | `revoke-auth-after-bytes=N` | forget the host's key after N bytes (Android) |
//!
//! Without `back-after-ms`, an unplugged phone stays away until it is plugged back through
//! the control channel.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One fault to inject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Unplug once a service stream has carried this many bytes (both directions counted).
    DisconnectAfterBytes {
        bytes: u64,
        back_after: Option<Duration>,
    },
    /// Unplug when a restore's reported progress reaches this percentage.
    DisconnectAtPercent {
        percent: u8,
        back_after: Option<Duration>,
    },
    /// Stop answering for a while after this many bytes.
    StallAfterBytes { bytes: u64, stall: Duration },
    /// Unplug and plug back this many times.
    Flap { times: u32 },
    /// Cap each service stream at this rate, in decimal megabytes per second.
    SlowLink { mb_per_s: u32 },
    /// Misbehave on purpose: ask for paths that leave the backup.
    HostilePaths,
    /// Forget the authorised host key after this many bytes (Android).
    RevokeAuthAfterBytes { bytes: u64 },
}

/// Why a `--fault` spec was refused; the message names the accepted forms.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid fault {spec:?}: {reason}. Accepted: disconnect-after-bytes=N[,back-after-ms=M], \
     disconnect-at-percent=P[,back-after-ms=M], stall-after-bytes=N,ms=M, flap=N, slow-mbps=N, \
     hostile=paths, revoke-auth-after-bytes=N"
)]
pub struct FaultParseError {
    pub spec: String,
    pub reason: String,
}

impl Fault {
    /// How long the phone stays away after this fault unplugs it, if it comes back at all.
    pub fn back_after(&self) -> Option<Duration> {
        match self {
            Fault::DisconnectAfterBytes { back_after, .. }
            | Fault::DisconnectAtPercent { back_after, .. } => *back_after,
            _ => None,
        }
    }

    /// The rate limit in bytes per second, for `slow-mbps`.
    pub fn rate_limit_bytes_per_s(&self) -> Option<u64> {
        match self {
            Fault::SlowLink { mb_per_s } => Some(u64::from(*mb_per_s) * 1_000_000),
            _ => None,
        }
    }
}

impl FromStr for Fault {
    type Err = FaultParseError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| FaultParseError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let mut fields = Vec::new();
        for part in spec.split(',') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| fail(&format!("{part:?} is not key=value")))?;
            fields.push((key.trim(), value.trim()));
        }
        let (kind, value) = fields[0];
        let extra = &fields[1..];
        let number = |value: &str, what: &str| -> Result<u64, FaultParseError> {
            value
                .parse::<u64>()
                .map_err(|_| fail(&format!("{what} must be a whole number, not {value:?}")))
        };
        let only = |allowed: &[&str]| -> Result<(), FaultParseError> {
            match extra.iter().find(|(key, _)| !allowed.contains(key)) {
                Some((key, _)) => Err(fail(&format!("{key:?} does not go with {kind}"))),
                None => Ok(()),
            }
        };
        let field = |name: &str| extra.iter().find(|(key, _)| *key == name).map(|(_, v)| *v);
        let back_after = || -> Result<Option<Duration>, FaultParseError> {
            field("back-after-ms")
                .map(|v| number(v, "back-after-ms").map(Duration::from_millis))
                .transpose()
        };
        match kind {
            "disconnect-after-bytes" => {
                only(&["back-after-ms"])?;
                Ok(Fault::DisconnectAfterBytes {
                    bytes: number(value, kind)?,
                    back_after: back_after()?,
                })
            }
            "disconnect-at-percent" => {
                only(&["back-after-ms"])?;
                let percent = number(value, kind)?;
                if percent > 100 {
                    return Err(fail("a percentage is at most 100"));
                }
                Ok(Fault::DisconnectAtPercent {
                    percent: percent as u8,
                    back_after: back_after()?,
                })
            }
            "stall-after-bytes" => {
                only(&["ms"])?;
                let ms = field("ms").ok_or_else(|| fail("stall-after-bytes needs ,ms=M"))?;
                Ok(Fault::StallAfterBytes {
                    bytes: number(value, kind)?,
                    stall: Duration::from_millis(number(ms, "ms")?),
                })
            }
            "flap" => {
                only(&[])?;
                let times = number(value, kind)?;
                Ok(Fault::Flap {
                    times: u32::try_from(times).map_err(|_| fail("too many flaps"))?,
                })
            }
            "slow-mbps" => {
                only(&[])?;
                let rate = number(value, kind)?;
                if rate == 0 {
                    return Err(fail("slow-mbps must be at least 1"));
                }
                Ok(Fault::SlowLink {
                    mb_per_s: u32::try_from(rate).map_err(|_| fail("rate too large"))?,
                })
            }
            "hostile" => {
                only(&[])?;
                if value != "paths" {
                    return Err(fail("the only hostile behaviour is hostile=paths"));
                }
                Ok(Fault::HostilePaths)
            }
            "revoke-auth-after-bytes" => {
                only(&[])?;
                Ok(Fault::RevokeAuthAfterBytes {
                    bytes: number(value, kind)?,
                })
            }
            _ => Err(fail(&format!("unknown fault {kind:?}"))),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let back = |f: &mut fmt::Formatter<'_>, back: &Option<Duration>| match back {
            Some(d) => write!(f, ",back-after-ms={}", d.as_millis()),
            None => Ok(()),
        };
        match self {
            Fault::DisconnectAfterBytes { bytes, back_after } => {
                write!(f, "disconnect-after-bytes={bytes}")?;
                back(f, back_after)
            }
            Fault::DisconnectAtPercent {
                percent,
                back_after,
            } => {
                write!(f, "disconnect-at-percent={percent}")?;
                back(f, back_after)
            }
            Fault::StallAfterBytes { bytes, stall } => {
                write!(f, "stall-after-bytes={bytes},ms={}", stall.as_millis())
            }
            Fault::Flap { times } => write!(f, "flap={times}"),
            Fault::SlowLink { mb_per_s } => write!(f, "slow-mbps={mb_per_s}"),
            Fault::HostilePaths => write!(f, "hostile=paths"),
            Fault::RevokeAuthAfterBytes { bytes } => write!(f, "revoke-auth-after-bytes={bytes}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_spec_parses_and_prints_back() {
        for spec in [
            "disconnect-after-bytes=1000",
            "disconnect-after-bytes=1000,back-after-ms=500",
            "disconnect-at-percent=50",
            "disconnect-at-percent=50,back-after-ms=2000",
            "stall-after-bytes=10,ms=3000",
            "flap=3",
            "slow-mbps=20",
            "hostile=paths",
            "revoke-auth-after-bytes=4096",
        ] {
            let fault: Fault = spec.parse().unwrap();
            assert_eq!(fault.to_string(), spec);
        }
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        for (spec, reason) in [
            ("explode=1", "unknown fault"),
            ("flap", "not key=value"),
            ("flap=x", "whole number"),
            ("stall-after-bytes=10", "needs ,ms=M"),
            ("disconnect-at-percent=101", "at most 100"),
            ("flap=2,back-after-ms=10", "does not go with flap"),
            ("hostile=everything", "hostile=paths"),
            ("slow-mbps=0", "at least 1"),
        ] {
            let err = spec.parse::<Fault>().unwrap_err();
            assert!(err.to_string().contains(reason), "{spec}: {err}");
        }
    }

    #[test]
    fn back_after_and_rate() {
        let f: Fault = "disconnect-after-bytes=5,back-after-ms=250"
            .parse()
            .unwrap();
        assert_eq!(f.back_after(), Some(Duration::from_millis(250)));
        let f: Fault = "slow-mbps=3".parse().unwrap();
        assert_eq!(f.rate_limit_bytes_per_s(), Some(3_000_000));
    }
}
