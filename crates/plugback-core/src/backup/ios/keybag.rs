//! The backup keybag (`BackupKeyBag` in Manifest.plist): a TLV list (4-byte tag, u32
//! big-endian length, value) with a header (VERS, TYPE, UUID, HMCK, WRAP, SALT, ITER and,
//! since iOS 10.2, DPWT, DPIC, DPSL) followed by one record per protection class (UUID,
//! CLAS, WRAP, KTYP, WPKY). A second UUID starts the first class record.
//!
//! Unlocking derives the passcode key from the password and unwraps every class key
//! wrapped with it: AES key unwrap has an integrity check, so a failed unwrap proves
//! the password wrong without decrypting any data.

use super::crypto::{self, KdfParams, Key256, UnwrapError};
use crate::backup::BackupError;
use crate::secret::Password;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// `WRAP` bit: the class key is wrapped with the key derived from the password.
const WRAP_PASSCODE: u32 = 2;
/// Real keybags use 10,000 SHA-1 rounds and 10,000,000 SHA-256 rounds. A keybag asking
/// for vastly more is damaged or hostile, and would keep a worker busy for hours.
const MAX_ROUNDS: u32 = 100_000_000;
const MANIFEST_PLIST: &str = "Manifest.plist";

#[derive(Clone, PartialEq, Eq)]
pub struct ClassKeyRecord {
    pub class: u32,
    pub wrap: u32,
    pub key_type: Option<u32>,
    pub wrapped_key: Vec<u8>,
}

impl fmt::Debug for ClassKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassKeyRecord")
            .field("class", &self.class)
            .field("wrap", &self.wrap)
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

/// A key as stored in ManifestKey and in each file's EncryptionKey: a 4-byte
/// little-endian protection class, then the key wrapped with that class's key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub class: u32,
    pub wrapped: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WrappedKey(class {}, {} bytes)",
            self.class,
            self.wrapped.len()
        )
    }
}

impl WrappedKey {
    /// None when there is no key after the class prefix.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let (class, wrapped) = bytes.split_first_chunk::<4>()?;
        (!wrapped.is_empty()).then(|| Self {
            class: u32::from_le_bytes(*class),
            wrapped: wrapped.to_vec(),
        })
    }
}

/// A parsed keybag. Holds no secret until unlocked: wrapped keys are useless without
/// the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keybag {
    pub version: Option<u32>,
    pub keybag_type: Option<u32>,
    pub uuid: Vec<u8>,
    pub kdf: KdfParams,
    pub classes: Vec<ClassKeyRecord>,
}

/// The class keys of an unlocked backup, wiped from memory when dropped. Proof that the
/// password was right.
pub struct UnlockedKeys {
    class_keys: BTreeMap<u32, Key256>,
}

impl fmt::Debug for UnlockedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockedKeys")
            .field("classes", &self.class_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl UnlockedKeys {
    pub fn classes(&self) -> impl Iterator<Item = u32> + '_ {
        self.class_keys.keys().copied()
    }

    pub fn class_key(&self, class: u32) -> Option<&[u8; 32]> {
        self.class_keys.get(&class).map(|k| &**k)
    }

    /// Unwraps a file or manifest key wrapped with the key of `class`.
    pub fn unwrap(&self, class: u32, wrapped: &[u8]) -> Result<Key256, UnwrapFailure> {
        let kek = self
            .class_key(class)
            .ok_or(UnwrapFailure::NoSuchClass(class))?;
        crypto::unwrap_key(kek, wrapped).map_err(UnwrapFailure::Unwrap)
    }

    /// Unwraps a file key. The record's ProtectionClass and the key's own class prefix
    /// agree in every backup seen; where they differ, both are tried.
    pub fn unwrap_file_key(
        &self,
        key: &WrappedKey,
        protection_class: Option<u32>,
    ) -> Result<Key256, UnwrapFailure> {
        let first = protection_class.unwrap_or(key.class);
        match self.unwrap(first, &key.wrapped) {
            Err(_) if first != key.class => self.unwrap(key.class, &key.wrapped),
            result => result,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnwrapFailure {
    NoSuchClass(u32),
    Unwrap(UnwrapError),
}

impl fmt::Display for UnwrapFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchClass(class) => {
                write!(
                    f,
                    "the keybag has no usable key for protection class {class}"
                )
            }
            Self::Unwrap(UnwrapError::BadLength(len)) => {
                write!(f, "the wrapped key is {len} bytes instead of 40")
            }
            Self::Unwrap(UnwrapError::IntegrityCheckFailed) => {
                f.write_str("the wrapped key fails its integrity check")
            }
        }
    }
}

