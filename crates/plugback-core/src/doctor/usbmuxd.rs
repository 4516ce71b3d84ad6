//! usbmuxd, the service through which Plugback reaches iPhones: installed, running (its
//! socket accepts) and reachable (it answers a device list).

use super::bounded::run_program;
use super::{Check, DoctorEnv, stopped};
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::ios::{
    self, ADDRESS_VARIABLE, MuxAddress, Usbmuxd, linux_advice, usbmuxd_advice,
};
use crate::finding::{Finding, Severity};
use crate::program::find_program;
use std::path::PathBuf;

const INSTALLED: (&str, &str) = ("usbmuxd-installed", "usbmuxd installed");
const RUNNING: (&str, &str) = ("usbmuxd-running", "usbmuxd running");
const REACHABLE: (&str, &str) = ("usbmuxd-reachable", "usbmuxd reachable");

/// What answered at usbmuxd's address.
enum Answer {
    /// usbmuxd listed this many iPhones.
    Listed(usize),
    /// Nothing accepts connections there.
    NotRunning(String),
    /// Something accepts, but does not answer as usbmuxd in time.
    Silent(String),
    Cancelled,
}

/// The three usbmuxd checks. `iphone_on_usb`: an iPhone is plugged in, so a usbmuxd that
/// is not running is a problem now rather than normal (Linux starts it on demand).
pub fn check(env: &DoctorEnv, iphone_on_usb: bool, cancel: &CancelToken) -> Vec<Check> {
    let (address, overridden) = match &env.usbmuxd_address {
        Some(text) => match MuxAddress::parse(text) {
            Ok(address) => (address, true),
            Err(e) => return vec![invalid_address(text, &e)],
        },
        None => (MuxAddress::system_default(), false),
    };
    let answer = ask(&address, env, cancel);
    let program = installed(env, cancel);
    let mut checks = vec![installed_check(&program, overridden, &address, &answer)];
    checks.push(running_check(
        &address,
        overridden,
        &answer,
        program.is_present(),
        iphone_on_usb,
    ));
    match &answer {
        Answer::Listed(count) => checks.push(Check::ok(
            REACHABLE.0,
            REACHABLE.1,
            format!(
                "answered at {address}: {count} iPhone{} connected",
                if *count == 1 { "" } else { "s" }
            ),
        )),
        Answer::Silent(why) => checks.push(Check::found(
            REACHABLE.0,
            REACHABLE.1,
            Finding::new(
                "doctor-usbmuxd-unreachable",
                Severity::Problem,
                format!(
                    "something accepts connections at {address} but does not answer as \
                     usbmuxd: {why}"
                ),
                restart_advice(overridden),
            ),
        )),
        Answer::NotRunning(_) => {}
        Answer::Cancelled => checks.push(stopped(REACHABLE.0, REACHABLE.1)),
    }
    checks
}

/// Asks usbmuxd for its device list, each step within the probe timeout.
fn ask(address: &MuxAddress, env: &DoctorEnv, cancel: &CancelToken) -> Answer {
    if let MuxAddress::Unix(path) = address
        && !path.exists()
    {
        return Answer::NotRunning(format!("there is no socket at {}", path.display()));
    }
    let mut mux = Usbmuxd::new(address.clone());
    mux.reply_timeout = env.probe_timeout;
    match ios::block_on(ios::list(&mux, cancel)) {
        Ok(phones) => Answer::Listed(phones.len()),
        Err(DeviceError::Cancelled) => Answer::Cancelled,
        Err(DeviceError::UsbmuxdUnavailable { .. }) => Answer::NotRunning(match address {
            MuxAddress::Unix(path) => format!(
                "{} is there, but nothing accepts connections on it (left over from an \
                 earlier run)",
                path.display()
            ),
            MuxAddress::Tcp(addr) => format!("nothing listens on {addr}"),
        }),
        Err(e) => Answer::Silent(e.to_string()),
    }
}

/// Whether the system's usbmuxd is installed, as far as this system lets us tell.
enum Program {
    Found(PathBuf),
    /// Part of the system (macOS).
    BuiltIn,
    /// Windows: the Apple Mobile Device Service is registered.
    Service,
    Missing,
    Cancelled,
}

impl Program {
    fn is_present(&self) -> bool {
        !matches!(self, Program::Missing)
    }
}

fn installed(env: &DoctorEnv, cancel: &CancelToken) -> Program {
    if cfg!(target_os = "macos") {
        return Program::BuiltIn;
    }
    if cfg!(windows) {
        // `sc query` ends with 1060 when no such service is registered.
        let sc = find_program("sc.exe", env.path.as_deref(), &env.system_program_dirs)
            .unwrap_or_else(|| PathBuf::from("sc.exe"));
        return match run_program(
            &sc,
            &["query", "Apple Mobile Device Service"],
            env.program_timeout,
            cancel,
        ) {
            Ok(_) => Program::Service,
            Err(_) if cancel.is_cancelled() => Program::Cancelled,
            Err(_) => Program::Missing,
        };
    }
    match find_program("usbmuxd", env.path.as_deref(), &env.system_program_dirs) {
        Some(path) => Program::Found(path),
        None => Program::Missing,
    }
}

