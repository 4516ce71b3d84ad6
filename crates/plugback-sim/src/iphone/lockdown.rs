//! lockdownd on port 62078: device values, pairing (the trust prompt), sessions with TLS,
//! and starting services.
//!
//! Every reply echoes the request's `Request`; errors are `{Request, Error: <name>}` with
//! the names real phones use (`GetProhibited`, `InvalidHostID`, `SessionInactive`,
//! `PairingDialogResponsePending`, `UserDeniedPairing`, `PasswordProtected`,
//! `InvalidService`, `MissingValue`, …).

use crate::iphone::Phone;
use crate::iphone::device_values;
use crate::iphone::pairing::PairingError;
use crate::iphone::phone::{PairDecision, ServiceContext, ServiceKind};
use crate::iphone::plist_frame::{FrameError, MAX_PLIST_FRAME, read_plist, write_xml_plist};
use crate::iphone::socket::MuxStream;
use crate::iphone::tls::{self, TlsError, TlsLayer};
use plist::{Dictionary, Value};
use rustls::ServerConfig;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// lockdownd's port on every iPhone.
pub const LOCKDOWN_PORT: u16 = 62078;

/// A host may hold a lockdown connection open while it works; past this it is gone.
const IDLE_LIMIT: Duration = Duration::from_secs(10 * 60);

/// Lockdown requests are small; a pair record with certificates is a few KiB.
const MAX_REQUEST: u32 = 1024 * 1024;

