//! The phone's side of trust: its own RSA key (the `DevicePublicKey` hosts certify at
//! pairing) and the hosts it has paired with, one plist a host under `DATA/pairings/`.

use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why the phone could not load or store its key or a pairing.
#[derive(Debug, thiserror::Error)]
pub enum PairingError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the device key in {path} is not a PKCS#1 RSA key: {reason}")]
    BadKey { path: PathBuf, reason: String },
    #[error("could not make the device key: {0}")]
    KeyGeneration(String),
    #[error("the pair record lacks {0}")]
    MissingField(&'static str),
    #[error("the HostID {0:?} is not a plain identifier")]
    BadHostId(String),
    #[error("the stored pairing {path} is not a property list: {reason}")]
    BadRecord { path: PathBuf, reason: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> PairingError + '_ {
    move |source| PairingError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The phone's RSA-2048 key, made once and kept in `DATA/device_key.pem`.
pub struct DeviceIdentity {
    key: RsaPrivateKey,
    public_pem: String,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity").finish_non_exhaustive()
    }
}

impl DeviceIdentity {
    /// Loads the key from `data_dir`, or makes and saves one (mode 0600) the first time.
    pub fn load_or_create(data_dir: &Path) -> Result<DeviceIdentity, PairingError> {
        let path = data_dir.join("device_key.pem");
        let key = match fs::read_to_string(&path) {
            Ok(pem) => RsaPrivateKey::from_pkcs1_pem(&pem).map_err(|e| PairingError::BadKey {
                path: path.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                    .map_err(|e| PairingError::KeyGeneration(e.to_string()))?;
                let pem = key
                    .to_pkcs1_pem(LineEnding::LF)
                    .map_err(|e| PairingError::KeyGeneration(e.to_string()))?;
                fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
                write_private_file(&path, pem.as_bytes()).map_err(io_err(&path))?;
                key
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let public_pem = key
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| PairingError::KeyGeneration(e.to_string()))?;
        Ok(DeviceIdentity { key, public_pem })
    }

    /// `DevicePublicKey` as lockdownd gives it: PEM "RSA PUBLIC KEY" (PKCS#1).
    pub fn public_key_pem(&self) -> &[u8] {
        self.public_pem.as_bytes()
    }

    /// The private key as PKCS#1 DER, for the TLS server.
    pub fn private_key_pkcs1_der(&self) -> Result<Vec<u8>, PairingError> {
        self.key
            .to_pkcs1_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|e| PairingError::KeyGeneration(e.to_string()))
    }
}

/// One host the phone trusts.
#[derive(Clone, Debug)]
pub struct HostPairing {
    pub host_id: String,
    pub system_buid: String,
    /// The certificate the host made for this phone's key, PEM: the phone's TLS certificate.
    pub device_certificate_pem: Vec<u8>,
    pub escrow_bag: Vec<u8>,
}

/// The hosts one phone has paired with, on disk.
pub struct PairingStore {
    dir: PathBuf,
}

impl PairingStore {
    pub fn new(data_dir: &Path) -> PairingStore {
        PairingStore {
            dir: data_dir.join("pairings"),
        }
    }

    /// Keeps the host's pair record (as the host sent it) and a fresh escrow bag; returns
    /// the pairing, whose escrow bag goes back to the host.
    pub fn store(&self, record: &plist::Dictionary) -> Result<HostPairing, PairingError> {
        let text = |key: &'static str| {
            record
                .get(key)
                .and_then(plist::Value::as_string)
                .map(str::to_string)
                .ok_or(PairingError::MissingField(key))
        };
        let data = |key: &'static str| {
            record
                .get(key)
                .and_then(plist::Value::as_data)
                .map(<[u8]>::to_vec)
                .ok_or(PairingError::MissingField(key))
        };
        let host_id = text("HostID")?;
        check_host_id(&host_id)?;
        let pairing = HostPairing {
            system_buid: text("SystemBUID")?,
            device_certificate_pem: data("DeviceCertificate")?,
            escrow_bag: random_escrow_bag(),
            host_id,
        };
        // The host certificates prove nothing to a simulator, but a real phone insists.
        data("HostCertificate")?;
        data("RootCertificate")?;
        let mut stored = record.clone();
        stored.insert(
            "EscrowBag".into(),
            plist::Value::Data(pairing.escrow_bag.clone()),
        );
        let mut bytes = Vec::new();
        plist::Value::Dictionary(stored)
            .to_writer_xml(&mut bytes)
            .map_err(|e| PairingError::KeyGeneration(e.to_string()))?;
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let path = self.path(&pairing.host_id);
        write_private_file(&path, &bytes).map_err(io_err(&path))?;
        Ok(pairing)
    }

    /// The pairing with `host_id`, if the phone has one.
    pub fn load(&self, host_id: &str) -> Result<Option<HostPairing>, PairingError> {
        if check_host_id(host_id).is_err() {
            return Ok(None);
        }
        let path = self.path(host_id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let bad = |reason: String| PairingError::BadRecord {
            path: path.clone(),
            reason,
        };
        let value =
            plist::Value::from_reader(io::Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
        let record = value
            .into_dictionary()
            .ok_or_else(|| bad("not a dictionary".into()))?;
        let field = |key: &str| record.get(key).cloned();
        Ok(Some(HostPairing {
            host_id: host_id.to_string(),
            system_buid: field("SystemBUID")
                .and_then(|v| v.into_string())
                .unwrap_or_default(),
            device_certificate_pem: field("DeviceCertificate")
                .and_then(|v| v.into_data())
                .ok_or_else(|| bad("no DeviceCertificate".into()))?,
            escrow_bag: field("EscrowBag")
                .and_then(|v| v.into_data())
                .unwrap_or_default(),
        }))
    }

    /// Forgets `host_id`; true when there was a pairing to forget.
    pub fn remove(&self, host_id: &str) -> Result<bool, PairingError> {
        if check_host_id(host_id).is_err() {
            return Ok(false);
        }
        let path = self.path(host_id);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// How many hosts the phone trusts.
    pub fn count(&self) -> usize {
        fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "plist"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn path(&self, host_id: &str) -> PathBuf {
        self.dir.join(format!("{host_id}.plist"))
    }
}

/// HostIDs are UUIDs; anything else could name a file outside the pairings folder.
fn check_host_id(host_id: &str) -> Result<(), PairingError> {
    let plain = !host_id.is_empty()
        && host_id.len() <= 64
        && host_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if plain {
        Ok(())
    } else {
        Err(PairingError::BadHostId(host_id.to_string()))
    }
}

fn random_escrow_bag() -> Vec<u8> {
    use rand::RngCore;
    let mut bag = vec![0u8; 48];
    rand::rng().fill_bytes(&mut bag);
    bag
}

/// Writes `bytes` to `path` readable by the owner only (0600 on Unix), through a temporary
/// file and a rename so that a reader never sees half a file.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(host_id: &str) -> plist::Dictionary {
        let mut d = plist::Dictionary::new();
        d.insert("HostID".into(), host_id.into());
        d.insert("SystemBUID".into(), "BUID".into());
        for key in ["DeviceCertificate", "HostCertificate", "RootCertificate"] {
            d.insert(key.into(), plist::Value::Data(b"PEM".to_vec()));
        }
        d
    }

    #[test]
    fn stores_loads_and_removes_a_pairing() {
        let dir = tempfile::tempdir().unwrap();
        let store = PairingStore::new(dir.path());
        let paired = store.store(&record("ABC-123")).unwrap();
        assert!(paired.escrow_bag.len() >= 32);
        let loaded = store.load("ABC-123").unwrap().unwrap();
        assert_eq!(loaded.escrow_bag, paired.escrow_bag);
        assert_eq!(loaded.device_certificate_pem, b"PEM");
        assert_eq!(store.count(), 1);
        assert!(store.remove("ABC-123").unwrap());
        assert!(store.load("ABC-123").unwrap().is_none());
    }

    #[test]
    fn refuses_host_ids_that_are_paths_and_incomplete_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = PairingStore::new(dir.path());
        assert!(matches!(
            store.store(&record("../escape")),
            Err(PairingError::BadHostId(_))
        ));
        let mut partial = record("A");
        partial.remove("DeviceCertificate");
        assert!(matches!(
            store.store(&partial),
            Err(PairingError::MissingField("DeviceCertificate"))
        ));
        assert!(store.load("../../etc/passwd").unwrap().is_none());
    }
}
