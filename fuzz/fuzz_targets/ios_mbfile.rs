//! The NSKeyedArchiver MBFile records of Manifest.db: any bytes, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = plugback_core::backup::ios::mbfile::decode(data);
});
