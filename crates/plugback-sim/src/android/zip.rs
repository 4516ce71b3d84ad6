//! Zip archives with stored (uncompressed) entries: local headers, a central directory
//! and an end record, so "is this a zip" checks pass. An APK is such an archive. Written
//! by hand: a few dozen bytes of layout do not warrant a zip dependency.

use flate2::Crc;

pub(crate) const LOCAL_HEADER: u32 = 0x0403_4b50;
pub(crate) const CENTRAL_HEADER: u32 = 0x0201_4b50;
pub(crate) const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
/// Zip 1.0: stored entries need nothing newer.
const VERSION_NEEDED: u16 = 10;

/// A zip of `entries` (name, content), each stamped with the MS-DOS `(date, time)`.
pub(crate) fn stored_zip<N: AsRef<str>, D: AsRef<[u8]>>(
    entries: &[(N, D)],
    (date, time): (u16, u16),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let (name, data) = (name.as_ref(), data.as_ref());
        let mut crc = Crc::new();
        crc.update(data);
        let entry = Entry {
            crc: crc.sum(),
            size: data.len() as u32,
            name_len: name.len() as u16,
            date,
            time,
        };
        let offset = out.len() as u32;
        put32(&mut out, LOCAL_HEADER);
        entry.put_shared_fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        put32(&mut central, CENTRAL_HEADER);
        put16(&mut central, VERSION_NEEDED); // made by
        entry.put_shared_fields(&mut central);
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk number
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0); // external attributes
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    let count = entries.len() as u16;
    put32(&mut out, END_OF_CENTRAL_DIRECTORY);
    put16(&mut out, 0); // this disk
    put16(&mut out, 0); // disk of the central directory
    put16(&mut out, count);
    put16(&mut out, count);
    put32(&mut out, central_size);
    put32(&mut out, central_offset);
    put16(&mut out, 0); // comment length
    out
}

/// What a local header and its central directory record both say of an entry.
struct Entry {
    crc: u32,
    size: u32,
    name_len: u16,
    date: u16,
    time: u16,
}

impl Entry {
    /// The fields the two records share, from "version needed" to "extra field length".
    fn put_shared_fields(&self, out: &mut Vec<u8>) {
        put16(out, VERSION_NEEDED);
        put16(out, 0); // flags
        put16(out, 0); // method: stored
        put16(out, self.time);
        put16(out, self.date);
        put32(out, self.crc);
        put32(out, self.size); // compressed
        put32(out, self.size); // uncompressed
        put16(out, self.name_len);
        put16(out, 0); // extra field length
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
