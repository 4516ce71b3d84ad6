//! What an APK asks of a phone, from its `AndroidManifest.xml`: the package name, the
//! versionCode and the `<uses-sdk>` levels. The APK is a zip (read with the `zip` crate);
//! the manifest inside is Android binary XML ("AXML"): a string table, a map from
//! attribute names to resource ids, then one chunk per start and end tag.
//!
//! The binary XML is read here by hand rather than with the `axmldecoder` crate: that
//! crate unwraps on crafted input (an end tag without a start tag, a string index past the
//! table) and refuses value types newer than it knows, while an APK in a backup is input
//! Plugback must read without panicking. A manifest needs only a few chunk types.

use crate::backup::BackupError;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

const MANIFEST_ENTRY: &str = "AndroidManifest.xml";
/// Real manifests are kilobytes; past this the entry is refused (a zip bomb).
const MAX_MANIFEST_BYTES: u64 = 8 * 1024 * 1024;
const ANDROID_NAMESPACE: &str = "http://schemas.android.com/apk/res/android";

/// `android.R.attr` ids: the package manager finds these attributes by id, not by name.
const ATTR_MIN_SDK_VERSION: u32 = 0x0101_020c;
const ATTR_TARGET_SDK_VERSION: u32 = 0x0101_0270;
const ATTR_VERSION_CODE: u32 = 0x0101_021b;

/// Chunk types of binary XML.
const CHUNK_STRING_POOL: u16 = 0x0001;
const CHUNK_XML: u16 = 0x0003;
const CHUNK_START_ELEMENT: u16 = 0x0102;
const CHUNK_END_ELEMENT: u16 = 0x0103;
const CHUNK_RESOURCE_MAP: u16 = 0x0180;
/// String pool flag: strings are UTF-8 (else UTF-16).
const POOL_UTF8: u32 = 0x100;
/// Typed value kinds.
const VALUE_STRING: u8 = 0x03;
const VALUE_INT_DEC: u8 = 0x10;
const VALUE_INT_HEX: u8 = 0x11;
/// "No string": an absent namespace or raw value.
const NO_INDEX: u32 = u32::MAX;
const CHUNK_HEADER: usize = 8;
/// Namespace, name, raw value index and the 8-byte typed value.
const MIN_ATTRIBUTE_SIZE: usize = 20;

/// An SDK level as a manifest states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SdkVersion {
    /// An API level (34 is Android 14).
    Level(u32),
    /// A preview's codename ("VanillaIceCream"): only phones running that preview take it.
    Preview(String),
    /// A reference into the APK's resources, or a value of another kind: the manifest
    /// alone does not tell the level.
    Unresolved,
}

/// What one APK's manifest says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApkManifest {
    pub package: Option<String>,
    pub version_code: Option<u32>,
    /// The split a split APK holds (`config.arm64_v8a`); None for a base APK.
    pub split: Option<String>,
    /// `<uses-sdk android:minSdkVersion>`; None when not stated (Android then assumes 1).
    pub min_sdk: Option<SdkVersion>,
    pub target_sdk: Option<SdkVersion>,
}

/// Why a manifest's bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AxmlError {
    #[error("is not Android binary XML")]
    NotBinaryXml,
    #[error("is damaged ({0})")]
    Damaged(&'static str),
    #[error("has no <manifest> element")]
    NoManifest,
}

/// The lowest Android an app of a backup installs on: the highest minSdkVersion among its
/// APKs, or why that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppMinSdk {
    pub package: String,
    pub min_sdk: Result<u32, String>,
}

/// Reads the manifest of the APK at `path`.
pub fn read(path: &Path) -> Result<ApkManifest, BackupError> {
    let bytes = manifest_bytes(path)?;
    parse(&bytes).map_err(|err| malformed(path, format!("its {MANIFEST_ENTRY} {err}")))
}

