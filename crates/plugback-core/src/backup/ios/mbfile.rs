//! The `file` column of Manifest.db: an NSKeyedArchiver binary plist holding one MBFile
//! record. The archive is a flat `$objects` array; `$top.root` is a UID naming the MBFile
//! dictionary, whose scalar fields are inline and whose strings and data (RelativePath,
//! Target, EncryptionKey) are UIDs into `$objects`. Decoded generically: any shape that
//! does not fit is an error naming what is wrong, never a panic.

use super::files::FileMeta;
use super::keybag::WrappedKey;
use super::plist_read::{self, KeyedArchive, Object, Scalar};

/// Decodes one MBFile archive.
pub fn decode(blob: &[u8]) -> Result<FileMeta, String> {
    if blob.is_empty() {
        return Err("the file record is empty".into());
    }
    let archive = plist_read::keyed_archive(blob)
        .map_err(|e| format!("the file record cannot be decoded: {e}"))?;
    let root = match archive.object(archive.root) {
        Some(root @ Object::Dict(_)) => root,
        _ => return Err("the file record's root is not a dictionary".into()),
    };
    Record {
        archive: &archive,
        root,
    }
    .file_meta()
}

struct Record<'a> {
    archive: &'a KeyedArchive,
    root: &'a Object,
}

