//! A whole .ab file (header, decryption, inflate, tar walk): any bytes, no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugback_core::backup::android::{open_tar_stream, tar_walk};
use plugback_core::secret::Password;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    // A fixed password, so encrypted inputs reach the decryption layers too.
    let password = Password::new("fuzz");
    let Ok(stream) = open_tar_stream(file.path(), Some(&password)) else {
        return;
    };
    let mut visit = |_: &tar_walk::TarEntryInfo| Ok(tar_walk::Flow::Continue);
    let _ = tar_walk::walk(stream, file.path(), &mut visit);
});