/// Why a lockdown connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum LockdownError {
    #[error("lockdownd: {0}")]
    Frame(#[from] FrameError),
    #[error("lockdownd: the host sent a message without a Request")]
    NoRequest,
    #[error("lockdownd: TLS: {0}")]
    Tls(#[from] TlsError),
    #[error("lockdownd: {0}")]
    Io(#[from] io::Error),
}

struct Session {
    id: String,
    host_id: String,
}

/// What to do once a reply is sent.
enum Then {
    Continue,
    StartTls(Arc<ServerConfig>),
    Close,
}

struct Connection<'a> {
    phone: &'a Phone,
    raw: MuxStream,
    tls: Option<TlsLayer>,
    session: Option<Session>,
}

/// Serves one lockdown connection until the host closes it.
pub fn serve(raw: MuxStream, phone: &Phone) -> Result<(), LockdownError> {
    let max = MAX_REQUEST.min(MAX_PLIST_FRAME);
    raw.set_read_timeout(Some(IDLE_LIMIT))?;
    let mut conn = Connection {
        phone,
        raw,
        tls: None,
        session: None,
    };
    loop {
        let Some(request) = conn.read_request(max)? else {
            return Ok(());
        };
        let (reply, then) = conn.handle(request)?;
        conn.send(&Value::Dictionary(reply))?;
        match then {
            Then::Continue => {}
            Then::StartTls(config) => {
                conn.tls = Some(TlsLayer::accept(config, &mut conn.raw)?);
            }
            Then::Close => return Ok(()),
        }
    }
}

impl Connection<'_> {
    /// The next request; None when the host has closed the connection.
    fn read_request(&mut self, max: u32) -> Result<Option<Dictionary>, LockdownError> {
        loop {
            let read = match &mut self.tls {
                Some(layer) => read_plist(&mut layer.io(&mut self.raw), max),
                None => read_plist(&mut self.raw, max),
            };
            match read {
                Ok(Value::Dictionary(d)) => return Ok(Some(d)),
                Ok(_) => return Err(LockdownError::NoRequest),
                Err(FrameError::Closed) => {
                    // After StopSession the host ends TLS with close_notify and goes on in
                    // plaintext on the same socket.
                    if self.tls.as_ref().is_some_and(TlsLayer::close_notify_seen) {
                        self.tls = None;
                        continue;
                    }
                    return Ok(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn send(&mut self, reply: &Value) -> io::Result<()> {
        match &mut self.tls {
            Some(layer) => write_xml_plist(&mut layer.io(&mut self.raw), reply),
            None => write_xml_plist(&mut self.raw, reply),
        }
    }

    fn handle(&mut self, request: Dictionary) -> Result<(Dictionary, Then), LockdownError> {
        let Some(name) = request
            .get("Request")
            .and_then(Value::as_string)
            .map(str::to_string)
        else {
            return Err(LockdownError::NoRequest);
        };
        let mut reply = Dictionary::new();
        reply.insert("Request".into(), name.clone().into());
        let then = match name.as_str() {
            "QueryType" => {
                reply.insert("Type".into(), "com.apple.mobile.lockdown".into());
                Then::Continue
            }
            "GetValue" => {
                self.get_value(&request, &mut reply);
                Then::Continue
            }
            "SetValue" => fail(&mut reply, "SetProhibited"),
            "RemoveValue" => fail(&mut reply, "RemoveProhibited"),
            "Pair" => {
                self.pair(&request, &mut reply);
                Then::Continue
            }
            "ValidatePair" => {
                match host_id_of(&request) {
                    Some(host) if self.is_paired(&host) => {}
                    _ => {
                        fail(&mut reply, "InvalidHostID");
                    }
                }
                Then::Continue
            }
            "Unpair" => {
                match host_id_of(&request) {
                    Some(host) => {
                        if let Err(e) = self.phone.pairings().remove(&host) {
                            eprintln!("plugback-sim: lockdownd: {e}");
                        }
                    }
                    None => {
                        fail(&mut reply, "MissingHostID");
                    }
                }
                Then::Continue
            }
            "StartSession" => self.start_session(&request, &mut reply),
            "StopSession" => {
                let asked = request.get("SessionID").and_then(Value::as_string);
                match &self.session {
                    None => {
                        fail(&mut reply, "SessionInactive");
                    }
                    Some(session) if asked.is_some_and(|id| id != session.id) => {
                        fail(&mut reply, "InvalidSessionID");
                    }
                    Some(_) => self.session = None,
                }
                // TLS stays on until the host's close_notify (see `read_request`).
                Then::Continue
            }
            "StartService" => {
                self.start_service(&request, &mut reply);
                Then::Continue
            }
            "Goodbye" => Then::Close,
            _ => fail(&mut reply, "InvalidRequest"),
        };
        Ok((reply, then))
    }

    fn is_paired(&self, host_id: &str) -> bool {
        match self.phone.pairings().load(host_id) {
            Ok(found) => found.is_some(),
            Err(e) => {
                eprintln!("plugback-sim: lockdownd: {e}");
                false
            }
        }
    }

    fn get_value(&self, request: &Dictionary, reply: &mut Dictionary) {
        let key = request.get("Key").and_then(Value::as_string);
        let domain = request.get("Domain").and_then(Value::as_string);
        if let Some(key) = key {
            reply.insert("Key".into(), key.into());
        }
        if let Some(domain) = domain {
            reply.insert("Domain".into(), domain.into());
        }
        let config = self.phone.config();
        let value = match domain {
            None => {
                let public_key = match self.phone.identity() {
                    Ok(identity) => Some(identity.public_key_pem().to_vec()),
                    Err(e) => {
                        eprintln!("plugback-sim: lockdownd: {e}");
                        None
                    }
                };
                let mut general = device_values::general_domain(&config, public_key.as_deref());
                if self.session.is_none() {
                    if key.is_some_and(|k| !device_values::PRE_SESSION_KEYS.contains(&k)) {
                        fail(reply, "GetProhibited");
                        return;
                    }
                    general = device_values::pre_session_values(&general);
                }
                match key {
                    None => Some(Value::Dictionary(general)),
                    Some(key) => general.get(key).cloned(),
                }
            }
            Some(domain) => {
                if self.session.is_none() {
                    fail(reply, "GetProhibited");
                    return;
                }
                let values =
                    device_values::named_domain(&config, self.phone.will_encrypt(), domain)
                        .unwrap_or_default();
                match key {
                    None => Some(Value::Dictionary(values)),
                    Some(key) => values.get(key).cloned(),
                }
            }
        };
        match value {
            Some(value) => {
                reply.insert("Value".into(), value);
            }
            None => {
                fail(reply, "MissingValue");
            }
        }
    }

    fn pair(&self, request: &Dictionary, reply: &mut Dictionary) {
        let Some(record) = request.get("PairRecord").and_then(Value::as_dictionary) else {
            fail(reply, "InvalidPairRecord");
            return;
        };
        let complete = record.get("HostID").and_then(Value::as_string).is_some()
            && record
                .get("DeviceCertificate")
                .and_then(Value::as_data)
                .is_some();
        if !complete {
            fail(reply, "InvalidPairRecord");
            return;
        }
        let host_id = record
            .get("HostID")
            .and_then(Value::as_string)
            .unwrap_or_default();
        let already = self.is_paired(host_id);
        match self.phone.decide_pairing(already) {
            PairDecision::Trust => match self.phone.pairings().store(record) {
                Ok(pairing) => {
                    reply.insert("EscrowBag".into(), Value::Data(pairing.escrow_bag));
                }
                Err(e @ (PairingError::BadHostId(_) | PairingError::MissingField(_))) => {
                    eprintln!("plugback-sim: lockdownd: refusing a pair record: {e}");
                    fail(reply, "InvalidPairRecord");
                }
                Err(e) => {
                    eprintln!("plugback-sim: lockdownd: could not keep the pairing: {e}");
                    fail(reply, "SavePairRecordFailed");
                }
            },
            PairDecision::Pending => {
                fail(reply, "PairingDialogResponsePending");
            }
            PairDecision::Deny => {
                fail(reply, "UserDeniedPairing");
            }
            PairDecision::PasswordProtected => {
                fail(reply, "PasswordProtected");
            }
        }
    }

    fn start_session(&mut self, request: &Dictionary, reply: &mut Dictionary) -> Then {
        if self.session.is_some() || self.tls.is_some() {
            return fail(reply, "SessionActive");
        }
        let Some(host_id) = request.get("HostID").and_then(Value::as_string) else {
            return fail(reply, "MissingHostID");
        };
        let pairing = match self.phone.pairings().load(host_id) {
            Ok(Some(pairing)) => pairing,
            Ok(None) => return fail(reply, "InvalidHostID"),
            Err(e) => {
                eprintln!("plugback-sim: lockdownd: {e}");
                return fail(reply, "InvalidHostID");
            }
        };
        let config = self
            .phone
            .identity()
            .map_err(|e| e.to_string())
            .and_then(|identity| {
                tls::server_config(&identity, &pairing.device_certificate_pem)
                    .map_err(|e| e.to_string())
            });
        let config = match config {
            Ok(config) => config,
            Err(e) => {
                eprintln!("plugback-sim: lockdownd: cannot start TLS for host {host_id}: {e}");
                return fail(reply, "InvalidPairRecord");
            }
        };
        let session = Session {
            id: new_uuid(),
            host_id: host_id.to_string(),
        };
        reply.insert("SessionID".into(), session.id.clone().into());
        reply.insert("EnableSessionSSL".into(), true.into());
        self.session = Some(session);
        Then::StartTls(config)
    }

    fn start_service(&self, request: &Dictionary, reply: &mut Dictionary) {
        let Some(session) = &self.session else {
            fail(reply, "SessionInactive");
            return;
        };
        let Some(name) = request.get("Service").and_then(Value::as_string) else {
            fail(reply, "MissingService");
            return;
        };
        reply.insert("Service".into(), name.into());
        let Some(kind) = ServiceKind::from_name(name) else {
            fail(reply, "InvalidService");
            return;
        };
        let context = ServiceContext {
            escrow_bag_given: request.get("EscrowBag").and_then(Value::as_data).is_some(),
            host_id: session.host_id.clone(),
        };
        let port = self.phone.start_service(kind, context);
        reply.insert("Port".into(), Value::Integer(u64::from(port).into()));
        reply.insert("EnableServiceSSL".into(), false.into());
    }
}

/// Adds `Error: name` to the reply; the connection goes on.
fn fail(reply: &mut Dictionary, name: &str) -> Then {
    reply.insert("Error".into(), name.into());
    Then::Continue
}

/// The HostID of a ValidatePair/Unpair: inside `PairRecord`, or at the top level.
fn host_id_of(request: &Dictionary) -> Option<String> {
    request
        .get("PairRecord")
        .and_then(Value::as_dictionary)
        .and_then(|r| r.get("HostID"))
        .or_else(|| request.get("HostID"))
        .and_then(Value::as_string)
        .map(str::to_string)
}

/// A random version-4 UUID in the upper-case form Apple uses.
pub(crate) fn new_uuid() -> String {
    let bytes: [u8; 16] = rand::random();
    let mut b = bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