impl Record<'_> {
    /// Follows a reference into `$objects`.
    fn referenced(&self, key: &str, reference: u64) -> Result<&Object, String> {
        self.archive
            .object(reference)
            .ok_or_else(|| format!("{key} points past the end of the record ({reference})"))
    }

    fn string(&self, key: &str) -> Result<Option<String>, String> {
        let object = match self.root.field(key) {
            None => return Ok(None),
            Some(Scalar::Text(inline)) => return Ok(Some(inline.clone())),
            Some(Scalar::Unsigned(reference)) => self.referenced(key, *reference)?,
            Some(_) => return Err(format!("{key} is not a string")),
        };
        match object {
            Object::Text(s) if s == "$null" => Ok(None),
            Object::Text(s) => Ok(Some(s.clone())),
            // NSMutableString archives as a dictionary holding NS.string.
            _ => match object.field("NS.string") {
                Some(Scalar::Text(s)) => Ok(Some(s.clone())),
                Some(Scalar::Unsigned(inner)) => match self.referenced(key, *inner)? {
                    Object::Text(s) => Ok(Some(s.clone())),
                    _ => Err(format!("{key} is not a string")),
                },
                _ => Err(format!("{key} is not a string")),
            },
        }
    }

    fn data(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let object = match self.root.field(key) {
            None => return Ok(None),
            Some(Scalar::Bytes(inline)) => return Ok(Some(inline.clone())),
            Some(Scalar::Unsigned(reference)) => self.referenced(key, *reference)?,
            Some(_) => return Err(format!("{key} is not data")),
        };
        match object {
            Object::Bytes(b) => Ok(Some(b.clone())),
            Object::Text(s) if s == "$null" => Ok(None),
            // NSData and NSMutableData archive as a dictionary holding NS.data, inline
            // or by reference.
            _ => match object.field("NS.data") {
                Some(Scalar::Bytes(b)) => Ok(Some(b.clone())),
                Some(Scalar::Unsigned(inner)) => match self.referenced(key, *inner)? {
                    Object::Bytes(b) => Ok(Some(b.clone())),
                    _ => Err(format!("{key} is not data")),
                },
                _ => Err(format!("{key} is not data")),
            },
        }
    }

    fn signed(&self, key: &str) -> Result<Option<i64>, String> {
        match self.root.field(key) {
            None => Ok(None),
            Some(Scalar::Signed(n)) => Ok(Some(*n)),
            Some(Scalar::Unsigned(n)) => i64::try_from(*n)
                .map(Some)
                .map_err(|_| format!("{key} is out of range ({n})")),
            Some(Scalar::Real(r)) if r.is_finite() && r.abs() < 9.0e15 => {
                Ok(Some(r.trunc() as i64))
            }
            Some(_) => Err(format!("{key} is not a number")),
        }
    }

    fn unsigned(&self, key: &str) -> Result<Option<u64>, String> {
        match self.root.field(key) {
            Some(Scalar::Unsigned(n)) => Ok(Some(*n)),
            _ => match self.signed(key)? {
                Some(n) => u64::try_from(n)
                    .map(Some)
                    .map_err(|_| format!("{key} is negative ({n})")),
                None => Ok(None),
            },
        }
    }

    fn u32_field(&self, key: &str) -> Result<Option<u32>, String> {
        self.unsigned(key)?
            .map(|n| u32::try_from(n).map_err(|_| format!("{key} {n} is out of range")))
            .transpose()
    }

    fn file_meta(&self) -> Result<FileMeta, String> {
        let size = self
            .unsigned("Size")?
            .ok_or("the file record has no Size")?;
        let mode = self
            .u32_field("Mode")?
            .ok_or("the file record has no Mode")?;
        let encryption_key = self
            .data("EncryptionKey")?
            .map(|bytes| {
                WrappedKey::parse(&bytes).ok_or_else(|| {
                    format!(
                        "EncryptionKey is {} bytes, too short to hold a key",
                        bytes.len()
                    )
                })
            })
            .transpose()?;
        Ok(FileMeta {
            size,
            mode,
            last_modified: self.signed("LastModified")?,
            birth: self.signed("Birth")?,
            last_status_change: self.signed("LastStatusChange")?,
            protection_class: self.u32_field("ProtectionClass")?,
            user_id: self.signed("UserID")?,
            group_id: self.signed("GroupID")?,
            inode: self.unsigned("InodeNumber")?,
            encryption_key,
            target: self.string("Target")?,
            relative_path: self.string("RelativePath")?,
        })
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use plist::{Dictionary, Uid, Value};

    /// An MBFile archive laid out the way the phone writes it.
    pub fn archive(
        fields: &[(&str, Value)],
        path: &str,
        target: Option<&str>,
        key: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut objects = vec![Value::String("$null".into())];
        let mut root = Dictionary::new();
        for (k, v) in fields {
            root.insert((*k).into(), v.clone());
        }
        objects.push(Value::Dictionary(Dictionary::new())); // root placeholder
        objects.push(Value::String(path.into()));
        root.insert("RelativePath".into(), Value::Uid(Uid::new(2)));
        if let Some(target) = target {
            objects.push(Value::String(target.into()));
            root.insert(
                "Target".into(),
                Value::Uid(Uid::new(objects.len() as u64 - 1)),
            );
        }
        if let Some(key) = key {
            let mut data = Dictionary::new();
            data.insert("NS.data".into(), Value::Data(key.to_vec()));
            objects.push(Value::Dictionary(data));
            root.insert(
                "EncryptionKey".into(),
                Value::Uid(Uid::new(objects.len() as u64 - 1)),
            );
        }
        objects[1] = Value::Dictionary(root);
        let mut top = Dictionary::new();
        top.insert("root".into(), Value::Uid(Uid::new(1)));
        let mut archive = Dictionary::new();
        archive.insert("$version".into(), Value::Integer(100000.into()));
        archive.insert("$archiver".into(), Value::String("NSKeyedArchiver".into()));
        archive.insert("$top".into(), Value::Dictionary(top));
        archive.insert("$objects".into(), Value::Array(objects));
        let mut out = Vec::new();
        Value::Dictionary(archive)
            .to_writer_binary(&mut out)
            .unwrap();
        out
    }

    pub fn file_fields(size: u64, mode: u32, class: u64) -> Vec<(&'static str, Value)> {
        vec![
            ("Size", Value::Integer(size.into())),
            ("Mode", Value::Integer(u64::from(mode).into())),
            ("LastModified", Value::Integer(1_700_000_000.into())),
            ("ProtectionClass", Value::Integer(class.into())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use plist::Value;

    #[test]
    fn decodes_a_file_with_key_and_a_symlink_with_target() {
        let key = [[4u8, 0, 0, 0].as_slice(), &[9; 40]].concat();
        let blob = archive(&file_fields(17, 0o100644, 4), "Library/x", None, Some(&key));
        let meta = decode(&blob).unwrap();
        assert_eq!(meta.size, 17);
        assert_eq!(meta.mode, 0o100644);
        assert_eq!(meta.last_modified, Some(1_700_000_000));
        assert_eq!(meta.protection_class, Some(4));
        assert_eq!(meta.relative_path.as_deref(), Some("Library/x"));
        let wrapped = meta.encryption_key.unwrap();
        assert_eq!(wrapped.class, 4);
        assert_eq!(wrapped.wrapped, vec![9; 40]);

        let link = archive(
            &file_fields(0, 0o120755, 0),
            "a/link",
            Some("/var/mobile"),
            None,
        );
        assert_eq!(
            decode(&link).unwrap().target.as_deref(),
            Some("/var/mobile")
        );
    }

    #[test]
    fn data_inside_an_object_may_itself_be_a_reference() {
        use plist::{Dictionary, Value};
        // How some archivers write NSMutableData: {"$class": …, "NS.data": UID(n)}.
        let key = [[2u8, 0, 0, 0].as_slice(), &[7; 40]].concat();
        let mut objects = vec![Value::String("$null".into())];
        let mut root = Dictionary::new();
        for (k, v) in file_fields(9, 0o100755, 2) {
            root.insert(k.into(), v);
        }
        root.insert("EncryptionKey".into(), Value::Uid(plist::Uid::new(2)));
        objects.push(Value::Dictionary(root));
        let mut holder = Dictionary::new();
        holder.insert("NS.data".into(), Value::Uid(plist::Uid::new(3)));
        objects.push(Value::Dictionary(holder));
        objects.push(Value::Data(key));
        let mut top = Dictionary::new();
        top.insert("root".into(), Value::Uid(plist::Uid::new(1)));
        let mut archive = Dictionary::new();
        archive.insert("$top".into(), Value::Dictionary(top));
        archive.insert("$objects".into(), Value::Array(objects));
        let mut blob = Vec::new();
        Value::Dictionary(archive)
            .to_writer_binary(&mut blob)
            .unwrap();
        let meta = decode(&blob).unwrap();
        assert_eq!(
            meta.encryption_key.map(|k| (k.class, k.wrapped)),
            Some((2, vec![7; 40]))
        );
    }

    #[test]
    fn bad_records_are_errors_that_say_what_is_wrong() {
        assert!(decode(b"").unwrap_err().contains("empty"));
        assert!(
            decode(b"bplist00 not really")
                .unwrap_err()
                .contains("not a valid property list")
        );
        assert!(
            decode(b"not a plist")
                .unwrap_err()
                .contains("cannot be decoded")
        );

        let no_size = archive(
            &[("Mode", Value::Integer(0o100644.into()))],
            "x",
            None,
            None,
        );
        assert!(decode(&no_size).unwrap_err().contains("no Size"));

        let negative = archive(
            &file_fields(0, 0o100644, 1)
                .into_iter()
                .map(|(k, v)| {
                    if k == "Size" {
                        (k, Value::Integer((-5i64).into()))
                    } else {
                        (k, v)
                    }
                })
                .collect::<Vec<_>>(),
            "x",
            None,
            None,
        );
        assert!(decode(&negative).unwrap_err().contains("negative"));

        let short_key = archive(&file_fields(1, 0o100644, 1), "x", None, Some(&[1, 0, 0]));
        assert!(decode(&short_key).unwrap_err().contains("too short"));

        let bad_uid = {
            let mut fields = file_fields(1, 0o100644, 1);
            fields.push(("Target", Value::Uid(plist::Uid::new(99))));
            archive(&fields, "x", None, None)
        };
        assert!(decode(&bad_uid).unwrap_err().contains("past the end"));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let blob = archive(
            &file_fields(17, 0o100644, 4),
            "Library/x",
            Some("t"),
            Some(&[4; 44]),
        );
        for cut in 0..blob.len() {
            assert!(decode(&blob[..cut]).is_err(), "cut at {cut}");
        }
    }
}
