//! `plugback devices [--json] [--watch]`: the phones plugged into this computer, both
//! platforms, with identity, state, battery, storage and link.

use super::output::{outln, print_error, print_json};
use super::{EXIT_CANNOT_RUN, EXIT_OK};
use plugback_core::cancel::CancelToken;
use plugback_core::device::snapshot::{self, Snapshot, Sources};
use plugback_core::device::usb::{Presence, UsbEvent};
use plugback_core::device::watcher::{WatchEvent, WatcherThread};
use plugback_core::device::{Device, DeviceEvent, Platform};
use plugback_core::explain;
use serde_json::{Value, json};

#[derive(clap::Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON: one document, or with --watch one event a line.
    #[arg(long)]
    pub json: bool,
    /// Keep watching, and print each phone as it is plugged in, changes or leaves.
    #[arg(long)]
    pub watch: bool,
}

pub fn run(args: &DevicesArgs) -> i32 {
    if args.watch {
        return watch(args.json);
    }
    print_snapshot(
        &snapshot::snapshot(&Sources::from_env(), &CancelToken::new()),
        args.json,
    )
}

/// Follows the engine's one stream of phone events until interrupted.
fn watch(json: bool) -> i32 {
    let watcher = match WatcherThread::start(Sources::from_env()) {
        Ok(watcher) => watcher,
        Err(err) => {
            print_error("device-io", &format!("cannot start watching: {err}"));
            return EXIT_CANNOT_RUN;
        }
    };
    for event in watcher.events() {
        print_watch_event(&event, json);
    }
    EXIT_OK
}

fn print_watch_event(event: &WatchEvent, json: bool) {
    match event {
        WatchEvent::Device(event) => print_event(event, json),
        WatchEvent::SourceDown { platform, error } => {
            if json {
                print_json_line(&json!({
                    "event": "unavailable",
                    "platform": platform,
                    "code": error.code(),
                    "message": error.to_string(),
                    "fix": explain::explain(error.code()).map(|e| e.what_to_do),
                }));
            } else {
                print_error(
                    error.code(),
                    &format!("{} cannot be seen: {error}", platform_phones(*platform)),
                );
            }
        }
        WatchEvent::SourceUp { platform } => {
            if json {
                print_json_line(&json!({"event": "available", "platform": platform}));
            } else {
                outln!("{} can be seen again.", platform_phones(*platform));
            }
        }
        // Phones the transports cannot reach are told about; the others arrive as devices.
        WatchEvent::Usb(UsbEvent::Attached(phone)) => {
            let Some(code) = phone.kind.problem_code() else {
                return;
            };
            let fix = explain::explain(code).map(|e| e.what_to_do);
            if json {
                print_json_line(&json!({
                    "event": "usb-attached",
                    "platform": phone.platform(),
                    "maker": phone.maker,
                    "location": phone.location(),
                    "code": code,
                    "fix": fix,
                }));
            } else {
                outln!(
                    "on USB: a {} phone at {} that Plugback cannot reach yet ({code})",
                    phone.maker.unwrap_or("phone"),
                    phone.location()
                );
                if let Some(fix) = fix {
                    outln!("    {fix}");
                }
            }
        }
        WatchEvent::Usb(UsbEvent::Detached(_)) => {}
    }
}

fn platform_phones(platform: Platform) -> &'static str {
    match platform {
        Platform::Ios => "iPhones",
        Platform::Android => "Android phones",
    }
}

/// One JSON document a line, as a stream reader wants it (not pretty-printed).
fn print_json_line(value: &Value) {
    outln!("{value}");
}

fn print_snapshot(snap: &Snapshot, json: bool) -> i32 {
    let everything_failed = snap.unavailable.len() == 2;
    if json {
        print_json(&json!({
            "devices": snap.devices.iter().map(device_json).collect::<Vec<_>>(),
            "unavailable": snap.unavailable.iter().map(|(platform, err)| json!({
                "platform": platform,
                "code": err.code(),
                "message": err.to_string(),
                "fix": explain::explain(err.code()).map(|e| e.what_to_do),
            })).collect::<Vec<_>>(),
            "usb": match &snap.usb {
                Some(Presence::Unavailable { reason }) => json!({
                    "available": false,
                    "code": "usb-unavailable",
                    "reason": reason,
                }),
                _ => json!({"available": true}),
            },
        }));
    } else {
        if snap.devices.is_empty() {
            outln!("No phone is connected.");
        }
        for device in &snap.devices {
            outln!("{}", one_line(device));
            if let Some(entry) = explain::explain(device.state.code())
                && device.state.code() != "device-ready"
            {
                outln!("    {}", entry.what_to_do);
            }
        }
        for (platform, err) in &snap.unavailable {
            print_error(
                err.code(),
                &format!("{} cannot be seen: {err}", platform_phones(*platform)),
            );
        }
    }
    if everything_failed {
        EXIT_CANNOT_RUN
    } else {
        EXIT_OK
    }
}

fn print_event(event: &DeviceEvent, json: bool) {
    let (kind, device, id) = match event {
        DeviceEvent::Attached(d) => ("attached", Some(d), d.id.as_str()),
        DeviceEvent::Changed(d) => ("changed", Some(d), d.id.as_str()),
        DeviceEvent::Detached { id, .. } => ("detached", None, id.as_str()),
    };
    if json {
        print_json_line(&json!({
            "event": kind,
            "id": id,
            "device": device.map(device_json),
        }));
    } else {
        match device {
            Some(d) => outln!("{kind}: {}", one_line(d)),
            None => outln!("{kind}: {id}"),
        }
    }
}

/// The JSON shape scripts rely on.
fn device_json(d: &Device) -> Value {
    json!({
        "id": d.id,
        "platform": d.platform,
        "name": d.name,
        "model": d.model,
        "os_version": d.os_version,
        "sdk": d.sdk,
        "state": d.state.name(),
        "battery": {
            "level": d.battery.level,
            "charging": d.battery.charging,
            "temperature_c": d.battery.temperature_c,
        },
        "storage": {
            "free_bytes": d.storage.free_bytes,
            "total_bytes": d.storage.total_bytes,
        },
        "link": {
            "speed_mbps": d.link.speed_mbps,
            "via_hub": d.link.via_hub,
        },
    })
}

fn one_line(d: &Device) -> String {
    let platform = match d.platform {
        Platform::Ios => "iPhone",
        Platform::Android => "Android",
    };
    let mut parts = vec![format!(
        "{} ({platform}{})",
        d.name.as_deref().or(d.model.as_deref()).unwrap_or(&d.id),
        d.os_version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default()
    )];
    parts.push(d.state.name().to_string());
    if let Some(level) = d.battery.level {
        let charging = if d.battery.charging == Some(true) {
            ", charging"
        } else {
            ""
        };
        parts.push(format!("battery {level}%{charging}"));
    }
    if let Some(free) = d.storage.free_bytes {
        parts.push(format!("{} free", crate::text::human_bytes(free)));
    }
    if let Some(speed) = d.link.speed_mbps {
        parts.push(format!("{speed} Mb/s"));
    }
    format!("{}  {}", d.id, parts.join(", "))
}
