//! DeviceLink, the message layer under mobilebackup2: arrays whose first item names the
//! message, in binary plists, plus the version handshake.

use super::Mobilebackup2Error;
use super::link::Link;
use crate::iphone::plist_frame::{FrameError, MAX_PLIST_FRAME};
use plist::{Dictionary, Value};
use std::io::{Read, Write};

/// The DeviceLink version the simulated phone announces (what iOS sends).
const DL_MAJOR: u64 = 300;
const DL_MINOR: u64 = 0;
/// The placeholder DeviceLink uses where a parameter is empty.
pub(crate) const EMPTY_PARAMETER: &str = "___EmptyParameterString___";

pub(crate) fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

/// A DeviceLink integer as a signed number: hosts write negative status codes as 8-byte
/// signed integers (idevice) or as 64-bit unsigned ones (libimobiledevice, pymobiledevice3,
/// which a binary plist stores in 16 bytes).
pub(crate) fn signed(value: &Value) -> Option<i64> {
    let integer = value
        .as_signed_integer()
        .map(Some)
        .unwrap_or_else(|| value.as_unsigned_integer().map(|u| u as i64));
    integer.or_else(|| value.as_real().map(|r| r as i64))
}

/// One message from the host: its name and the whole array.
pub(crate) struct DlMessage {
    pub name: String,
    pub items: Vec<Value>,
}

impl DlMessage {
    pub(crate) fn item(&self, index: usize) -> Option<&Value> {
        self.items.get(index)
    }
}

/// The host's answer to a DownloadFiles, UploadFiles or other request.
pub(crate) struct StatusResponse {
    pub code: i64,
    pub message: Option<String>,
    pub detail: Value,
}

pub(crate) fn send<S: Read + Write>(
    link: &mut Link<'_, S>,
    items: Vec<Value>,
) -> std::io::Result<()> {
    link.send_binary_plist(&Value::Array(items))
}

/// Reads one DeviceLink message. A clean close before it is `Ok(None)`.
pub(crate) fn receive<S: Read + Write>(
    link: &mut Link<'_, S>,
) -> Result<Option<DlMessage>, Mobilebackup2Error> {
    let value = match link.read_plist(MAX_PLIST_FRAME) {
        Ok(value) => value,
        Err(FrameError::Closed) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Value::Array(items) = value else {
        return Err(Mobilebackup2Error::Protocol(
            "a DeviceLink message is not an array".into(),
        ));
    };
    let Some(name) = items.first().and_then(Value::as_string).map(str::to_string) else {
        return Err(Mobilebackup2Error::Protocol(
            "a DeviceLink message does not start with its name".into(),
        ));
    };
    Ok(Some(DlMessage { name, items }))
}

/// Reads the host's DLMessageStatusResponse; anything else breaks the protocol.
pub(crate) fn receive_status<S: Read + Write>(
    link: &mut Link<'_, S>,
) -> Result<StatusResponse, Mobilebackup2Error> {
    let message = receive(link)?.ok_or(Mobilebackup2Error::HostClosed)?;
    if message.name != "DLMessageStatusResponse" {
        return Err(Mobilebackup2Error::Protocol(format!(
            "expected DLMessageStatusResponse, got {}",
            message.name
        )));
    }
    let code = message.item(1).and_then(signed).ok_or_else(|| {
        Mobilebackup2Error::Protocol("DLMessageStatusResponse has no integer code".into())
    })?;
    let text = message
        .item(2)
        .and_then(Value::as_string)
        .filter(|s| *s != EMPTY_PARAMETER)
        .map(str::to_string);
    Ok(StatusResponse {
        code,
        message: text,
        detail: message
            .item(3)
            .cloned()
            .unwrap_or(Value::Dictionary(Dictionary::new())),
    })
}

/// DLMessageVersionExchange, DLVersionsOk, DLMessageDeviceReady.
pub(crate) fn handshake<S: Read + Write>(link: &mut Link<'_, S>) -> Result<(), Mobilebackup2Error> {
    send(
        link,
        vec![
            string("DLMessageVersionExchange"),
            Value::from(DL_MAJOR),
            Value::from(DL_MINOR),
        ],
    )?;
    let reply = receive(link)?.ok_or(Mobilebackup2Error::HostClosed)?;
    let ok = reply.name == "DLMessageVersionExchange"
        && reply.item(1).and_then(Value::as_string) == Some("DLVersionsOk");
    if !ok {
        return Err(Mobilebackup2Error::Protocol(
            "the host did not answer the version exchange with DLVersionsOk".into(),
        ));
    }
    send(link, vec![string("DLMessageDeviceReady")])?;
    Ok(())
}

/// `["DLMessageProcessMessage", dict]`.
pub(crate) fn send_process_message<S: Read + Write>(
    link: &mut Link<'_, S>,
    dict: Dictionary,
) -> std::io::Result<()> {
    send(
        link,
        vec![string("DLMessageProcessMessage"), Value::Dictionary(dict)],
    )
}

/// The final answer to a request: `{MessageName:"Response", ErrorCode, ErrorDescription?,
/// Content?}`. ErrorCode is unsigned, as libimobiledevice insists.
pub(crate) fn send_response<S: Read + Write>(
    link: &mut Link<'_, S>,
    code: u64,
    description: Option<&str>,
    content: Option<String>,
) -> std::io::Result<()> {
    let mut dict = Dictionary::new();
    dict.insert("MessageName".into(), string("Response"));
    dict.insert("ErrorCode".into(), Value::from(code));
    if let Some(description) = description {
        dict.insert("ErrorDescription".into(), string(description));
    }
    if let Some(content) = content {
        dict.insert("Content".into(), Value::String(content));
    }
    send_process_message(link, dict)
}

pub(crate) fn send_disconnect<S: Read + Write>(link: &mut Link<'_, S>) -> std::io::Result<()> {
    send(
        link,
        vec![string("DLMessageDisconnect"), string(EMPTY_PARAMETER)],
    )
}

/// The request dictionary of a `DLMessageProcessMessage`, with its MessageName.
pub(crate) fn process_message(
    message: &DlMessage,
) -> Result<(&Dictionary, &str), Mobilebackup2Error> {
    let dict = message
        .item(1)
        .and_then(Value::as_dictionary)
        .ok_or_else(|| {
            Mobilebackup2Error::Protocol("DLMessageProcessMessage carries no dictionary".into())
        })?;
    let name = dict
        .get("MessageName")
        .and_then(Value::as_string)
        .ok_or_else(|| {
            Mobilebackup2Error::Protocol("DLMessageProcessMessage has no MessageName".into())
        })?;
    Ok((dict, name))
}