/// The highest minSdkVersion of an app's APKs (a base and its splits). Android assumes 1
/// where no APK states one.
pub fn app_min_sdk(package: &str, apks: &[PathBuf]) -> AppMinSdk {
    let mut highest = 1;
    for apk in apks {
        let name = apk.file_name().map_or_else(
            || apk.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let manifest = match read(apk) {
            Ok(manifest) => manifest,
            Err(err) => {
                let why = match err {
                    BackupError::Malformed { detail, .. } => detail,
                    other => other.to_string(),
                };
                return unknown(package, format!("{name}: {why}"));
            }
        };
        match manifest.min_sdk {
            None => {}
            Some(SdkVersion::Level(level)) => highest = highest.max(level),
            Some(SdkVersion::Preview(codename)) => {
                return unknown(
                    package,
                    format!("it is built for a preview of Android ({codename})"),
                );
            }
            Some(SdkVersion::Unresolved) => {
                return unknown(
                    package,
                    format!("{name} gives its minimum Android in a form Plugback cannot read"),
                );
            }
        }
    }
    AppMinSdk {
        package: package.to_string(),
        min_sdk: Ok(highest),
    }
}

fn unknown(package: &str, why: String) -> AppMinSdk {
    AppMinSdk {
        package: package.to_string(),
        min_sdk: Err(why),
    }
}

fn malformed(path: &Path, detail: String) -> BackupError {
    BackupError::Malformed {
        path: path.to_path_buf(),
        detail,
    }
}

/// The uncompressed bytes of the APK's manifest entry.
fn manifest_bytes(path: &Path) -> Result<Vec<u8>, BackupError> {
    let file = File::open(path).map_err(|e| BackupError::io(path, e))?;
    let zip_error = |err: zip::result::ZipError| match err {
        zip::result::ZipError::Io(source) => BackupError::io(path, source),
        zip::result::ZipError::FileNotFound => {
            malformed(path, format!("the APK has no {MANIFEST_ENTRY}"))
        }
        other => malformed(path, format!("not a readable APK (zip): {other}")),
    };
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_error)?;
    let entry = archive.by_name(MANIFEST_ENTRY).map_err(zip_error)?;
    let too_large = || {
        malformed(
            path,
            format!("its {MANIFEST_ENTRY} is larger than {MAX_MANIFEST_BYTES} bytes"),
        )
    };
    if entry.size() > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    entry
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| {
            malformed(
                path,
                format!("its {MANIFEST_ENTRY} cannot be unpacked: {err}"),
            )
        })?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a binary `AndroidManifest.xml`. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8]) -> Result<ApkManifest, AxmlError> {
    let document = Chunk::at(bytes, 0, bytes.len()).ok_or(AxmlError::NotBinaryXml)?;
    if document.kind != CHUNK_XML {
        return Err(AxmlError::NotBinaryXml);
    }
    let mut strings: Option<StringPool> = None;
    let mut resource_ids: &[u8] = &[];
    let mut manifest = ApkManifest::default();
    let mut found_manifest = false;
    let mut depth = 0usize;
    let mut at = document.body_start();
    while at < document.end {
        let chunk = Chunk::at(bytes, at, document.end)
            .ok_or(AxmlError::Damaged("a chunk runs past the end"))?;
        let body = &bytes[chunk.start..chunk.end];
        match chunk.kind {
            CHUNK_STRING_POOL => strings = Some(StringPool::new(body)?),
            CHUNK_RESOURCE_MAP => resource_ids = &body[chunk.header_size..],
            CHUNK_START_ELEMENT => {
                let strings = strings.as_ref().ok_or(AxmlError::Damaged(
                    "an element comes before the string table",
                ))?;
                let element = Element::new(body, chunk.header_size)?;
                depth += 1;
                let name = strings.get(element.name);
                match (depth, name.as_deref()) {
                    (1, Some("manifest")) => {
                        found_manifest = true;
                        read_manifest_element(&element, strings, resource_ids, &mut manifest);
                    }
                    (1, _) => return Err(AxmlError::NoManifest),
                    (2, Some("uses-sdk")) => {
                        read_uses_sdk(&element, strings, resource_ids, &mut manifest);
                    }
                    _ => {}
                }
            }
            CHUNK_END_ELEMENT => depth = depth.saturating_sub(1),
            // Namespaces, text and anything newer say nothing this reader needs.
            _ => {}
        }
        at = chunk.end;
    }
    if found_manifest {
        Ok(manifest)
    } else {
        Err(AxmlError::NoManifest)
    }
}

