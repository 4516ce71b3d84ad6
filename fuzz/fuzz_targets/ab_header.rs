//! The text header of Android .ab files: any bytes, no panic, bounded reads.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = std::io::BufReader::new(data);
    let _ = plugback_core::backup::android::ab_header::parse(&mut reader);
});
