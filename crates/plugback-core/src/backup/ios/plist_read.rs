//! Property lists read with a bound on the work, through the `plist` crate's serde
//! support. A binary plist can reference one object many times, so a few hundred hostile
//! bytes could otherwise expand into billions of values (and exhaust memory).
//!
//! - `plist_value`: a whole plist as a `plist::Value` (Info, Manifest, Status.plist).
//!   Dates arrive as RFC 3339 text (`date_of` reads them back); references (UIDs) as
//!   integers.
//! - `keyed_archive`: a keyed archive (an NSKeyedArchiver plist) in a flat, compact form:
//!   the `$top.root` reference and the `$objects` list, each object reduced to a string,
//!   data, or a dictionary of scalars. Several times cheaper than a `plist::Value` tree
//!   (verification decodes one archive per file, 100k of them in a large backup).
//!   Binary archives are first tried by `bplist`, a direct object-table reader that
//!   answers only when it reads the same as this path; otherwise this path decides.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;

use super::bplist;

/// Values visited per archive at most (a real MBFile has about 60).
pub(super) const MAX_ARCHIVE_VALUES: usize = 10_000;
/// Values per plist at most: a real Info.plist with hundreds of apps has some 100k.
pub const MAX_PLIST_VALUES: usize = 5_000_000;
/// Nesting at most (a real MBFile has 3 levels, a real Info.plist 6).
pub(super) const MAX_DEPTH: usize = 32;

/// A value inside an archived dictionary.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    /// An unsigned integer, or a reference (UID) into `$objects`.
    Unsigned(u64),
    Signed(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    /// A nested array or dictionary (not needed by any reader here, so not kept).
    Nested,
}

/// One entry of `$objects`.
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Text(String),
    Bytes(Vec<u8>),
    Dict(Vec<(String, Scalar)>),
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KeyedArchive {
    pub root: u64,
    pub objects: Vec<Object>,
}

impl KeyedArchive {
    pub fn object(&self, reference: u64) -> Option<&Object> {
        usize::try_from(reference)
            .ok()
            .and_then(|i| self.objects.get(i))
    }
}