fn installed_check(
    program: &Program,
    overridden: bool,
    address: &MuxAddress,
    answer: &Answer,
) -> Check {
    let (id, name) = INSTALLED;
    let note = if overridden {
        format!(" (not used: {ADDRESS_VARIABLE} names the usbmuxd at {address})")
    } else {
        String::new()
    };
    match program {
        Program::Found(path) => Check::ok(id, name, format!("{}{note}", path.display())),
        Program::BuiltIn => Check::ok(id, name, format!("part of macOS{note}")),
        Program::Service => Check::ok(
            id,
            name,
            format!("the Apple Mobile Device Service is installed{note}"),
        ),
        Program::Cancelled => stopped(id, name),
        Program::Missing if matches!(answer, Answer::Listed(_)) && !overridden => Check::ok(
            id,
            name,
            "not found in the usual folders, but a usbmuxd answers",
        ),
        Program::Missing => Check::found(
            id,
            name,
            Finding::new(
                "doctor-usbmuxd-missing",
                if overridden {
                    Severity::Info
                } else {
                    Severity::Problem
                },
                if overridden {
                    format!(
                        "the system's usbmuxd is not installed; not needed while \
                         {ADDRESS_VARIABLE} names the usbmuxd at {address}"
                    )
                } else if cfg!(windows) {
                    "the Apple Mobile Device Service is not installed".to_owned()
                } else {
                    "usbmuxd is not installed (not on the PATH, nor in /usr/sbin or /sbin)"
                        .to_owned()
                },
                missing_advice(),
            ),
        ),
    }
}

fn running_check(
    address: &MuxAddress,
    overridden: bool,
    answer: &Answer,
    installed: bool,
    iphone_on_usb: bool,
) -> Check {
    let (id, name) = RUNNING;
    let why = match answer {
        Answer::Listed(_) | Answer::Silent(_) => {
            let named = if overridden {
                format!(" (named by {ADDRESS_VARIABLE})")
            } else {
                String::new()
            };
            return Check::ok(id, name, format!("accepts connections at {address}{named}"));
        }
        Answer::Cancelled => return stopped(id, name),
        Answer::NotRunning(why) => why,
    };
    let (severity, message, fix) = if overridden {
        (
            Severity::Problem,
            format!("{why} ({ADDRESS_VARIABLE} names this address)"),
            format!(
                "Start the usbmuxd that {ADDRESS_VARIABLE} names, or unset {ADDRESS_VARIABLE} \
                 to use the system's."
            ),
        )
    } else if cfg!(target_os = "linux") {
        // Debian starts usbmuxd from udev when an iPhone is plugged in, and it stops when
        // the last one leaves: not running with no iPhone around is normal.
        let severity = if iphone_on_usb {
            Severity::Problem
        } else if installed {
            Severity::Info
        } else {
            Severity::Warning
        };
        let mut message = why.clone();
        if !iphone_on_usb && installed {
            message.push_str("; it starts by itself when an iPhone is plugged in");
        }
        (severity, message, sentence(&linux_advice(installed)))
    } else {
        (Severity::Problem, why.clone(), sentence(&usbmuxd_advice()))
    };
    Check::found(
        id,
        name,
        Finding::new("doctor-usbmuxd-not-running", severity, message, fix),
    )
}

fn invalid_address(text: &str, error: &DeviceError) -> Check {
    Check::found(
        RUNNING.0,
        RUNNING.1,
        Finding::new(
            "doctor-usbmuxd-address-invalid",
            Severity::Problem,
            format!("{ADDRESS_VARIABLE}={text:?} is not an address: {error}"),
            format!(
                "Set {ADDRESS_VARIABLE} to host:port or to the path of a socket, or unset it \
                 to use the system's usbmuxd."
            ),
        ),
    )
}

fn missing_advice() -> String {
    if cfg!(target_os = "linux") {
        sentence(&linux_advice(false))
    } else {
        sentence(&usbmuxd_advice())
    }
}

fn restart_advice(overridden: bool) -> String {
    if overridden {
        format!(
            "Check that {ADDRESS_VARIABLE} names a usbmuxd and not another program, or unset \
             it to use the system's."
        )
    } else if cfg!(windows) {
        "Restart the Apple Mobile Device Service (Services, Apple Mobile Device Service, \
         Restart), then try again."
            .to_owned()
    } else if cfg!(target_os = "macos") {
        "Unplug the iPhone and plug it in again; if that does not help, restart the Mac.".to_owned()
    } else {
        "Restart it with `sudo systemctl restart usbmuxd` (or unplug and replug the iPhone), \
         then try again."
            .to_owned()
    }
}

/// The device layer's advice reads as a clause ("usbmuxd is …: do this"); a fix ends as a
/// sentence. Not capitalised: it starts with a program's name.
fn sentence(advice: &str) -> String {
    let mut text = advice.trim().to_owned();
    if !text.is_empty() && !text.ends_with('.') {
        text.push('.');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_becomes_a_sentence() {
        assert_eq!(
            sentence("usbmuxd is off: start it "),
            "usbmuxd is off: start it."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
