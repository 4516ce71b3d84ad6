//! The `file` column of Manifest.db: an MBFile object serialised with NSKeyedArchiver into
//! a binary plist, laid out as iOS lays it out (object order, UIDs, classes, key order).

use super::tree::{Entry, EntryKind, MOBILE_ID};
use plist::{Dictionary, Uid, Value};

/// Archives `entry`; `encryption_key` is the `class || wrapped key` of an encrypted file.
pub(crate) fn archive(
    entry: &Entry,
    encryption_key: Option<&[u8]>,
) -> Result<Vec<u8>, plist::Error> {
    // $objects: "$null", the MBFile, its strings, the key's NSMutableData and class, and
    // last the MBFile class; UIDs are indexes into this array.
    let mut objects: Vec<Value> = vec![Value::String("$null".into()), Value::Boolean(false)];
    let path_uid = push(&mut objects, Value::String(entry.path.clone()));
    let target_uid = match &entry.kind {
        EntryKind::Symlink { target } => Some(push(&mut objects, Value::String(target.clone()))),
        _ => None,
    };
    let key_uid = encryption_key.map(|key| {
        let data_class_uid = Uid::new(objects.len() as u64 + 1);
        let mut data = Dictionary::new();
        data.insert("NS.data".into(), Value::Data(key.to_vec()));
        data.insert("$class".into(), Value::Uid(data_class_uid));
        let uid = push(&mut objects, Value::Dictionary(data));
        push(
            &mut objects,
            class_object("NSMutableData", &["NSMutableData", "NSData", "NSObject"]),
        );
        uid
    });
    let class_uid = push(
        &mut objects,
        class_object("MBFile", &["MBFile", "NSObject"]),
    );

    let mut file = Dictionary::new();
    file.insert("LastModified".into(), Value::from(entry.mtime));
    file.insert("Flags".into(), Value::from(0u64));
    file.insert("GroupID".into(), Value::from(u64::from(MOBILE_ID)));
    if let Some(uid) = target_uid {
        file.insert("Target".into(), Value::Uid(uid));
    }
    file.insert("$class".into(), Value::Uid(class_uid));
    file.insert("LastStatusChange".into(), Value::from(entry.mtime));
    file.insert("RelativePath".into(), Value::Uid(path_uid));
    file.insert("Birth".into(), Value::from(entry.birth));
    if let Some(uid) = key_uid {
        file.insert("EncryptionKey".into(), Value::Uid(uid));
    }
    file.insert("Size".into(), Value::from(entry.size()));
    file.insert("Mode".into(), Value::from(u64::from(entry.mode())));
    file.insert("UserID".into(), Value::from(u64::from(MOBILE_ID)));
    file.insert("InodeNumber".into(), Value::from(entry.inode));
    file.insert(
        "ProtectionClass".into(),
        Value::from(u64::from(entry.protection_class())),
    );
    objects[1] = Value::Dictionary(file);

    let mut top = Dictionary::new();
    top.insert("root".into(), Value::Uid(Uid::new(1)));
    let mut archive = Dictionary::new();
    archive.insert("$version".into(), Value::from(100_000u64));
    archive.insert("$archiver".into(), Value::String("NSKeyedArchiver".into()));
    archive.insert("$top".into(), Value::Dictionary(top));
    archive.insert("$objects".into(), Value::Array(objects));

    let mut bytes = Vec::new();
    Value::Dictionary(archive).to_writer_binary(&mut bytes)?;
    Ok(bytes)
}

fn push(objects: &mut Vec<Value>, value: Value) -> Uid {
    objects.push(value);
    Uid::new(objects.len() as u64 - 1)
}

fn class_object(name: &str, chain: &[&str]) -> Value {
    let mut class = Dictionary::new();
    class.insert("$classname".into(), Value::String(name.into()));
    class.insert(
        "$classes".into(),
        Value::Array(chain.iter().map(|c| Value::String((*c).into())).collect()),
    );
    Value::Dictionary(class)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: EntryKind) -> Entry {
        Entry {
            domain: "HomeDomain".into(),
            path: "Library/x".into(),
            kind,
            mtime: 1_700_000_000,
            birth: 1_690_000_000,
            inode: 100_007,
        }
    }

    fn objects(bytes: &[u8]) -> Vec<Value> {
        let value = Value::from_reader(std::io::Cursor::new(bytes)).unwrap();
        let archive = value.into_dictionary().unwrap();
        assert_eq!(archive["$archiver"].as_string(), Some("NSKeyedArchiver"));
        assert_eq!(archive["$version"].as_unsigned_integer(), Some(100_000));
        let top = archive["$top"].as_dictionary().unwrap();
        assert_eq!(top["root"], Value::Uid(Uid::new(1)));
        archive["$objects"].as_array().unwrap().clone()
    }

    fn deref<'a>(objects: &'a [Value], value: &Value) -> &'a Value {
        match value {
            Value::Uid(uid) => &objects[uid.get() as usize],
            other => panic!("not a UID: {other:?}"),
        }
    }

    #[test]
    fn encrypted_file_points_at_its_key_data() {
        let key = [4u8, 0, 0, 0]
            .iter()
            .chain([9u8; 40].iter())
            .copied()
            .collect::<Vec<_>>();
        let objs =
            objects(&archive(&entry(EntryKind::File { size: 17, class: 4 }), Some(&key)).unwrap());
        assert_eq!(objs[0].as_string(), Some("$null"));
        let file = objs[1].as_dictionary().unwrap();
        assert_eq!(
            deref(&objs, &file["RelativePath"]).as_string(),
            Some("Library/x")
        );
        let data = deref(&objs, &file["EncryptionKey"])
            .as_dictionary()
            .unwrap();
        assert_eq!(data["NS.data"].as_data(), Some(&key[..]));
        let data_class = deref(&objs, &data["$class"]).as_dictionary().unwrap();
        assert_eq!(data_class["$classname"].as_string(), Some("NSMutableData"));
        let class = deref(&objs, &file["$class"]).as_dictionary().unwrap();
        assert_eq!(class["$classname"].as_string(), Some("MBFile"));
        assert_eq!(file["Size"].as_unsigned_integer(), Some(17));
        assert_eq!(file["Mode"].as_unsigned_integer(), Some(0o100644));
        assert_eq!(file["ProtectionClass"].as_unsigned_integer(), Some(4));
        assert!(!file.contains_key("Target"));
    }

    #[test]
    fn symlink_has_a_target_and_no_key() {
        let link = EntryKind::Symlink {
            target: "/var/db/x".into(),
        };
        let objs = objects(&archive(&entry(link), None).unwrap());
        let file = objs[1].as_dictionary().unwrap();
        assert_eq!(deref(&objs, &file["Target"]).as_string(), Some("/var/db/x"));
        assert_eq!(file["Mode"].as_unsigned_integer(), Some(0o120755));
        assert!(!file.contains_key("EncryptionKey"));
        assert_eq!(objs.len(), 5);
    }
}
