//! A fast path for `keyed_archive`: reads a binary plist's object table by index,
//! borrowing from the bytes, with no serde layer and no per-object event.
//!
//! Why hand-written: the `plist` crate offers no bounded reader that walks the object
//! table by index; its readers expand every reference into an event stream (allocating
//! each string and each list of references), which was most of the time of a quick
//! verification (one archive per file, 100k files in a large backup).
//!
//! It only ever answers `Some` for archives the `plist` path reads to the same result: it
//! visits the same values, spends the same budget, and checks each object at least as
//! strictly as `plist` 1.10 does (plus the layout quirks it enforces, e.g. the room it
//! wants after a dictionary's references). Anything else (dates, unusual layouts, any
//! error) is `None`, and the caller reads the archive the slow way, which words the
//! error. Every read is bounds-checked, recursion is bounded by `MAX_DEPTH`, and the work
//! by `MAX_ARCHIVE_VALUES`.

use super::plist_read::{KeyedArchive, MAX_ARCHIVE_VALUES, MAX_DEPTH, Object, Scalar};
use std::borrow::Cow;

pub(super) fn keyed_archive(bytes: &[u8]) -> Option<KeyedArchive> {
    let plist = Plist::new(bytes)?;
    let mut walk = Walk {
        plist: &plist,
        left: MAX_ARCHIVE_VALUES,
    };
    walk.archive()
}

struct Plist<'a> {
    /// Everything before the trailer: objects are read from here only.
    body: &'a [u8],
    offsets: &'a [u8],
    offset_size: usize,
    ref_size: usize,
    count: usize,
    top: u64,
}

/// One decoded object; collections keep their references as raw bytes.
enum Item<'a> {
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Real(f64),
    Text(Cow<'a, str>),
    Data(&'a [u8]),
    Array(&'a [u8]),
    /// Key references, then as many value references.
    Dict(&'a [u8]),
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b))
}

impl<'a> Plist<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < 8 + 32 || !bytes.starts_with(b"bplist00") {
            return None;
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 32);
        let size_ok = |n: u8| matches!(n, 1 | 2 | 3 | 4 | 8);
        if !size_ok(trailer[6]) || !size_ok(trailer[7]) {
            return None;
        }
        let offset_size = usize::from(trailer[6]);
        let count = usize::try_from(be(&trailer[8..16])).ok()?;
        let table = usize::try_from(be(&trailer[24..32])).ok()?;
        let end = count.checked_mul(offset_size)?.checked_add(table)?;
        Some(Self {
            body,
            offsets: body.get(table..end)?,
            offset_size,
            ref_size: usize::from(trailer[7]),
            count,
            top: be(&trailer[16..24]),
        })
    }

    /// The `i`th reference in a list of them.
    fn reference(&self, refs: &[u8], i: usize) -> u64 {
        be(&refs[i * self.ref_size..(i + 1) * self.ref_size])
    }

    /// The entries of a dictionary: (key reference, value reference).
    fn entries(&self, refs: &'a [u8]) -> impl Iterator<Item = (u64, u64)> {
        let n = refs.len() / self.ref_size / 2;
        (0..n).map(move |i| (self.reference(refs, i), self.reference(refs, n + i)))
    }

    fn item(&self, reference: u64) -> Option<Item<'a>> {
        let index = usize::try_from(reference)
            .ok()
            .filter(|&i| i < self.count)?;
        let at = index * self.offset_size;
        let offset = usize::try_from(be(&self.offsets[at..at + self.offset_size])).ok()?;
        let object = self.body.get(offset..)?;
        let (&token, rest) = object.split_first()?;
        let take = |from: usize, n: usize| rest.get(from..from.checked_add(n)?);
        let length = || -> Option<(usize, usize)> {
            if token & 0x0f != 0x0f {
                return Some((usize::from(token & 0x0f), 0));
            }
            let size = 1usize << (rest.first()? & 0x03);
            Some((usize::try_from(be(take(1, size)?)).ok()?, 1 + size))
        };
        Some(match token {
            0x08 => Item::Bool(false),
            0x09 => Item::Bool(true),
            0x10..=0x12 => Item::Unsigned(be(take(0, 1 << (token & 0x0f))?)),
            0x13 => {
                let n = be(take(0, 8)?) as i64;
                u64::try_from(n).map_or(Item::Signed(n), Item::Unsigned)
            }
            0x14 => {
                let wide = take(0, 16)?;
                if be(&wide[..8]) != 0 {
                    return None;
                }
                Item::Unsigned(be(&wide[8..]))
            }
            0x22 => Item::Real(f32::from_bits(be(take(0, 4)?) as u32).into()),
            0x23 => Item::Real(f64::from_bits(be(take(0, 8)?))),
            0x40..=0x4f => {
                let (len, skip) = length()?;
                Item::Data(take(skip, len)?)
            }
            0x50..=0x5f => {
                let (len, skip) = length()?;
                Item::Text(Cow::Borrowed(std::str::from_utf8(take(skip, len)?).ok()?))
            }
            0x60..=0x6f => {
                let (len, skip) = length()?;
                let units = take(skip, len.checked_mul(2)?)?
                    .chunks_exact(2)
                    .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
                Item::Text(Cow::Owned(
                    char::decode_utf16(units).collect::<Result<_, _>>().ok()?,
                ))
            }
            0x80..=0x87 => Item::Unsigned(be(take(0, usize::from(token & 0x0f) + 1)?)),
            0xa0..=0xaf => {
                let (len, skip) = length()?;
                Item::Array(take(skip, len.checked_mul(self.ref_size)?)?)
            }
            0xd0..=0xdf => {
                let (len, skip) = length()?;
                let refs = len.checked_mul(self.ref_size)?.checked_mul(2)?;
                // `plist` also wants as many bytes again before the trailer.
                take(skip, refs.checked_mul(2)?)?;
                Item::Dict(take(skip, refs)?)
            }
            // Dates (which `plist` may panic on), sets, null, fill, and the unknown.
            _ => return None,
        })
    }
}