/// Why a keybag could not be parsed, before it becomes a `BackupError`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeybagError(String);

fn bad(detail: impl Into<String>) -> KeybagError {
    KeybagError(detail.into())
}

fn u32_value(tag: &str, value: &[u8]) -> Result<u32, KeybagError> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| {
        bad(format!(
            "the {tag} field is {} bytes instead of 4",
            value.len()
        ))
    })?;
    Ok(u32::from_be_bytes(bytes))
}

/// One TLV field: its 4-byte tag and its value.
type Field<'a> = ([u8; 4], &'a [u8]);

/// Splits the TLV stream into fields.
fn fields(data: &[u8]) -> Result<Vec<Field<'_>>, KeybagError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (head, tail) = rest.split_first_chunk::<8>().ok_or_else(|| {
            bad(format!(
                "it ends in the middle of a field header ({} bytes left)",
                rest.len()
            ))
        })?;
        let tag: [u8; 4] = [head[0], head[1], head[2], head[3]];
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let value = tail.get(..len).ok_or_else(|| {
            bad(format!(
                "the {} field says {len} bytes but only {} remain",
                String::from_utf8_lossy(&tag),
                tail.len()
            ))
        })?;
        out.push((tag, value));
        rest = &tail[len..];
    }
    Ok(out)
}

#[derive(Default)]
struct ClassDraft {
    class: Option<u32>,
    wrap: Option<u32>,
    key_type: Option<u32>,
    wrapped_key: Option<Vec<u8>>,
}

impl ClassDraft {
    fn finish(self, into: &mut Vec<ClassKeyRecord>) -> Result<(), KeybagError> {
        // A record without a class or a wrapped key carries nothing to unlock.
        let (Some(class), Some(wrapped_key)) = (self.class, self.wrapped_key) else {
            return Ok(());
        };
        let wrap = self
            .wrap
            .ok_or_else(|| bad(format!("the key of class {class} has no WRAP field")))?;
        into.push(ClassKeyRecord {
            class,
            wrap,
            key_type: self.key_type,
            wrapped_key,
        });
        Ok(())
    }
}

impl Keybag {
    /// Parses a `BackupKeyBag`. Every inconsistency is a `Malformed` error naming the field.
    pub fn parse(data: &[u8]) -> Result<Keybag, BackupError> {
        Self::parse_fields(data).map_err(|KeybagError(why)| BackupError::Malformed {
            path: PathBuf::from(MANIFEST_PLIST),
            detail: format!("the backup keybag is damaged: {why}"),
        })
    }

