//! The start of a mobilebackup2 session: DeviceLink's version exchange, mobilebackup2's
//! Hello, then the Restore request.

use super::super::RestoreError;
use super::options::IosRestoreOptions;
use super::wire::{Wire, protocol};
use plist::{Dictionary, Value};
use std::time::Duration;

/// The newest DeviceLink major version Plugback speaks (what libimobiledevice announces).
const DEVICELINK_MAJOR: u64 = 400;
/// The mobilebackup2 protocol versions Plugback offers.
const PROTOCOL_VERSIONS: [f64; 2] = [2.0, 2.1];

/// Version exchange and Hello; each answer is awaited for at most `step`.
pub(super) async fn handshake(wire: &mut Wire, step: Duration) -> Result<(), RestoreError> {
    let exchange = wire.receive(step).await?;
    if exchange.name != "DLMessageVersionExchange" {
        return Err(protocol(format!(
            "expected DLMessageVersionExchange, got {}",
            exchange.name
        )));
    }
    let major = exchange.item(1).and_then(Value::as_unsigned_integer);
    match major {
        Some(major) if major <= DEVICELINK_MAJOR => {}
        other => {
            return Err(protocol(format!(
                "the phone speaks DeviceLink version {other:?}; Plugback knows up to {DEVICELINK_MAJOR}"
            )));
        }
    }
    wire.send(vec![
        Value::String("DLMessageVersionExchange".into()),
        Value::String("DLVersionsOk".into()),
        Value::Integer(DEVICELINK_MAJOR.into()),
    ])
    .await?;
    let ready = wire.receive(step).await?;
    if ready.name != "DLMessageDeviceReady" {
        return Err(protocol(format!(
            "expected DLMessageDeviceReady, got {}",
            ready.name
        )));
    }

    let mut hello = Dictionary::new();
    hello.insert("MessageName".into(), Value::String("Hello".into()));
    hello.insert(
        "SupportedProtocolVersions".into(),
        Value::Array(PROTOCOL_VERSIONS.iter().map(|v| Value::Real(*v)).collect()),
    );
    wire.send_request(hello).await?;
    let reply = wire.receive(step).await?;
    let dict = reply
        .item(1)
        .and_then(Value::as_dictionary)
        .filter(|_| reply.name == "DLMessageProcessMessage")
        .ok_or_else(|| protocol(format!("expected the answer to Hello, got {}", reply.name)))?;
    match error_code(dict) {
        Some(0) | None => {}
        Some(code) => {
            return Err(protocol(format!(
                "the phone shares no mobilebackup2 version with Plugback (error {code})"
            )));
        }
    }
    if dict
        .get("ProtocolVersion")
        .and_then(Value::as_real)
        .is_none()
    {
        return Err(protocol("the answer to Hello names no protocol version"));
    }
    Ok(())
}

/// `Restore`: the phone restores the backup `source` (a folder name under the backup root)
/// onto itself (`udid`).
pub(super) async fn request_restore(
    wire: &mut Wire,
    udid: &str,
    source: &str,
    options: &IosRestoreOptions,
) -> Result<(), RestoreError> {
    let mut request = Dictionary::new();
    request.insert("MessageName".into(), Value::String("Restore".into()));
    request.insert("TargetIdentifier".into(), Value::String(udid.to_owned()));
    request.insert("SourceIdentifier".into(), Value::String(source.to_owned()));
    request.insert(
        "Options".into(),
        Value::Dictionary(options.request_options()),
    );
    let mut message = Value::Array(vec![
        Value::String("DLMessageProcessMessage".into()),
        Value::Dictionary(request),
    ]);
    let sent = wire.send_value(&message).await;
    wipe_password(&mut message);
    sent
}

/// Overwrites the password's copy in the request before it is dropped.
fn wipe_password(message: &mut Value) {
    let password = message
        .as_array_mut()
        .and_then(|items| items.get_mut(1))
        .and_then(Value::as_dictionary_mut)
        .and_then(|request| request.get_mut("Options"))
        .and_then(Value::as_dictionary_mut)
        .and_then(|options| options.get_mut("Password"));
    if let Some(Value::String(text)) = password {
        zeroize::Zeroize::zeroize(text);
    }
}

/// The `ErrorCode` of a mobilebackup2 answer, signed (phones write it unsigned; negative
/// values arrive as huge unsigned ones from some hosts, never from a phone).
pub(super) fn error_code(dict: &Dictionary) -> Option<i64> {
    let value = dict.get("ErrorCode")?;
    value
        .as_signed_integer()
        .or_else(|| value.as_unsigned_integer().map(|u| u as i64))
        .or_else(|| value.as_real().map(|r| r as i64))
}