fn read_manifest_element(
    element: &Element<'_>,
    strings: &StringPool<'_>,
    resource_ids: &[u8],
    manifest: &mut ApkManifest,
) {
    for attribute in element.attributes() {
        match attribute.identity(strings, resource_ids) {
            Identity::Android(ATTR_VERSION_CODE) => {
                manifest.version_code = match attribute.value(strings) {
                    Value::Int(code) => Some(code),
                    Value::Text(text) => text.trim().parse().ok(),
                    Value::Other => None,
                };
            }
            Identity::Plain(name) if name == "package" || name == "split" => {
                if let Value::Text(text) = attribute.value(strings) {
                    if name == "package" {
                        manifest.package = Some(text);
                    } else {
                        manifest.split = Some(text);
                    }
                }
            }
            _ => {}
        }
    }
}

fn read_uses_sdk(
    element: &Element<'_>,
    strings: &StringPool<'_>,
    resource_ids: &[u8],
    manifest: &mut ApkManifest,
) {
    for attribute in element.attributes() {
        let slot = match attribute.identity(strings, resource_ids) {
            Identity::Android(ATTR_MIN_SDK_VERSION) => &mut manifest.min_sdk,
            Identity::Android(ATTR_TARGET_SDK_VERSION) => &mut manifest.target_sdk,
            _ => continue,
        };
        *slot = Some(match attribute.value(strings) {
            Value::Int(level) => SdkVersion::Level(level),
            Value::Text(text) => sdk_from_text(&text),
            Value::Other => SdkVersion::Unresolved,
        });
    }
}

/// "34" is a level; a name of letters and digits is a preview's codename.
fn sdk_from_text(text: &str) -> SdkVersion {
    let text = text.trim();
    if let Ok(level) = text.parse() {
        SdkVersion::Level(level)
    } else if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric()) {
        SdkVersion::Preview(text.to_string())
    } else {
        SdkVersion::Unresolved
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// One chunk: a type, a header size and a total size, checked to lie within its parent.
struct Chunk {
    kind: u16,
    start: usize,
    header_size: usize,
    end: usize,
}

impl Chunk {
    fn at(bytes: &[u8], start: usize, limit: usize) -> Option<Chunk> {
        let kind = u16_at(bytes, start)?;
        let header_size = usize::from(u16_at(bytes, start + 2)?);
        let size = usize::try_from(u32_at(bytes, start + 4)?).ok()?;
        let end = start.checked_add(size)?;
        // At least a header, so every step moves on.
        (header_size >= CHUNK_HEADER && size >= header_size && end <= limit.min(bytes.len()))
            .then_some(Chunk {
                kind,
                start,
                header_size,
                end,
            })
    }

    fn body_start(&self) -> usize {
        self.start + self.header_size
    }
}

/// The string table, decoded one string at a time as attributes ask for them.
struct StringPool<'a> {
    /// The whole chunk, header included.
    chunk: &'a [u8],
    count: usize,
    offsets_at: usize,
    strings_at: usize,
    utf8: bool,
}