    fn parse_fields(data: &[u8]) -> Result<Keybag, KeybagError> {
        if data.is_empty() {
            return Err(bad("it is empty"));
        }
        let mut version = None;
        let mut keybag_type = None;
        let mut uuid = None;
        let mut salt = None;
        let mut iterations = None;
        let mut dp_salt = None;
        let mut dp_iterations = None;
        let mut classes = Vec::new();
        let mut current: Option<ClassDraft> = None;

        for (tag, value) in fields(data)? {
            let name = String::from_utf8_lossy(&tag).into_owned();
            match &tag {
                b"UUID" if uuid.is_none() => uuid = Some(value.to_vec()),
                b"UUID" => {
                    if let Some(draft) = current.take() {
                        draft.finish(&mut classes)?;
                    }
                    current = Some(ClassDraft::default());
                }
                _ => {
                    if let Some(draft) = current.as_mut() {
                        match &tag {
                            b"CLAS" => draft.class = Some(u32_value(&name, value)?),
                            b"WRAP" => draft.wrap = Some(u32_value(&name, value)?),
                            b"KTYP" => draft.key_type = Some(u32_value(&name, value)?),
                            b"WPKY" => draft.wrapped_key = Some(value.to_vec()),
                            _ => {} // PBKY and future fields: not needed to unlock.
                        }
                        continue;
                    }
                    match &tag {
                        b"VERS" => version = Some(u32_value(&name, value)?),
                        b"TYPE" => keybag_type = Some(u32_value(&name, value)?),
                        b"SALT" => salt = Some(value.to_vec()),
                        b"ITER" => iterations = Some(u32_value(&name, value)?),
                        b"DPSL" => dp_salt = Some(value.to_vec()),
                        b"DPIC" => dp_iterations = Some(u32_value(&name, value)?),
                        b"DPWT" => {
                            u32_value(&name, value)?;
                        }
                        _ => {} // HMCK, WRAP of the bag itself, and unknown fields.
                    }
                }
            }
        }
        if let Some(draft) = current.take() {
            draft.finish(&mut classes)?;
        }

        let salt = salt
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("it has no SALT"))?;
        let iterations = check_rounds("ITER", iterations.ok_or_else(|| bad("it has no ITER"))?)?;
        let first_stage = match (dp_salt, dp_iterations) {
            (Some(s), Some(n)) => Some((s, check_rounds("DPIC", n)?)),
            (None, None) => None,
            (Some(_), None) => return Err(bad("it has DPSL without DPIC")),
            (None, Some(_)) => return Err(bad("it has DPIC without DPSL")),
        };
        if !classes.iter().any(|c| c.wrap & WRAP_PASSCODE != 0) {
            return Err(bad(
                "it holds no class key protected by the backup password",
            ));
        }
        Ok(Keybag {
            version,
            keybag_type,
            uuid: uuid.unwrap_or_default(),
            kdf: KdfParams {
                salt,
                iterations,
                first_stage,
            },
            classes,
        })
    }

    /// Checks `password` and returns the class keys. `WrongPassword` when the first
    /// password-wrapped class key fails its integrity check.
    pub fn unlock(&self, password: &Password) -> Result<UnlockedKeys, BackupError> {
        let passcode_key = crypto::passcode_key(password.as_bytes(), &self.kdf);
        self.unlock_with_passcode_key(&passcode_key)
    }

    fn unlock_with_passcode_key(
        &self,
        passcode_key: &[u8; 32],
    ) -> Result<UnlockedKeys, BackupError> {
        let mut class_keys = BTreeMap::new();
        let mut failed = Vec::new();
        for record in self.classes.iter().filter(|c| c.wrap & WRAP_PASSCODE != 0) {
            match crypto::unwrap_key(passcode_key, &record.wrapped_key) {
                Ok(key) => {
                    class_keys.insert(record.class, key);
                }
                Err(_) => failed.push(record.class),
            }
        }
        if class_keys.is_empty() {
            return Err(BackupError::WrongPassword);
        }
        if !failed.is_empty() {
            // The password opened some keys, so it is right: the others are damaged.
            return Err(BackupError::Malformed {
                path: PathBuf::from(MANIFEST_PLIST),
                detail: format!(
                    "the backup keybag is damaged: the keys of protection classes {failed:?} do not unwrap with the right password"
                ),
            });
        }
        Ok(UnlockedKeys { class_keys })
    }
}

