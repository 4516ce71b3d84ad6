//! Android binary XML ("AXML"), as aapt2 compiles an `AndroidManifest.xml` into an APK: a
//! document chunk holding a UTF-16 string table, a resource map (the `android.R.attr` id
//! of each attribute name, by string index), then one chunk per namespace and tag.
//! Written by hand: a few chunk layouts do not warrant a dependency, and the simulator
//! shares no code with the reader it tests.

/// Attribute ids of the android namespace (`android.R.attr`).
const MIN_SDK_VERSION: u32 = 0x0101_020c;
const TARGET_SDK_VERSION: u32 = 0x0101_0270;
const VERSION_CODE: u32 = 0x0101_021b;
const ANDROID_URI: &str = "http://schemas.android.com/apk/res/android";

const XML: u16 = 0x0003;
const STRING_POOL: u16 = 0x0001;
const RESOURCE_MAP: u16 = 0x0180;
const START_NAMESPACE: u16 = 0x0100;
const END_NAMESPACE: u16 = 0x0101;
const START_ELEMENT: u16 = 0x0102;
const END_ELEMENT: u16 = 0x0103;
/// Res_value types.
const TYPE_STRING: u8 = 0x03;
const TYPE_INT_DEC: u8 = 0x10;
const NONE: u32 = u32::MAX;

/// What one APK's manifest declares.
pub(crate) struct Manifest<'a> {
    pub package: &'a str,
    pub version_code: u32,
    /// A split APK's split name (`config.arm64_v8a`).
    pub split: Option<&'a str>,
    /// `<uses-sdk>` (minSdkVersion, targetSdkVersion); None writes no `<uses-sdk>`.
    pub sdk: Option<(u32, u32)>,
}

/// One attribute value.
enum Value {
    Int(u32),
    Text(u32),
}

/// The string table, in the order strings were first used. The attribute names that
/// carry resource ids come first, so their indices are the resource map's.
struct Strings(Vec<String>);

impl Strings {
    fn index(&mut self, text: &str) -> u32 {
        if let Some(i) = self.0.iter().position(|s| s == text) {
            return i as u32;
        }
        self.0.push(text.to_string());
        (self.0.len() - 1) as u32
    }

    /// A ResStringPool chunk, UTF-16, no styles.
    fn chunk(&self) -> Vec<u8> {
        let count = self.0.len() as u32;
        let mut data = Vec::new();
        let mut head = Vec::new();
        put32(&mut head, count);
        put32(&mut head, 0); // styles
        put32(&mut head, 0); // flags: UTF-16, unsorted
        put32(&mut head, 28 + 4 * count); // strings start, from the chunk's start
        put32(&mut head, 0); // styles start
        for text in &self.0 {
            put32(&mut head, data.len() as u32);
            let units: Vec<u16> = text.encode_utf16().collect();
            // Manifest strings are short: the one-unit length form always fits.
            put16(&mut data, units.len() as u16);
            for unit in units {
                put16(&mut data, unit);
            }
            put16(&mut data, 0);
        }
        while data.len() % 4 != 0 {
            data.push(0);
        }
        head.extend_from_slice(&data);
        chunk(STRING_POOL, 28, &head)
    }
}

/// The binary `AndroidManifest.xml` of `manifest`:
/// `<manifest package android:versionCode [split]><uses-sdk android:minSdkVersion
/// android:targetSdkVersion/></manifest>`.
pub(crate) fn manifest_xml(manifest: &Manifest<'_>) -> Vec<u8> {
    let mut strings = Strings(Vec::new());
    let ids = [MIN_SDK_VERSION, TARGET_SDK_VERSION, VERSION_CODE];
    let min_sdk = strings.index("minSdkVersion");
    let target_sdk = strings.index("targetSdkVersion");
    let version_code = strings.index("versionCode");
    let prefix = strings.index("android");
    let uri = strings.index(ANDROID_URI);

    let mut nodes = Vec::new();
    nodes.extend(namespace(START_NAMESPACE, prefix, uri));
    // Attributes with a resource id first, sorted by id, as aapt2 writes them.
    let mut attributes = vec![(uri, version_code, Value::Int(manifest.version_code))];
    let package_name = strings.index("package");
    let package = strings.index(manifest.package);
    attributes.push((NONE, package_name, Value::Text(package)));
    if let Some(split) = manifest.split {
        let split_name = strings.index("split");
        let split = strings.index(split);
        attributes.push((NONE, split_name, Value::Text(split)));
    }
    let manifest_tag = strings.index("manifest");
    nodes.extend(start_element(manifest_tag, &attributes, 2));
    if let Some((min, target)) = manifest.sdk {
        let uses_sdk = strings.index("uses-sdk");
        let attributes = [
            (uri, min_sdk, Value::Int(min)),
            (uri, target_sdk, Value::Int(target)),
        ];
        nodes.extend(start_element(uses_sdk, &attributes, 3));
        nodes.extend(end_element(uses_sdk, 3));
    }
    nodes.extend(end_element(manifest_tag, 4));
    nodes.extend(namespace(END_NAMESPACE, prefix, uri));

    let mut body = strings.chunk();
    let mut map = Vec::new();
    for id in ids {
        put32(&mut map, id);
    }
    body.extend(chunk(RESOURCE_MAP, 8, &map));
    body.extend(nodes);
    chunk(XML, 8, &body)
}

