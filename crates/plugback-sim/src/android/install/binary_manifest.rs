//! The package manager's reading of a binary AndroidManifest.xml (Android's compiled XML):
//! the package name on `<manifest>` and `minSdkVersion` on `<uses-sdk>`, which is all an
//! install checks here. Its own small reader: the simulator shares no code with Plugback.

/// `android.R.attr.minSdkVersion`: phones find the attribute by this id, not its name.
const MIN_SDK_VERSION_ID: u32 = 0x0101_020c;
const NO_STRING: u32 = u32::MAX;

/// What an install needs of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BinaryManifest {
    pub package: Option<String>,
    pub min_sdk: MinSdk,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MinSdk {
    /// An API level; 1 when the manifest states none.
    Level(u32),
    /// A preview's codename: only that preview installs the app.
    Codename(String),
}

/// Little-endian reads that say None past the end instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.0.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The manifest in `bytes`, or None when they are not binary XML with a `<manifest>`.
pub(crate) fn read(bytes: &[u8]) -> Option<BinaryManifest> {
    let doc = Bytes(bytes);
    if doc.u16(0)? != 0x0003 {
        return None;
    }
    let end = (doc.u32(4)? as usize).min(bytes.len());
    let mut at = usize::from(doc.u16(2)?);
    let mut strings: Vec<Option<String>> = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut depth = 0u32;
    let mut result: Option<BinaryManifest> = None;
    while at + 8 <= end {
        let kind = doc.u16(at)?;
        let size = doc.u32(at + 4)? as usize;
        if size < 8 || at.checked_add(size)? > end {
            return None;
        }
        let chunk = &bytes[at..at + size];
        match kind {
            0x0001 => strings = string_pool(chunk)?,
            0x0180 => {
                ids = chunk[8.min(chunk.len())..]
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
            }
            0x0102 => {
                depth += 1;
                let tag = Tag::parse(chunk, &strings)?;
                match (depth, tag.name.as_deref()) {
                    (1, Some("manifest")) => {
                        result = Some(BinaryManifest {
                            package: tag.text_of(&strings, &ids, "package", None),
                            min_sdk: MinSdk::Level(1),
                        });
                    }
                    (1, _) => return None,
                    (2, Some("uses-sdk")) => {
                        if let Some(manifest) = result.as_mut()
                            && let Some(min) = tag.min_sdk(&strings, &ids)
                        {
                            manifest.min_sdk = min;
                        }
                    }
                    _ => {}
                }
            }
            0x0103 => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += size;
    }
    result
}

/// Every string of a string pool chunk (None for one that cannot be decoded).
fn string_pool(chunk: &[u8]) -> Option<Vec<Option<String>>> {
    let pool = Bytes(chunk);
    let header = usize::from(pool.u16(2)?);
    let count = pool.u32(8)? as usize;
    let utf8 = pool.u32(16)? & 0x100 != 0;
    let data = pool.u32(20)? as usize;
    // Each string has a 4-byte offset inside the chunk: a larger count is a lie.
    if count > chunk.len() / 4 {
        return None;
    }
    let mut strings = Vec::with_capacity(count);
    for i in 0..count {
        let start = data.checked_add(pool.u32(header + 4 * i)? as usize)?;
        strings.push(if utf8 {
            decode_utf8(&pool, start)
        } else {
            decode_utf16(&pool, start)
        });
    }
    Some(strings)
}

fn decode_utf8(pool: &Bytes<'_>, at: usize) -> Option<String> {
    // Two lengths (UTF-16 units, then bytes), each one byte or two with the high bit set.
    let skip = |at: usize| -> Option<(usize, usize)> {
        let b = *pool.0.get(at)?;
        if b & 0x80 == 0 {
            Some((usize::from(b), at + 1))
        } else {
            Some((
                (usize::from(b & 0x7f) << 8) | usize::from(*pool.0.get(at + 1)?),
                at + 2,
            ))
        }
    };
    let (_, at) = skip(at)?;
    let (len, at) = skip(at)?;
    std::str::from_utf8(pool.0.get(at..at.checked_add(len)?)?)
        .ok()
        .map(str::to_string)
}

fn decode_utf16(pool: &Bytes<'_>, at: usize) -> Option<String> {
    let first = pool.u16(at)?;
    let (len, at) = if first & 0x8000 == 0 {
        (usize::from(first), at + 2)
    } else {
        (
            (usize::from(first & 0x7fff) << 16) | usize::from(pool.u16(at + 2)?),
            at + 4,
        )
    };
    let units: Option<Vec<u16>> = (0..len).map(|i| pool.u16(at + 2 * i)).collect();
    String::from_utf16(&units?).ok()
}

/// A start tag: its name and its attributes (namespace, name index, raw, type, data).
struct Tag {
    name: Option<String>,
    attributes: Vec<(u32, u32, u8, u32)>,
}

impl Tag {
    fn parse(chunk: &[u8], strings: &[Option<String>]) -> Option<Tag> {
        let node = Bytes(chunk);
        let ext = usize::from(node.u16(2)?);
        let name = node.u32(ext + 4)?;
        let first = ext + usize::from(node.u16(ext + 8)?);
        let stride = usize::from(node.u16(ext + 10)?);
        let count = usize::from(node.u16(ext + 12)?);
        if count > 0 && stride < 20 {
            return None;
        }
        let mut attributes = Vec::with_capacity(count);
        for i in 0..count {
            let at = first.checked_add(i.checked_mul(stride)?)?;
            attributes.push((
                node.u32(at + 4)?,
                node.u32(at + 8)?,
                *chunk.get(at + 15)?,
                node.u32(at + 16)?,
            ));
        }
        Some(Tag {
            name: string_at(strings, name),
            attributes,
        })
    }

    /// The text of the attribute called `name` or with resource `id`.
    fn text_of(
        &self,
        strings: &[Option<String>],
        ids: &[u32],
        name: &str,
        id: Option<u32>,
    ) -> Option<String> {
        self.find(strings, ids, name, id)
            .and_then(|(raw, kind, data)| {
                if kind == 0x03 {
                    string_at(strings, data)
                } else {
                    string_at(strings, raw)
                }
            })
    }

    fn min_sdk(&self, strings: &[Option<String>], ids: &[u32]) -> Option<MinSdk> {
        let (raw, kind, data) =
            self.find(strings, ids, "minSdkVersion", Some(MIN_SDK_VERSION_ID))?;
        if kind == 0x10 || kind == 0x11 {
            return Some(MinSdk::Level(data));
        }
        let text = string_at(strings, if kind == 0x03 { data } else { raw })?;
        Some(match text.trim().parse() {
            Ok(level) => MinSdk::Level(level),
            Err(_) => MinSdk::Codename(text),
        })
    }

    /// (raw, type, data) of the attribute with resource `id`, else called `name`.
    fn find(
        &self,
        strings: &[Option<String>],
        ids: &[u32],
        name: &str,
        id: Option<u32>,
    ) -> Option<(u32, u8, u32)> {
        let id_of = |index: u32| ids.get(index as usize).copied();
        self.attributes
            .iter()
            .find(|(attr, ..)| id.is_some() && id_of(*attr) == id)
            .or_else(|| {
                self.attributes
                    .iter()
                    .find(|(attr, ..)| string_at(strings, *attr).as_deref() == Some(name))
            })
            .map(|(_, raw, kind, data)| (*raw, *kind, *data))
    }
}

fn string_at(strings: &[Option<String>], index: u32) -> Option<String> {
    if index == NO_STRING {
        return None;
    }
    strings.get(index as usize).cloned().flatten()
}
