//! The run-time control channel of the simulators: one command a line on stdin, one reply
//! a line on stdout (`ok`, `ok <detail>` or `error <reason>`).
//!
//! | line | effect |
//! |---|---|
//! | `unplug` | the phone leaves the computer: every connection to it drops |
//! | `plug` | the phone comes back |
//! | `trust accept` / `trust deny` | answer the iPhone's "Trust This Computer?" prompt |
//! | `auth accept` / `auth deny` | answer Android's "Allow USB debugging?" prompt |
//! | `battery PCT [charging\|not-charging]` | set the battery level and charging state |
//! | `temperature C` | set the battery temperature in °C (may be fractional) |
//! | `offline` / `online` | Android: the transport goes `offline`, or back |
//! | `confirm-restore [PASSWORD]` / `deny-restore` | Android: answer the on-screen restore confirmation; the rest of the line is the backup password typed on it |
//! | `fault SPEC` | add a fault, in the `--fault` language ([`crate::fault`]) |
//! | `status` | reply `ok` with the phone's state as `key=value` pairs |
//! | `quit` | stop the simulator |
//!
//! Each simulator refuses the commands that do not apply to it with an `error` line. The
//! library handles (`SimIphone`, `SimAndroid`) take the same [`ControlCommand`] values, so
//! tests drive a simulator in-process exactly as a script drives the binary.

use crate::fault::Fault;
use std::io::BufRead;
use std::sync::mpsc;

/// A yes/no answer on a prompt shown on the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Deny,
}

/// One control command.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlCommand {
    Unplug,
    Plug,
    Trust(Answer),
    Auth(Answer),
    Battery {
        percent: u8,
        charging: Option<bool>,
    },
    Temperature {
        celsius: f32,
    },
    Offline,
    Online,
    /// The restore confirmation on an Android phone, with the password typed on it.
    ConfirmRestore {
        answer: Answer,
        password: Option<String>,
    },
    AddFault(Fault),
    Status,
    Quit,
}

/// Why a control line was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ControlParseError(pub String);

impl ControlCommand {
    /// Parses one line of the control language.
    pub fn parse(line: &str) -> Result<Self, ControlParseError> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let err = |msg: String| Err(ControlParseError(msg));
        let answer = |rest: &[&str], verb: &str| match rest {
            ["accept"] => Ok(Answer::Accept),
            ["deny"] => Ok(Answer::Deny),
            _ => Err(ControlParseError(format!("usage: {verb} accept|deny"))),
        };
        let none = |cmd: ControlCommand| {
            if rest.is_empty() {
                Ok(cmd)
            } else {
                err(format!("{verb} takes no arguments"))
            }
        };
        match verb {
            "unplug" => none(ControlCommand::Unplug),
            "plug" => none(ControlCommand::Plug),
            "offline" => none(ControlCommand::Offline),
            "online" => none(ControlCommand::Online),
            "status" => none(ControlCommand::Status),
            "quit" => none(ControlCommand::Quit),
            "confirm-restore" => {
                // The password is the rest of the line as typed, spaces included.
                let typed = line.trim_start()["confirm-restore".len()..]
                    .strip_prefix(' ')
                    .unwrap_or("");
                Ok(ControlCommand::ConfirmRestore {
                    answer: Answer::Accept,
                    password: (!typed.is_empty()).then(|| typed.to_string()),
                })
            }
            "deny-restore" => none(ControlCommand::ConfirmRestore {
                answer: Answer::Deny,
                password: None,
            }),
            "trust" => answer(&rest, verb).map(ControlCommand::Trust),
            "auth" => answer(&rest, verb).map(ControlCommand::Auth),
            "battery" => {
                let usage = "usage: battery PCT [charging|not-charging]";
                let percent = match rest.first().map(|p| p.parse::<u8>()) {
                    Some(Ok(p)) if p <= 100 => p,
                    _ => return err(usage.into()),
                };
                let charging = match rest.get(1..) {
                    Some([]) | None => None,
                    Some(["charging"]) => Some(true),
                    Some(["not-charging"]) => Some(false),
                    _ => return err(usage.into()),
                };
                Ok(ControlCommand::Battery { percent, charging })
            }
            "temperature" => match rest.as_slice() {
                [c] => match c.parse::<f32>() {
                    Ok(celsius) if (-40.0..=120.0).contains(&celsius) => {
                        Ok(ControlCommand::Temperature { celsius })
                    }
                    _ => err("usage: temperature C (between -40 and 120)".into()),
                },
                _ => err("usage: temperature C".into()),
            },
            "fault" => match rest.as_slice() {
                [spec] => spec
                    .parse::<Fault>()
                    .map(ControlCommand::AddFault)
                    .map_err(|e| ControlParseError(e.to_string())),
                _ => err("usage: fault SPEC".into()),
            },
            "" => err("empty command".into()),
            other => err(format!(
                "unknown command {other:?}; known: unplug, plug, trust, auth, battery, \
                 temperature, offline, online, confirm-restore, deny-restore, fault, status, quit"
            )),
        }
    }
}

/// Reads control lines from stdin on a thread of its own. Each parsed command arrives on
/// the returned channel; lines that do not parse are answered `error ...` at once. End of
/// input sends `Quit`, so a simulator started by a script stops with the script.
pub fn spawn_stdin_reader() -> mpsc::Receiver<ControlCommand> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("control-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                match ControlCommand::parse(&line) {
                    Ok(cmd) => {
                        if tx.send(cmd).is_err() {
                            return;
                        }
                    }
                    Err(e) => println!("error {e}"),
                }
            }
            let _ = tx.send(ControlCommand::Quit);
        })
        .expect("spawning a thread only fails when the process is out of resources");
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(ControlCommand::parse("unplug"), Ok(ControlCommand::Unplug));
        assert_eq!(
            ControlCommand::parse("trust deny"),
            Ok(ControlCommand::Trust(Answer::Deny))
        );
        assert_eq!(
            ControlCommand::parse("battery 42 charging"),
            Ok(ControlCommand::Battery {
                percent: 42,
                charging: Some(true)
            })
        );
        assert_eq!(
            ControlCommand::parse("temperature 41.5"),
            Ok(ControlCommand::Temperature { celsius: 41.5 })
        );
        assert_eq!(
            ControlCommand::parse("confirm-restore correct horse"),
            Ok(ControlCommand::ConfirmRestore {
                answer: Answer::Accept,
                password: Some("correct horse".into())
            })
        );
        assert_eq!(
            ControlCommand::parse("confirm-restore"),
            Ok(ControlCommand::ConfirmRestore {
                answer: Answer::Accept,
                password: None
            })
        );
        assert_eq!(
            ControlCommand::parse("fault flap=2"),
            Ok(ControlCommand::AddFault(Fault::Flap { times: 2 }))
        );
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            ("battery 101", "usage: battery"),
            ("trust maybe", "usage: trust"),
            ("unplug now", "takes no arguments"),
            ("fault boom=1", "unknown fault"),
            ("dance", "unknown command"),
        ] {
            let e = ControlCommand::parse(line).unwrap_err();
            assert!(e.0.contains(why), "{line}: {e}");
        }
    }
}