fn check_rounds(tag: &str, rounds: u32) -> Result<u32, KeybagError> {
    if rounds == 0 || rounds > MAX_ROUNDS {
        return Err(bad(format!(
            "its {tag} of {rounds} rounds is not plausible"
        )));
    }
    Ok(rounds)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn tlv(tag: &[u8; 4], value: &[u8]) -> Vec<u8> {
        let mut out = tag.to_vec();
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    /// A small keybag (cheap KDF) whose password-wrapped class keys are `class_keys`.
    pub fn keybag_bytes(
        password: &[u8],
        two_stage: bool,
        class_keys: &[(u32, [u8; 32])],
    ) -> Vec<u8> {
        let params = KdfParams {
            salt: b"salt-salt-salt-salt!".to_vec(),
            iterations: 3,
            first_stage: two_stage.then(|| (b"dpsl-dpsl-dpsl-dpsl!".to_vec(), 5)),
        };
        let kek = crypto::passcode_key(password, &params);
        let mut out = Vec::new();
        out.extend(tlv(b"VERS", &3u32.to_be_bytes()));
        out.extend(tlv(b"TYPE", &1u32.to_be_bytes()));
        out.extend(tlv(b"UUID", &[1; 16]));
        out.extend(tlv(b"HMCK", &[0; 40]));
        out.extend(tlv(b"WRAP", &0u32.to_be_bytes()));
        out.extend(tlv(b"SALT", &params.salt));
        out.extend(tlv(b"ITER", &3u32.to_be_bytes()));
        if let Some((salt, rounds)) = &params.first_stage {
            out.extend(tlv(b"DPWT", &1u32.to_be_bytes()));
            out.extend(tlv(b"DPIC", &rounds.to_be_bytes()));
            out.extend(tlv(b"DPSL", salt));
        }
        for (class, key) in class_keys {
            out.extend(tlv(b"UUID", &[2; 16]));
            out.extend(tlv(b"CLAS", &class.to_be_bytes()));
            out.extend(tlv(b"WRAP", &3u32.to_be_bytes()));
            out.extend(tlv(b"KTYP", &0u32.to_be_bytes()));
            out.extend(tlv(b"WPKY", &crypto::test_support::wrap(&kek, key)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn parses_header_and_classes_and_unlocks() {
        for two_stage in [false, true] {
            let bytes = keybag_bytes(b"pw", two_stage, &[(1, [1; 32]), (4, [4; 32])]);
            let bag = Keybag::parse(&bytes).unwrap();
            assert_eq!(bag.version, Some(3));
            assert_eq!(bag.uuid, vec![1; 16]);
            assert_eq!(bag.kdf.iterations, 3);
            assert_eq!(bag.kdf.first_stage.is_some(), two_stage);
            assert_eq!(
                bag.classes.iter().map(|c| c.class).collect::<Vec<_>>(),
                [1, 4]
            );

            let keys = bag.unlock(&Password::new("pw")).unwrap();
            assert_eq!(keys.class_key(4), Some(&[4; 32]));
            assert_eq!(keys.classes().collect::<Vec<_>>(), [1, 4]);
            let err = bag.unlock(&Password::new("nope")).unwrap_err();
            assert_eq!(err.code(), "wrong-password");
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = keybag_bytes(b"pw", true, &[(1, [1; 32])]);
        for cut in 0..bytes.len() {
            // Cuts on a field boundary before the class record lose the class or a
            // required field; every other cut splits a field.
            assert!(Keybag::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn inconsistent_fields_are_named() {
        let mut bytes = tlv(b"SALT", b"abc");
        bytes.extend(tlv(b"ITER", &[0, 1]));
        assert!(
            Keybag::parse(&bytes)
                .unwrap_err()
                .to_string()
                .contains("ITER")
        );

        let mut no_dpic = tlv(b"UUID", &[0; 16]);
        no_dpic.extend(tlv(b"SALT", b"abc"));
        no_dpic.extend(tlv(b"ITER", &10u32.to_be_bytes()));
        no_dpic.extend(tlv(b"DPSL", b"abc"));
        assert!(
            Keybag::parse(&no_dpic)
                .unwrap_err()
                .to_string()
                .contains("DPSL without DPIC")
        );

        let mut huge = tlv(b"SALT", b"abc");
        huge.extend(tlv(b"ITER", &u32::MAX.to_be_bytes()));
        assert!(
            Keybag::parse(&huge)
                .unwrap_err()
                .to_string()
                .contains("not plausible")
        );

        let length_lies = [b"SALT".as_slice(), &[0xff, 0xff, 0xff, 0xff], b"abc"].concat();
        assert!(
            Keybag::parse(&length_lies)
                .unwrap_err()
                .to_string()
                .contains("only 3 remain")
        );
    }

    #[test]
    fn a_damaged_class_key_with_the_right_password_is_not_a_wrong_password() {
        let mut bytes = keybag_bytes(b"pw", false, &[(1, [1; 32]), (2, [2; 32])]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let bag = Keybag::parse(&bytes).unwrap();
        let err = bag.unlock(&Password::new("pw")).unwrap_err();
        assert_eq!(err.code(), "malformed");
        assert!(err.to_string().contains("[2]"));
    }
}
