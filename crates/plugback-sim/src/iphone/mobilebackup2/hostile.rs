//! `--fault hostile=paths`: the phone misbehaves on purpose, to prove that a host keeps
//! its files to itself. Its first DownloadFiles batch also asks for paths outside the
//! backup; then it sends one oversized frame. What the host did with each is written to
//! `DATA/hostile-report.json`, and the connection is closed (the stream is no longer in
//! step after the oversized frame).
//!
//! The requests, in this order (libimobiledevice stops a batch at its first failed file,
//! so the ones a careless host answers come first), relative to the backup root (the folder that holds `<SRC>/`):
//! - `<SRC>/../../plugback-hostile-parent`: up out of the backup root;
//! - `<SRC>/plugback-hostile-link`: a name a test can make a symbolic link that leaves the
//!   backup (the phone cannot create links on the computer, so it just asks);
//! - `/etc/hostname`: an absolute path;
//! - `<SRC>/` followed by 5000 × `A`: a name longer than any path the host should open.

use super::Mobilebackup2Error;
use super::devicelink::StatusResponse;
use super::link::{Link, Quiet};
use crate::iphone::Phone;
use serde_json::json;
use std::io::{self, Read, Write};
use std::time::Duration;

/// The file name a test places above the backup root to see whether a host leaks it.
pub const PARENT_NAME: &str = "plugback-hostile-parent";
/// The name under `<SRC>/` a test can make a symbolic link to a file outside the backup.
pub const LINK_NAME: &str = "plugback-hostile-link";
pub const REPORT_NAME: &str = "hostile-report.json";
/// What the oversized frame announces: far beyond any plist a phone sends.
const OVERSIZED_LEN: u32 = 0xFFFF_FF00;
/// How long the phone watches for the host's reaction to the oversized frame.
const WATCH: Duration = Duration::from_secs(10);

pub(crate) struct Request {
    pub kind: &'static str,
    pub path: String,
}

pub(crate) fn requests(source: &str) -> Vec<Request> {
    vec![
        Request {
            kind: "parent-directory",
            path: format!("{source}/../../{PARENT_NAME}"),
        },
        Request {
            kind: "symlink-out",
            path: format!("{source}/{LINK_NAME}"),
        },
        Request {
            kind: "absolute",
            path: "/etc/hostname".to_string(),
        },
        Request {
            kind: "overlong-name",
            path: format!("{source}/{}", "A".repeat(5000)),
        },
    ]
}

/// What the host did with one hostile request.
pub(crate) struct Observed {
    pub request: Request,
    pub answered: bool,
    pub bytes: u64,
    pub host_error: Option<String>,
}

impl Observed {
    pub(crate) fn new(request: &Request) -> Observed {
        Observed {
            request: Request {
                kind: request.kind,
                path: request.path.clone(),
            },
            answered: false,
            bytes: 0,
            host_error: None,
        }
    }

    fn outcome(&self) -> &'static str {
        match (self.answered, &self.host_error) {
            (false, _) => "not answered",
            (true, Some(_)) => "refused",
            // Success with no data is what a host sends for an empty file: it opened it.
            (true, None) => "sent",
        }
    }
}

/// Writes the report, sends the oversized frame, records the host's reaction.
pub(crate) fn finish<S: Read + Write>(
    link: &mut Link<'_, S>,
    phone: &Phone,
    observed: &[Observed],
    status: Option<&StatusResponse>,
) -> Result<(), Mobilebackup2Error> {
    let requests: Vec<_> = observed
        .iter()
        .map(|o| {
            json!({
                "kind": o.request.kind,
                // The over-long name is shortened in the report; its length says enough.
                "path": if o.request.path.len() > 200 {
                    format!("{}… ({} bytes)", &o.request.path[..64], o.request.path.len())
                } else {
                    o.request.path.clone()
                },
                "outcome": o.outcome(),
                "bytes_sent": o.bytes,
                "host_error": o.host_error,
            })
        })
        .collect();
    let mut report = json!({
        "requests": requests,
        "status_code": status.map(|s| s.code),
        "oversized_frame": { "announced_bytes": OVERSIZED_LEN, "outcome": "not sent" },
    });
    write_report(phone, &report)?;

    let reaction = if status.is_none() {
        "not sent: the exchange had already broken down"
    } else {
        let mut frame = OVERSIZED_LEN.to_be_bytes().to_vec();
        frame.extend_from_slice(b"bplist00");
        frame.extend(std::iter::repeat_n(b'A', 1024));
        match link.write_all(&frame).and_then(|()| link.flush()) {
            Err(_) => "host closed the connection",
            Ok(()) => {
                link.set_quiet(Quiet::GiveUpAfter(WATCH));
                match link.ensure(link.buffered().len() + 1) {
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                        "host kept the connection open (still reading the frame?)"
                    }
                    Err(_) => "host closed the connection",
                    Ok(()) => "host answered with more data",
                }
            }
        }
    };
    report["oversized_frame"]["outcome"] = json!(reaction);
    write_report(phone, &report)?;
    eprintln!("plugback-sim: hostile run finished; report in {REPORT_NAME}");
    Ok(())
}

fn write_report(phone: &Phone, report: &serde_json::Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    std::fs::write(phone.data_dir().join(REPORT_NAME), text)
}
