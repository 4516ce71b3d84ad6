//! Info.plist, Manifest.plist and Status.plist decoding: any bytes, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugback_core::backup::ios::plists::{InfoPlist, ManifestPlist, StatusPlist};

fuzz_target!(|data: &[u8]| {
    if let Ok(plist::Value::Dictionary(dict)) =
        plist::Value::from_reader(std::io::Cursor::new(data))
    {
        let _ = InfoPlist::from_dictionary(&dict);
        let _ = ManifestPlist::from_dictionary(&dict);
        let _ = StatusPlist::from_dictionary(&dict);
    }
});