impl<'a> StringPool<'a> {
    fn new(chunk: &'a [u8]) -> Result<StringPool<'a>, AxmlError> {
        let damaged = AxmlError::Damaged("the string table is malformed");
        let header_size = usize::from(u16_at(chunk, 2).ok_or(damaged.clone())?);
        let count = u32_at(chunk, 8).ok_or(damaged.clone())? as usize;
        let flags = u32_at(chunk, 16).ok_or(damaged.clone())?;
        let strings_at = u32_at(chunk, 20).ok_or(damaged.clone())? as usize;
        let offsets_end = count
            .checked_mul(4)
            .and_then(|n| n.checked_add(header_size))
            .ok_or(damaged.clone())?;
        if header_size < 28 || offsets_end > chunk.len() || strings_at > chunk.len() {
            return Err(damaged);
        }
        Ok(StringPool {
            chunk,
            count,
            offsets_at: header_size,
            strings_at,
            utf8: flags & POOL_UTF8 != 0,
        })
    }

    /// String `index`, or None when the index or the string is out of bounds or invalid.
    fn get(&self, index: u32) -> Option<String> {
        let index = usize::try_from(index).ok()?;
        if index >= self.count {
            return None;
        }
        let offset = u32_at(self.chunk, self.offsets_at + index * 4)? as usize;
        let at = self.strings_at.checked_add(offset)?;
        if self.utf8 {
            // Length in UTF-16 units (skipped), then in bytes, each 1 or 2 bytes long.
            let (_, at) = utf8_length(self.chunk, at)?;
            let (len, at) = utf8_length(self.chunk, at)?;
            let bytes = self.chunk.get(at..at.checked_add(len)?)?;
            String::from_utf8(bytes.to_vec()).ok()
        } else {
            let (len, at) = utf16_length(self.chunk, at)?;
            let bytes = self.chunk.get(at..at.checked_add(len.checked_mul(2)?)?)?;
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
    }
}

/// A UTF-8 pool length: one byte, or two when the first has its high bit set.
fn utf8_length(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(at)?;
    if first & 0x80 == 0 {
        Some((usize::from(first), at + 1))
    } else {
        let second = *bytes.get(at + 1)?;
        Some((
            (usize::from(first & 0x7f) << 8) | usize::from(second),
            at + 2,
        ))
    }
}

/// A UTF-16 pool length: one unit, or two when the first has its high bit set.
fn utf16_length(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = u16_at(bytes, at)?;
    if first & 0x8000 == 0 {
        Some((usize::from(first), at + 2))
    } else {
        let second = u16_at(bytes, at + 2)?;
        Some((
            (usize::from(first & 0x7fff) << 16) | usize::from(second),
            at + 4,
        ))
    }
}

/// A start tag: its name and where its attributes are.
struct Element<'a> {
    name: u32,
    attributes: &'a [u8],
    stride: usize,
    count: usize,
}

impl<'a> Element<'a> {
    /// `chunk` is the whole start-element chunk; its extension follows the node header.
    fn new(chunk: &'a [u8], header_size: usize) -> Result<Element<'a>, AxmlError> {
        let damaged = AxmlError::Damaged("a start tag is malformed");
        let ext = header_size;
        let name = u32_at(chunk, ext + 4).ok_or(damaged.clone())?;
        let start = usize::from(u16_at(chunk, ext + 8).ok_or(damaged.clone())?);
        let stride = usize::from(u16_at(chunk, ext + 10).ok_or(damaged.clone())?);
        let count = usize::from(u16_at(chunk, ext + 12).ok_or(damaged.clone())?);
        let from = ext + start;
        let to = stride
            .checked_mul(count)
            .and_then(|n| n.checked_add(from))
            .ok_or(damaged.clone())?;
        if stride < MIN_ATTRIBUTE_SIZE && count > 0 {
            return Err(damaged);
        }
        let attributes = chunk.get(from..to).ok_or(damaged)?;
        Ok(Element {
            name,
            attributes,
            stride,
            count,
        })
    }

    fn attributes(&self) -> impl Iterator<Item = Attribute<'a>> + '_ {
        (0..self.count).filter_map(move |i| {
            let at = i * self.stride;
            self.attributes
                .get(at..at + MIN_ATTRIBUTE_SIZE)
                .map(|bytes| Attribute { bytes })
        })
    }
}

/// One attribute: namespace, name, raw value, then a typed value (size, 0, type, data).
struct Attribute<'a> {
    bytes: &'a [u8],
}

/// Who an attribute is: an `android:` attribute by its resource id, or a plain name.
enum Identity {
    Android(u32),
    Plain(String),
    Unknown,
}

/// What an attribute holds.
enum Value {
    Int(u32),
    Text(String),
    Other,
}

impl Attribute<'_> {
    fn field(&self, at: usize) -> u32 {
        u32_at(self.bytes, at).unwrap_or(NO_INDEX)
    }

