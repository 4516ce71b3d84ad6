//! lockdownd's TLS: a rustls server with the certificate the host made for the phone at
//! pairing and the phone's own key.
//!
//! Two things differ from an ordinary TLS server:
//! - the client presents a certificate (libimobiledevice its RootCertificate, idevice its
//!   HostCertificate) that nothing here can verify, so any certificate is accepted;
//! - after StopSession the host sends close_notify and goes on in plaintext on the same
//!   socket. rustls is therefore fed exactly one TLS record at a time from the raw socket,
//!   so it never swallows the plaintext that follows the close_notify.

use crate::iphone::pairing::DeviceIdentity;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{
    DigitallySignedStruct, DistinguishedName, ServerConfig, ServerConnection, SignatureScheme,
};
use std::io::{self, Cursor, Read, Write};
use std::sync::Arc;

/// The largest TLS record body: 2^14 bytes of plaintext plus the most a cipher may add.
const MAX_RECORD_BODY: usize = (1 << 14) + 2048;

/// Why TLS could not start or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("the pairing holds no usable DeviceCertificate: {0}")]
    BadCertificate(String),
    #[error("the device key does not suit TLS: {0}")]
    BadKey(String),
    #[error("TLS: {0}")]
    Protocol(#[from] rustls::Error),
    #[error("the host sent something that is not a TLS record (type {content_type}, length {len})")]
    NotARecord { content_type: u8, len: usize },
    #[error("the connection closed during the TLS handshake")]
    ClosedInHandshake,
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A server configuration for one paired host: its DeviceCertificate and the phone's key.
pub fn server_config(
    identity: &DeviceIdentity,
    device_certificate_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(device_certificate_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::BadCertificate("no PEM certificate in it".into()));
    }
    let der = identity
        .private_key_pkcs1_der()
        .map_err(|e| TlsError::BadKey(e.to_string()))?;
    let key = PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der));
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .map_err(|e| TlsError::BadKey(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(Arc::new(AnyClientCertificate))
        .with_cert_resolver(Arc::new(FixedCertificate(Arc::new(CertifiedKey::new(
            certs, signer,
        )))));
    // Session tickets are records the host never reads; keep the stream to what it expects.
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// Always the one certificate: hosts send SNI "Device" or nothing at all.
#[derive(Debug)]
struct FixedCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Asks for a client certificate and accepts whatever comes: the host's certificates are
/// self-made, and lockdownd trusts the host through the HostID, not through the chain.
#[derive(Debug)]
struct AnyClientCertificate;

impl ClientCertVerifier for AnyClientCertificate {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512,
            SignatureScheme::RSA_PKCS1_SHA1,
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::ED25519,
        ]
    }
}

/// A TLS session over a socket that stays usable in plaintext after the session ends.
pub struct TlsLayer {
    conn: ServerConnection,
    close_notify_seen: bool,
}

impl TlsLayer {
    /// Runs the server side of the handshake on `raw`.
    pub fn accept<S: Read + Write>(
        config: Arc<ServerConfig>,
        raw: &mut S,
    ) -> Result<TlsLayer, TlsError> {
        let mut layer = TlsLayer {
            conn: ServerConnection::new(config)?,
            close_notify_seen: false,
        };
        while layer.conn.is_handshaking() {
            layer.flush(raw)?;
            if !layer.conn.is_handshaking() {
                break;
            }
            if layer.conn.wants_read() && !layer.feed_one_record(raw)? {
                return Err(TlsError::ClosedInHandshake);
            }
        }
        layer.flush(raw)?;
        Ok(layer)
    }

    /// True once the host has ended the TLS session with close_notify.
    pub fn close_notify_seen(&self) -> bool {
        self.close_notify_seen
    }

    /// Pairs the layer with its socket for plain `Read`/`Write`.
    pub fn io<'a, S: Read + Write>(&'a mut self, raw: &'a mut S) -> TlsIo<'a, S> {
        TlsIo { layer: self, raw }
    }

    /// Reads exactly one record from `raw` and hands it to rustls. False at a clean end of
    /// stream before a record starts.
    fn feed_one_record<S: Read + Write>(&mut self, raw: &mut S) -> Result<bool, TlsError> {
        let mut header = [0u8; 5];
        match raw.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        let content_type = header[0];
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        // change_cipher_spec, alert, handshake, application_data, heartbeat; version 3.x.
        if !(20..=24).contains(&content_type) || header[1] != 3 || len > MAX_RECORD_BODY {
            return Err(TlsError::NotARecord { content_type, len });
        }
        let mut record = Vec::with_capacity(5 + len);
        record.extend_from_slice(&header);
        record.resize(5 + len, 0);
        raw.read_exact(&mut record[5..])?;
        let mut cursor = Cursor::new(record.as_slice());
        while (cursor.position() as usize) < record.len() {
            if self.conn.read_tls(&mut cursor)? == 0 {
                break;
            }
        }
        match self.conn.process_new_packets() {
            Ok(state) => {
                if state.peer_has_closed() {
                    self.close_notify_seen = true;
                }
                Ok(true)
            }
            Err(e) => {
                // Send the alert rustls queued, so the host learns why.
                let _ = self.flush(raw);
                Err(e.into())
            }
        }
    }

    fn flush<S: Write>(&mut self, raw: &mut S) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(raw)?;
        }
        raw.flush()
    }
}

/// `Read`/`Write` through a [`TlsLayer`]. A read returns 0 at close_notify or at the end of
/// the socket; [`TlsLayer::close_notify_seen`] tells them apart.
pub struct TlsIo<'a, S> {
    layer: &'a mut TlsLayer,
    raw: &'a mut S,
}

impl<S: Read + Write> Read for TlsIo<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.layer.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.layer.close_notify_seen {
                return Ok(0);
            }
            match self.layer.feed_one_record(self.raw) {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(TlsError::Io(e)) => return Err(e),
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        }
    }
}

impl<S: Read + Write> Write for TlsIo<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.layer.conn.writer().write(buf)?;
        self.layer.flush(self.raw)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.layer.flush(self.raw)
    }
}