/// A tree node's header after the chunk header: line number, then no comment.
fn node(kind: u16, line: u32, rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, line);
    put32(&mut body, NONE);
    body.extend_from_slice(rest);
    chunk(kind, 16, &body)
}

fn namespace(kind: u16, prefix: u32, uri: u32) -> Vec<u8> {
    let mut rest = Vec::new();
    put32(&mut rest, prefix);
    put32(&mut rest, uri);
    node(kind, 1, &rest)
}

fn start_element(name: u32, attributes: &[(u32, u32, Value)], line: u32) -> Vec<u8> {
    let mut rest = Vec::new();
    put32(&mut rest, NONE); // no namespace on the tag
    put32(&mut rest, name);
    put16(&mut rest, 20); // attributes start right after this extension
    put16(&mut rest, 20); // each attribute's size
    put16(&mut rest, attributes.len() as u16);
    put16(&mut rest, 0); // id attribute index
    put16(&mut rest, 0); // class
    put16(&mut rest, 0); // style
    for (namespace, name, value) in attributes {
        put32(&mut rest, *namespace);
        put32(&mut rest, *name);
        let (raw, kind, data) = match value {
            Value::Int(n) => (NONE, TYPE_INT_DEC, *n),
            Value::Text(index) => (*index, TYPE_STRING, *index),
        };
        put32(&mut rest, raw);
        put16(&mut rest, 8); // Res_value size
        rest.push(0);
        rest.push(kind);
        put32(&mut rest, data);
    }
    node(START_ELEMENT, line, &rest)
}

fn end_element(name: u32, line: u32) -> Vec<u8> {
    let mut rest = Vec::new();
    put32(&mut rest, NONE);
    put32(&mut rest, name);
    node(END_ELEMENT, line, &rest)
}

/// A chunk: type, header size, total size, then `rest` (the header's remainder and body).
fn chunk(kind: u16, header_size: u16, rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rest.len() + 8);
    put16(&mut out, kind);
    put16(&mut out, header_size);
    put32(&mut out, rest.len() as u32 + 8);
    out.extend_from_slice(rest);
    out
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// The chunk types of the document's children, walked by their sizes.
    fn children(doc: &[u8]) -> Vec<u16> {
        let mut at = usize::from(u16_at(doc, 2));
        let mut kinds = Vec::new();
        while at < doc.len() {
            kinds.push(u16_at(doc, at));
            at += u32_at(doc, at + 4) as usize;
        }
        assert_eq!(at, doc.len(), "the chunks do not tile the document");
        kinds
    }

    #[test]
    fn chunks_tile_the_document_in_aapt2_order() {
        let doc = manifest_xml(&Manifest {
            package: "com.example.notes",
            version_code: 412,
            split: None,
            sdk: Some((24, 34)),
        });
        assert_eq!(u16_at(&doc, 0), XML);
        assert_eq!(u32_at(&doc, 4) as usize, doc.len());
        assert_eq!(
            children(&doc),
            [
                STRING_POOL,
                RESOURCE_MAP,
                START_NAMESPACE,
                START_ELEMENT,
                START_ELEMENT,
                END_ELEMENT,
                END_ELEMENT,
                END_NAMESPACE
            ]
        );
        // The resource map: minSdkVersion's id at index 0, the string "minSdkVersion".
        let pool_size = u32_at(&doc, 12) as usize;
        let map = 8 + pool_size;
        assert_eq!(u32_at(&doc, map + 8), MIN_SDK_VERSION);
        let strings_start = u32_at(&doc, 8 + 20) as usize;
        let first = 8 + strings_start + u32_at(&doc, 8 + 28) as usize;
        let len = usize::from(u16_at(&doc, first));
        let name: Vec<u16> = (0..len).map(|i| u16_at(&doc, first + 2 + 2 * i)).collect();
        assert_eq!(String::from_utf16(&name).unwrap(), "minSdkVersion");
    }

    #[test]
    fn a_split_has_no_uses_sdk() {
        let doc = manifest_xml(&Manifest {
            package: "com.example.notes",
            version_code: 412,
            split: Some("config.arm64_v8a"),
            sdk: None,
        });
        let kinds = children(&doc);
        assert_eq!(
            kinds.iter().filter(|k| **k == START_ELEMENT).count(),
            1,
            "{kinds:?}"
        );
    }
}