    fn identity(&self, strings: &StringPool<'_>, resource_ids: &[u8]) -> Identity {
        let name = self.field(4);
        let id = usize::try_from(name)
            .ok()
            .and_then(|i| i.checked_mul(4))
            .and_then(|at| u32_at(resource_ids, at))
            .filter(|id| *id != 0);
        if let Some(id) = id {
            return Identity::Android(id);
        }
        let Some(text) = strings.get(name) else {
            return Identity::Unknown;
        };
        let namespace = self.field(0);
        if namespace == NO_INDEX {
            return Identity::Plain(text);
        }
        // Without a resource map entry, an android: attribute is known by its name.
        if strings.get(namespace).as_deref() == Some(ANDROID_NAMESPACE) {
            return match text.as_str() {
                "minSdkVersion" => Identity::Android(ATTR_MIN_SDK_VERSION),
                "targetSdkVersion" => Identity::Android(ATTR_TARGET_SDK_VERSION),
                "versionCode" => Identity::Android(ATTR_VERSION_CODE),
                _ => Identity::Unknown,
            };
        }
        Identity::Unknown
    }

    fn value(&self, strings: &StringPool<'_>) -> Value {
        let kind = self.bytes.get(15).copied().unwrap_or(0);
        let data = self.field(16);
        match kind {
            VALUE_INT_DEC | VALUE_INT_HEX => Value::Int(data),
            VALUE_STRING => strings.get(data).map_or(Value::Other, Value::Text),
            _ => match self.field(8) {
                NO_INDEX => Value::Other,
                raw => strings.get(raw).map_or(Value::Other, Value::Text),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A typed attribute value, as the tests write it.
    enum Typed {
        Int(u32),
        Text(&'static str),
        Reference(u32),
    }

    /// Writes binary XML by the layout, for hand-made cases: a UTF-8 or UTF-16 string
    /// table, an optional resource map, then `<manifest>` with optional `<uses-sdk>`.
    struct Axml {
        utf8: bool,
        strings: Vec<String>,
        resource_ids: Vec<u32>,
    }

    impl Axml {
        fn new(utf8: bool) -> Axml {
            Axml {
                utf8,
                strings: Vec::new(),
                resource_ids: Vec::new(),
            }
        }

        fn string(&mut self, text: &str) -> u32 {
            match self.strings.iter().position(|s| s == text) {
                Some(i) => i as u32,
                None => {
                    self.strings.push(text.to_string());
                    self.strings.len() as u32 - 1
                }
            }
        }

        /// An android: attribute name with its resource id (ids take the first indices).
        fn android_attr(&mut self, name: &str, id: u32) -> u32 {
            assert_eq!(self.strings.len(), self.resource_ids.len());
            self.resource_ids.push(id);
            self.string(name)
        }

        fn attribute(&mut self, out: &mut Vec<u8>, ns: u32, name: u32, value: &Typed) {
            let (raw, kind, data) = match value {
                Typed::Int(n) => (NO_INDEX, VALUE_INT_DEC, *n),
                Typed::Text(text) => {
                    let i = self.string(text);
                    (i, VALUE_STRING, i)
                }
                Typed::Reference(id) => (NO_INDEX, 0x01, *id),
            };
            for word in [ns, name, raw] {
                out.extend_from_slice(&word.to_le_bytes());
            }
            out.extend_from_slice(&8u16.to_le_bytes());
            out.push(0);
            out.push(kind);
            out.extend_from_slice(&data.to_le_bytes());
        }

        fn start(&mut self, name: &str, attributes: &[(u32, u32, Typed)]) -> Vec<u8> {
            let name = self.string(name);
            let mut attrs = Vec::new();
            for (ns, attr, value) in attributes {
                self.attribute(&mut attrs, *ns, *attr, value);
            }
            let mut body = Vec::new();
            for word in [1, NO_INDEX, NO_INDEX, name] {
                body.extend_from_slice(&word.to_le_bytes());
            }
            for half in [20u16, 20, attributes.len() as u16, 0, 0, 0] {
                body.extend_from_slice(&half.to_le_bytes());
            }
            body.extend_from_slice(&attrs);
            chunk(CHUNK_START_ELEMENT, 16, &body)
        }

        fn end(&mut self, name: &str) -> Vec<u8> {
            let name = self.string(name);
            let mut body = Vec::new();
            for word in [1, NO_INDEX, NO_INDEX, name] {
                body.extend_from_slice(&word.to_le_bytes());
            }
            chunk(CHUNK_END_ELEMENT, 16, &body)
        }

        fn pool(&self) -> Vec<u8> {
            let mut data = Vec::new();
            let mut offsets = Vec::new();
            for s in &self.strings {
                offsets.extend_from_slice(&(data.len() as u32).to_le_bytes());
                if self.utf8 {
                    data.push(s.encode_utf16().count() as u8);
                    data.push(s.len() as u8);
                    data.extend_from_slice(s.as_bytes());
                    data.push(0);
                } else {
                    let units: Vec<u16> = s.encode_utf16().collect();
                    data.extend_from_slice(&(units.len() as u16).to_le_bytes());
                    for unit in units {
                        data.extend_from_slice(&unit.to_le_bytes());
                    }
                    data.extend_from_slice(&[0, 0]);
                }
            }
            while data.len() % 4 != 0 {
                data.push(0);
            }
            let count = self.strings.len() as u32;
            let mut header = Vec::new();
            let flags = if self.utf8 { POOL_UTF8 } else { 0 };
            for word in [count, 0, flags, 28 + 4 * count, 0] {
                header.extend_from_slice(&word.to_le_bytes());
            }
            header.extend_from_slice(&offsets);
            header.extend_from_slice(&data);
            chunk(CHUNK_STRING_POOL, 28, &header)
        }

        fn document(&self, elements: &[Vec<u8>], with_map: bool) -> Vec<u8> {
            let mut body = self.pool();
            if with_map {
                let ids: Vec<u8> = self
                    .resource_ids
                    .iter()
                    .flat_map(|id| id.to_le_bytes())
                    .collect();
                body.extend(chunk(CHUNK_RESOURCE_MAP, 8, &ids));
            }
            for element in elements {
                body.extend_from_slice(element);
            }
            chunk(CHUNK_XML, 8, &body)
        }
    }

    /// A chunk of `kind` whose header (type, header size, size) precedes `rest`, where
    /// `rest` holds the remainder of the header and the body.
    fn chunk(kind: u16, header_size: u16, rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&header_size.to_le_bytes());
        out.extend_from_slice(&(rest.len() as u32 + 8).to_le_bytes());
        out.extend_from_slice(rest);
        out
    }

    /// `<manifest package versionCode><uses-sdk min target/></manifest>`.
    fn manifest(utf8: bool, min: Typed, target: Option<Typed>, with_map: bool) -> Vec<u8> {
        let mut x = Axml::new(utf8);
        let min_name = x.android_attr("minSdkVersion", ATTR_MIN_SDK_VERSION);
        let target_name = x.android_attr("targetSdkVersion", ATTR_TARGET_SDK_VERSION);
        let code_name = x.android_attr("versionCode", ATTR_VERSION_CODE);
        let android = x.string(ANDROID_NAMESPACE);
        let package = x.string("package");
        let start = x.start(
            "manifest",
            &[
                (android, code_name, Typed::Int(412)),
                (NO_INDEX, package, Typed::Text("com.example.notes")),
            ],
        );
        let mut sdk = vec![(android, min_name, min)];
        if let Some(target) = target {
            sdk.push((android, target_name, target));
        }
        let uses = x.start("uses-sdk", &sdk);
        let uses_end = x.end("uses-sdk");
        let end = x.end("manifest");
        x.document(&[start, uses, uses_end, end], with_map)
    }

    #[test]
    fn utf16_and_utf8_tables_give_package_version_and_levels() {
        for utf8 in [false, true] {
            let bytes = manifest(utf8, Typed::Int(26), Some(Typed::Int(34)), true);
            let read = parse(&bytes).unwrap();
            assert_eq!(
                read,
                ApkManifest {
                    package: Some("com.example.notes".into()),
                    version_code: Some(412),
                    split: None,
                    min_sdk: Some(SdkVersion::Level(26)),
                    target_sdk: Some(SdkVersion::Level(34)),
                },
                "utf8: {utf8}"
            );
        }
    }

    #[test]
    fn levels_given_as_text_codenames_and_references() {
        let level = |min| parse(&manifest(false, min, None, true)).unwrap().min_sdk;
        assert_eq!(level(Typed::Text("21")), Some(SdkVersion::Level(21)));
        assert_eq!(
            level(Typed::Text("VanillaIceCream")),
            Some(SdkVersion::Preview("VanillaIceCream".into()))
        );
        assert_eq!(
            level(Typed::Reference(0x7f0b_0001)),
            Some(SdkVersion::Unresolved)
        );
        // No resource map: android: attributes are known by name and namespace.
        let bare = parse(&manifest(true, Typed::Int(30), None, false)).unwrap();
        assert_eq!(bare.min_sdk, Some(SdkVersion::Level(30)));
        assert_eq!(bare.target_sdk, None);
        assert_eq!(bare.version_code, Some(412));
    }

    #[test]
    fn a_manifest_without_uses_sdk_states_no_level() {
        let mut x = Axml::new(false);
        let package = x.string("package");
        let split = x.string("split");
        let start = x.start(
            "manifest",
            &[
                (NO_INDEX, package, Typed::Text("com.example.maps")),
                (NO_INDEX, split, Typed::Text("config.arm64_v8a")),
            ],
        );
        let end = x.end("manifest");
        let read = parse(&x.document(&[start, end], true)).unwrap();
        assert_eq!(read.package.as_deref(), Some("com.example.maps"));
        assert_eq!(read.split.as_deref(), Some("config.arm64_v8a"));
        assert_eq!(read.min_sdk, None);
    }

    #[test]
    fn text_xml_and_other_roots_are_refused() {
        assert_eq!(
            parse(b"<?xml version=\"1.0\"?><manifest package=\"a.b\"/>"),
            Err(AxmlError::NotBinaryXml)
        );
        let mut x = Axml::new(true);
        let start = x.start("resources", &[]);
        let end = x.end("resources");
        assert_eq!(
            parse(&x.document(&[start, end], false)),
            Err(AxmlError::NoManifest)
        );
    }

    #[test]
    fn no_bytes_make_the_reader_panic() {
        let good = manifest(false, Typed::Int(26), Some(Typed::Int(34)), true);
        // Every prefix: cut short anywhere.
        for len in 0..good.len() {
            let _ = parse(&good[..len]);
        }
        // Every byte changed to a few telling values (sizes, counts, offsets, types).
        for at in 0..good.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[at] = value;
                let _ = parse(&bad);
            }
        }
        // Noise, deterministic.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2_000 {
            let len = (state % 700) as usize;
            let mut noise = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                noise.push(state as u8);
            }
            // Half of them with a real document header, to get past the first check.
            if len > 8 && state.is_multiple_of(2) {
                noise[..8].copy_from_slice(&good[..8]);
            }
            let _ = parse(&noise);
        }
        assert!(parse(&good[..good.len() - 1]).is_err());
    }

    /// The simulator writes its APKs' manifests with its own writer: this reads them.
    #[test]
    fn the_simulated_backups_apks_are_read() {
        use plugback_sim::make_backup::{Kind, Spec, make_backup};
        let dir = tempfile::tempdir().unwrap();
        let mut spec = Spec::new(Kind::AndroidFolder);
        spec.app_min_sdk.insert("com.example.photos".into(), 35);
        let out = dir.path().join("backup");
        make_backup(&spec, &out).unwrap();
        let notes = out.join("apps/com.example.notes");
        let base = read(&notes.join("base.apk")).unwrap();
        assert_eq!(
            base,
            ApkManifest {
                package: Some("com.example.notes".into()),
                version_code: Some(412),
                split: None,
                min_sdk: Some(SdkVersion::Level(24)),
                target_sdk: Some(SdkVersion::Level(34)),
            }
        );
        let split = read(&notes.join("split_config.arm64_v8a.apk")).unwrap();
        assert_eq!(split.split.as_deref(), Some("config.arm64_v8a"));
        assert_eq!(split.min_sdk, None);
        let apks = [
            notes.join("base.apk"),
            notes.join("split_config.arm64_v8a.apk"),
        ];
        assert_eq!(app_min_sdk("com.example.notes", &apks).min_sdk, Ok(24));
        let photos = app_min_sdk(
            "com.example.photos",
            &[out.join("apps/com.example.photos/base.apk")],
        );
        assert_eq!(photos.min_sdk, Ok(35));
    }

    #[test]
    fn apks_are_read_from_their_zip_and_bad_ones_are_explained() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let apk = dir.path().join("base.apk");
        let write_zip = |path: &Path, entries: &[(&str, &[u8])], deflate: bool| {
            let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
            let method = if deflate {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            for (name, data) in entries {
                zip.start_file(*name, options).unwrap();
                zip.write_all(data).unwrap();
            }
            zip.finish().unwrap();
        };
        let manifest_bytes = manifest(false, Typed::Int(35), None, true);
        for deflate in [false, true] {
            write_zip(&apk, &[(MANIFEST_ENTRY, &manifest_bytes)], deflate);
            let read = read(&apk).unwrap();
            assert_eq!(read.min_sdk, Some(SdkVersion::Level(35)));
        }
        let app = app_min_sdk("com.example.notes", std::slice::from_ref(&apk));
        assert_eq!(app.min_sdk, Ok(35));

        let text = dir.path().join("text.apk");
        write_zip(&text, &[(MANIFEST_ENTRY, b"<manifest/>")], false);
        let err = read(&text).unwrap_err();
        assert_eq!(err.code(), "malformed");
        assert!(err.to_string().contains("not Android binary XML"), "{err}");
        let app = app_min_sdk("com.example.notes", &[apk, text]);
        assert!(
            app.min_sdk.as_ref().unwrap_err().starts_with("text.apk: "),
            "{app:?}"
        );

        let none = dir.path().join("none.apk");
        write_zip(&none, &[("classes.dex", b"dex\n035\0")], false);
        assert!(
            read(&none)
                .unwrap_err()
                .to_string()
                .contains("has no AndroidManifest.xml")
        );
        let junk = dir.path().join("junk.apk");
        std::fs::write(&junk, b"not a zip at all").unwrap();
        assert_eq!(read(&junk).unwrap_err().code(), "malformed");
        assert_eq!(
            read(&dir.path().join("missing.apk")).unwrap_err().code(),
            "io-error"
        );
    }
}