struct Walk<'p, 'a> {
    plist: &'p Plist<'a>,
    left: usize,
}

impl<'a> Walk<'_, 'a> {
    fn spend(&mut self, depth: usize) -> Option<()> {
        if self.left == 0 || depth > MAX_DEPTH {
            return None;
        }
        self.left -= 1;
        Some(())
    }

    fn key(&self, reference: u64) -> Option<Cow<'a, str>> {
        match self.plist.item(reference)? {
            Item::Text(key) => Some(key),
            _ => None,
        }
    }

    /// Visits a value of any shape, as `plist_read::Skip` does.
    fn skip(&mut self, item: Item<'a>, depth: usize) -> Option<()> {
        self.spend(depth)?;
        match item {
            Item::Array(refs) => {
                for i in 0..refs.len() / self.plist.ref_size {
                    let child = self.plist.item(self.plist.reference(refs, i))?;
                    self.skip(child, depth + 1)?;
                }
            }
            Item::Dict(refs) => {
                let plist = self.plist;
                for (key, value) in plist.entries(refs) {
                    self.skip(plist.item(key)?, depth + 1)?;
                    self.skip(plist.item(value)?, depth + 1)?;
                }
            }
            _ => {}
        }
        Some(())
    }

    /// A value inside an archived dictionary, as `plist_read::ScalarSeed` reads it.
    fn scalar(&mut self, reference: u64, depth: usize) -> Option<Scalar> {
        let item = self.plist.item(reference)?;
        Some(match item {
            Item::Array(_) | Item::Dict(_) => {
                self.skip(item, depth)?;
                Scalar::Nested
            }
            scalar => {
                self.spend(depth)?;
                match scalar {
                    Item::Bool(b) => Scalar::Bool(b),
                    Item::Unsigned(n) => Scalar::Unsigned(n),
                    Item::Signed(n) => Scalar::Signed(n),
                    Item::Real(r) => Scalar::Real(r),
                    Item::Text(s) => Scalar::Text(s.into_owned()),
                    Item::Data(d) => Scalar::Bytes(d.to_vec()),
                    Item::Array(_) | Item::Dict(_) => unreachable!(),
                }
            }
        })
    }

    /// One entry of `$objects`, as `plist_read::ObjectSeed` reads it.
    fn object(&mut self, reference: u64) -> Option<Object> {
        const DEPTH: usize = 2;
        let item = self.plist.item(reference)?;
        Some(match item {
            Item::Dict(refs) => {
                self.spend(DEPTH)?;
                let mut fields = Vec::with_capacity(refs.len() / self.plist.ref_size / 2);
                let plist = self.plist;
                for (key, value) in plist.entries(refs) {
                    let key = self.key(key)?.into_owned();
                    fields.push((key, self.scalar(value, DEPTH + 1)?));
                }
                Object::Dict(fields)
            }
            Item::Array(_) => {
                self.skip(item, DEPTH)?;
                Object::Other
            }
            Item::Text(s) => {
                self.spend(DEPTH)?;
                Object::Text(s.into_owned())
            }
            Item::Data(d) => {
                self.spend(DEPTH)?;
                Object::Bytes(d.to_vec())
            }
            _ => {
                self.spend(DEPTH)?;
                Object::Other
            }
        })
    }

    /// The archive's top-level dictionary, as `plist_read::ArchiveSeed` reads it.
    fn archive(&mut self) -> Option<KeyedArchive> {
        let Item::Dict(refs) = self.plist.item(self.plist.top)? else {
            return None;
        };
        let plist = self.plist;
        let (mut objects, mut root) = (None, None);
        for (key, value) in plist.entries(refs) {
            let key = self.key(key)?;
            self.spend(1)?;
            match &*key {
                "$objects" => {
                    let Item::Array(list) = self.plist.item(value)? else {
                        return None;
                    };
                    let n = list.len() / self.plist.ref_size;
                    let mut read = Vec::with_capacity(n);
                    for i in 0..n {
                        read.push(self.object(self.plist.reference(list, i))?);
                    }
                    objects = Some(read);
                }
                "$top" => {
                    let Item::Dict(top) = self.plist.item(value)? else {
                        return None;
                    };
                    root = None;
                    for (key, value) in plist.entries(top) {
                        let key = self.key(key)?;
                        if let Scalar::Unsigned(reference) = self.scalar(value, 2)?
                            && key == "root"
                        {
                            root = Some(reference);
                        }
                    }
                }
                _ => self.skip(self.plist.item(value)?, 2)?,
            }
        }
        Some(KeyedArchive {
            root: root?,
            objects: objects?,
        })
    }
}
