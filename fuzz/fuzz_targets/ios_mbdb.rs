//! The legacy Manifest.mbdb file list: any bytes, no panic, no huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = plugback_core::backup::ios::mbdb::parse(data);
});
