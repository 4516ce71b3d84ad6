//! The BackupKeyBag TLV parser: any bytes, no panic. (Unlocking is left out: its cost is
//! the key derivation, chosen by the file, which would only slow the fuzzer down.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = plugback_core::backup::ios::Keybag::parse(data);
});
