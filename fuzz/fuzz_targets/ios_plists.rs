//! Info.plist, Manifest.plist and Status.plist decoding, through the bounded reader
//! Plugback uses for them: any bytes, no panic, no runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugback_core::backup::ios::plist_read::{MAX_PLIST_VALUES, plist_value};
use plugback_core::backup::ios::plists::{InfoPlist, ManifestPlist, StatusPlist};

fuzz_target!(|data: &[u8]| {
    if let Ok(plist::Value::Dictionary(dict)) = plist_value(data, MAX_PLIST_VALUES) {
        let _ = InfoPlist::from_dictionary(&dict);
        let _ = ManifestPlist::from_dictionary(&dict);
        let _ = StatusPlist::from_dictionary(&dict);
    }
});