impl Object {
    /// The value of `key` in a dictionary object.
    pub fn field(&self, key: &str) -> Option<&Scalar> {
        match self {
            Self::Dict(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Reads a keyed archive; the error says what is wrong in a person's words.
pub fn keyed_archive(bytes: &[u8]) -> Result<KeyedArchive, String> {
    // Nearly every archive takes the fast path; the rest (and every error) come here.
    if let Some(archive) = bplist::keyed_archive(bytes) {
        #[cfg(debug_assertions)]
        agrees_with_the_plist_path(bytes, &archive);
        return Ok(archive);
    }
    bounded::<Archive>(bytes, MAX_ARCHIVE_VALUES).map(|Archive(archive)| archive)
}

/// The fast path must read what the `plist` path reads (checked in tests, debug builds,
/// and fuzzing). Compared as text so that a NaN equals itself.
#[cfg(debug_assertions)]
fn agrees_with_the_plist_path(bytes: &[u8], fast: &KeyedArchive) {
    let slow = bounded::<Archive>(bytes, MAX_ARCHIVE_VALUES).map(|Archive(archive)| archive);
    assert_eq!(
        format!("{slow:?}"),
        format!("{:?}", Ok::<_, String>(fast)),
        "the fast archive reader disagrees on {bytes:02x?}"
    );
}

/// Reads a whole property list of at most `max_values` values.
pub fn plist_value(bytes: &[u8], max_values: usize) -> Result<plist::Value, String> {
    bounded::<WholeValue>(bytes, max_values).map(|WholeValue(value)| value)
}

/// A date as a plist value holds it: a `Date`, or (read through `plist_value`) its
/// RFC 3339 text.
pub fn date_of(value: &plist::Value) -> Option<plist::Date> {
    match value {
        plist::Value::Date(date) => Some(*date),
        plist::Value::String(text) => plist::Date::from_xml_format(text).ok(),
        _ => None,
    }
}

fn bounded<T: de::DeserializeOwned>(bytes: &[u8], max_values: usize) -> Result<T, String> {
    BUDGET.with(|budget| budget.0.set(max_values));
    REFUSAL.with(|r| r.set(None));
    // `plist` 1.10 panics when its serde reader meets a date before year 0 (it formats
    // every date as RFC 3339 text first). No backup holds such a date, so the file is
    // damaged or hostile: contain the panic and refuse the file.
    match std::panic::catch_unwind(|| plist::from_bytes::<T>(bytes)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(why(&e)),
        Err(_) => Err("it holds a date that cannot be read".to_owned()),
    }
}

/// Our own refusals as they are; any other failure either does not have the shape of a
/// keyed archive or is damage to the property list itself (its internal detail would
/// not help a person).
fn why(error: &plist::Error) -> String {
    if let Some(refusal) = REFUSAL.with(Cell::take) {
        return refusal.to_owned();
    }
    if error.to_string().starts_with("Serde(") {
        "it does not have the shape of a keyed archive".to_owned()
    } else {
        "it is not a valid property list".to_owned()
    }
}

thread_local! {
    // `plist::from_bytes` takes a type, not a seed: the budget of the archive being read
    // on this thread lives here, and so does the reason it was refused.
    static BUDGET: Budget = const { Budget(Cell::new(MAX_ARCHIVE_VALUES)) };
    static REFUSAL: Cell<Option<&'static str>> = const { Cell::new(None) };
}

const TOO_MANY: &str = "it holds far more values than any backup file";
const TOO_DEEP: &str = "it is nested far deeper than any backup file";
const NO_TOP: &str = "it has no $top root";
const NO_OBJECTS: &str = "it has no $objects list";

fn refuse<E: de::Error>(why: &'static str) -> E {
    REFUSAL.with(|r| r.set(Some(why)));
    E::custom(why)
}

struct Archive(KeyedArchive);

impl<'de> de::Deserialize<'de> for Archive {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BUDGET
            .with(|budget| ArchiveSeed(budget).deserialize(d))
            .map(Archive)
    }
}

struct Budget(Cell<usize>);

impl Budget {
    fn spend<E: de::Error>(&self, depth: usize) -> Result<(), E> {
        let left = self.0.get();
        if left == 0 {
            return Err(refuse(TOO_MANY));
        }
        if depth > MAX_DEPTH {
            return Err(refuse(TOO_DEEP));
        }
        self.0.set(left - 1);
        Ok(())
    }
}

/// Visits every kind of value, for visitors that accept any shape.
macro_rules! scalar_visits {
    ($value:ty, $bool:expr, $u64:expr, $i64:expr, $f64:expr, $str:expr, $bytes:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($bool(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($u64(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($i64(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($f64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($str(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($str(v))
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($bytes(v.to_vec()))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<$value, E> {
            self.budget.spend(self.depth)?;
            Ok($bytes(v))
        }
    };
}

fn ignore<T>(_: T) {}

/// Skips one value of any shape, within the budget.
#[derive(Clone, Copy)]
struct Skip<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    scalar_visits!((), ignore, ignore, ignore, ignore, ignore, ignore);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.budget.spend(self.depth)?;
        let inner = Skip {
            depth: self.depth + 1,
            ..self
        };
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.budget.spend(self.depth)?;
        let inner = Skip {
            depth: self.depth + 1,
            ..self
        };
        while map.next_key_seed(inner)?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

/// A scalar inside an archived dictionary.
#[derive(Clone, Copy)]
struct ScalarSeed<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed<'_> {
    type Value = Scalar;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed<'_> {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }
    scalar_visits!(
        Scalar,
        Scalar::Bool,
        Scalar::Unsigned,
        Scalar::Signed,
        Scalar::Real,
        Scalar::Text,
        Scalar::Bytes
    );
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        Skip {
            budget: self.budget,
            depth: self.depth,
        }
        .visit_seq(seq)?;
        Ok(Scalar::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        Skip {
            budget: self.budget,
            depth: self.depth,
        }
        .visit_map(map)?;
        Ok(Scalar::Nested)
    }
}

/// One entry of `$objects`.
#[derive(Clone, Copy)]
struct ObjectSeed<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = Object;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
        d.deserialize_any(self)
    }
}

fn other<T>(_: T) -> Object {
    Object::Other
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = Object;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an archived object")
    }
    scalar_visits!(
        Object,
        other,
        other,
        other,
        other,
        Object::Text,
        Object::Bytes
    );
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Object, A::Error> {
        Skip {
            budget: self.budget,
            depth: self.depth,
        }
        .visit_seq(seq)?;
        Ok(Object::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
        self.budget.spend(self.depth)?;
        let value = ScalarSeed {
            budget: self.budget,
            depth: self.depth + 1,
        };
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            fields.push((key, map.next_value_seed(value)?));
        }
        Ok(Object::Dict(fields))
    }
}

/// Any value, built into a `plist::Value`.
#[derive(Clone, Copy)]
struct ValueSeed<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = plist::Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<plist::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn integer(n: impl Into<plist::Integer>) -> plist::Value {
    plist::Value::Integer(n.into())
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = plist::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property list value")
    }
    scalar_visits!(
        plist::Value,
        plist::Value::Boolean,
        integer,
        integer,
        plist::Value::Real,
        plist::Value::String,
        plist::Value::Data
    );
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<plist::Value, A::Error> {
        self.budget.spend(self.depth)?;
        let inner = ValueSeed {
            depth: self.depth + 1,
            ..self
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(plist::Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<plist::Value, A::Error> {
        self.budget.spend(self.depth)?;
        let inner = ValueSeed {
            depth: self.depth + 1,
            ..self
        };
        let mut dict = plist::Dictionary::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            dict.insert(key, value);
        }
        Ok(plist::Value::Dictionary(dict))
    }
}

struct WholeValue(plist::Value);

impl<'de> de::Deserialize<'de> for WholeValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BUDGET
            .with(|budget| ValueSeed { budget, depth: 0 }.deserialize(d))
            .map(WholeValue)
    }
}

/// `$objects`.
struct ObjectsSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for ObjectsSeed<'_> {
    type Value = Vec<Object>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<Object>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ObjectsSeed<'_> {
    type Value = Vec<Object>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of archived objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Object>, A::Error> {
        let object = ObjectSeed {
            budget: self.0,
            depth: 2,
        };
        let mut objects = Vec::new();
        while let Some(o) = seq.next_element_seed(object)? {
            objects.push(o);
        }
        Ok(objects)
    }
}

/// `$top`: the reference named `root`.
struct TopSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Option<u64>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<u64>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Option<u64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the archive's $top dictionary")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<u64>, A::Error> {
        let value = ScalarSeed {
            budget: self.0,
            depth: 2,
        };
        let mut root = None;
        while let Some(key) = map.next_key::<String>()? {
            let scalar = map.next_value_seed(value)?;
            if key == "root"
                && let Scalar::Unsigned(reference) = scalar
            {
                root = Some(reference);
            }
        }
        Ok(root)
    }
}

/// The archive's top-level dictionary.
struct ArchiveSeed<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for ArchiveSeed<'_> {
    type Value = KeyedArchive;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<KeyedArchive, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ArchiveSeed<'_> {
    type Value = KeyedArchive;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a keyed archive (a dictionary)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyedArchive, A::Error> {
        let (mut objects, mut root) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            self.0.spend(1)?;
            match key.as_str() {
                "$objects" => objects = Some(map.next_value_seed(ObjectsSeed(self.0))?),
                "$top" => root = map.next_value_seed(TopSeed(self.0))?,
                _ => map.next_value_seed(Skip {
                    budget: self.0,
                    depth: 2,
                })?,
            }
        }
        Ok(KeyedArchive {
            root: root.ok_or_else(|| refuse(NO_TOP))?,
            objects: objects.ok_or_else(|| refuse(NO_OBJECTS))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plist::{Dictionary, Uid, Value};

    fn binary(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        value.to_writer_binary(&mut out).unwrap();
        out
    }

    fn archive_value(objects: Vec<Value>, extra: Option<(&str, Value)>) -> Value {
        let mut top = Dictionary::new();
        top.insert("root".into(), Value::Uid(Uid::new(1)));
        let mut d = Dictionary::new();
        d.insert("$top".into(), Value::Dictionary(top));
        d.insert("$objects".into(), Value::Array(objects));
        if let Some((k, v)) = extra {
            d.insert(k.into(), v);
        }
        Value::Dictionary(d)
    }

    #[test]
    fn reads_objects_and_references() {
        let mut root = Dictionary::new();
        root.insert("Size".into(), Value::Integer(42.into()));
        root.insert("Neg".into(), Value::Integer((-3i64).into()));
        root.insert("Path".into(), Value::Uid(Uid::new(2)));
        root.insert("Nested".into(), Value::Array(vec![Value::Boolean(true)]));
        let objects = vec![
            Value::String("$null".into()),
            Value::Dictionary(root),
            Value::String("a/b".into()),
            Value::Data(vec![1, 2]),
            Value::Array(vec![]),
        ];
        let got = keyed_archive(&binary(&archive_value(
            objects,
            Some(("$version", Value::Integer(1.into()))),
        )))
        .unwrap();
        assert_eq!(got.root, 1);
        let root = got.object(1).unwrap();
        assert_eq!(root.field("Size"), Some(&Scalar::Unsigned(42)));
        assert_eq!(root.field("Neg"), Some(&Scalar::Signed(-3)));
        assert_eq!(root.field("Path"), Some(&Scalar::Unsigned(2)));
        assert_eq!(root.field("Nested"), Some(&Scalar::Nested));
        assert_eq!(got.object(2), Some(&Object::Text("a/b".into())));
        assert_eq!(got.object(3), Some(&Object::Bytes(vec![1, 2])));
        assert_eq!(got.object(4), Some(&Object::Other));
        assert_eq!(got.object(5), None);
    }

    #[test]
    fn the_fast_path_reads_archives_and_agrees_with_plist_on_damage() {
        use crate::backup::ios::mbfile::test_support::{archive, file_fields};
        let mut ns_string = Dictionary::new();
        ns_string.insert("NS.string".into(), Value::String("ünï".into()));
        ns_string.insert("$class".into(), Value::Uid(Uid::new(3)));
        let mut class = Dictionary::new();
        class.insert(
            "$classes".into(),
            Value::Array(vec!["MBFile".into(), "NSObject".into()]),
        );
        class.insert("$classname".into(), "MBFile".into());
        let mut root = Dictionary::new();
        root.insert("Size".into(), Value::Integer(u64::MAX.into()));
        root.insert("Neg".into(), Value::Integer(i64::MIN.into()));
        root.insert("Real".into(), Value::Real(1.5));
        root.insert("Flag".into(), Value::Boolean(true));
        root.insert("Name".into(), Value::Uid(Uid::new(2)));
        root.insert("Inline".into(), Value::Data(vec![1; 300]));
        let samples = [
            archive(
                &file_fields(17, 0o100644, 4),
                "Library/x",
                Some("t"),
                Some(&[4; 44]),
            ),
            archive(&file_fields(0, 0o40755, 0), "", None, None),
            binary(&archive_value(
                vec![
                    Value::String("$null".into()),
                    Value::Dictionary(root),
                    Value::Dictionary(ns_string),
                    Value::Dictionary(class),
                    Value::Real(f64::NAN),
                ],
                Some(("$version", Value::Integer(100_000.into()))),
            )),
        ];
        let mut fast_damaged = 0;
        for blob in &samples {
            // The fast path takes these, and (in debug builds) checks it agrees.
            let fast = bplist::keyed_archive(blob).expect("the fast path reads it");
            assert_eq!(
                format!("{fast:?}"),
                format!("{:?}", keyed_archive(blob).unwrap())
            );
            // Damage anywhere: whatever the fast path accepts, `plist` reads the same.
            for at in 0..blob.len() {
                for change in [0x00, 0x01, 0x0f, 0x10, 0x55, 0x80, 0xff] {
                    let mut bad = blob.clone();
                    bad[at] ^= change;
                    let mut byte = blob.clone();
                    byte[at] = change;
                    for damaged in [bad, byte] {
                        fast_damaged += usize::from(bplist::keyed_archive(&damaged).is_some());
                        let _ = keyed_archive(&damaged);
                    }
                }
                let _ = keyed_archive(&blob[..at]);
            }
        }
        // Enough damage got past the fast path's checks for the comparison to mean something.
        assert!(fast_damaged > 1000, "{fast_damaged}");
    }

    #[test]
    fn shapes_that_are_not_archives_are_refused() {
        assert!(
            keyed_archive(&binary(&Value::Array(vec![])))
                .unwrap_err()
                .contains("shape of a keyed archive")
        );
        assert!(
            keyed_archive(b"bplist00garbage")
                .unwrap_err()
                .contains("not a valid property list")
        );
        let mut no_top = Dictionary::new();
        no_top.insert("$objects".into(), Value::Array(vec![]));
        assert!(
            keyed_archive(&binary(&Value::Dictionary(no_top)))
                .unwrap_err()
                .contains("$top")
        );
        let mut bad_objects = Dictionary::new();
        bad_objects.insert("$objects".into(), Value::Integer(1.into()));
        assert!(keyed_archive(&binary(&Value::Dictionary(bad_objects))).is_err());
    }

    /// A binary plist whose objects are given already encoded, referenced by 1-byte
    /// indexes (object 0 is the top).
    fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"bplist00".to_vec();
        let mut offsets = Vec::new();
        for object in objects {
            offsets.push(out.len() as u8);
            out.extend_from_slice(object);
        }
        let table = out.len() as u64;
        out.extend_from_slice(&offsets);
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 1]);
        out.extend_from_slice(&(objects.len() as u64).to_be_bytes());
        out.extend_from_slice(&0u64.to_be_bytes());
        out.extend_from_slice(&table.to_be_bytes());
        out
    }

    fn ascii(s: &str) -> Vec<u8> {
        [vec![0x50 | s.len() as u8], s.as_bytes().to_vec()].concat()
    }

    #[test]
    fn whole_plists_read_as_values_with_dates_as_text() {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let mut d = Dictionary::new();
        d.insert("Date".into(), Value::Date(when.into()));
        d.insert(
            "List".into(),
            Value::Array(vec![Value::Integer((-1i64).into()), Value::Real(0.5)]),
        );
        d.insert("Key".into(), Value::Data(vec![9]));
        let value = Value::Dictionary(d);
        let mut xml = Vec::new();
        value.to_writer_xml(&mut xml).unwrap();
        for bytes in [binary(&value), xml] {
            let read = plist_value(&bytes, 100).unwrap();
            let dict = read.as_dictionary().unwrap();
            assert_eq!(date_of(&dict["Date"]), Some(when.into()));
            assert_eq!(
                dict["List"],
                Value::Array(vec![Value::Integer((-1i64).into()), Value::Real(0.5)])
            );
            assert_eq!(dict["Key"], Value::Data(vec![9]));
            assert!(
                plist_value(&bytes, 3)
                    .unwrap_err()
                    .contains("far more values")
            );
        }
    }

    #[test]
    fn a_date_before_year_zero_is_refused_not_a_panic() {
        let when = std::time::UNIX_EPOCH - std::time::Duration::from_secs(100_000_000_000);
        let mut d = Dictionary::new();
        d.insert("$top".into(), Value::Date(when.into()));
        let err = keyed_archive(&binary(&Value::Dictionary(d))).unwrap_err();
        assert!(err.contains("date"), "{err}");
    }

    #[test]
    fn a_reference_bomb_is_stopped_by_the_budget() {
        // 10 arrays, each holding the next one 14 times: stored once each, but read
        // naively they expand to 14^10 values.
        const LEVELS: u8 = 10;
        let mut objects = vec![
            vec![0xD2, 1, 2, 3, 4], // {"$top": 3, "$objects": 4}
            ascii("$top"),
            ascii("$objects"),
            vec![0xD1, 5, 6], // {"root": UID(1)}
            vec![0xA2, 7, 8], // ["$null", level 0]
            ascii("root"),
            vec![0x80, 1],
            ascii("$null"),
        ];
        for level in 0..LEVELS {
            let next = 8 + level + 1;
            objects.push([vec![0xAE], vec![next; 14]].concat());
        }
        objects.push(vec![0x10, 0]);
        let bytes = assemble(&objects);
        assert!(bytes.len() < 300);
        let err = keyed_archive(&bytes).unwrap_err();
        assert!(err.contains("far more values"), "{err}");
    }
}
