//! The sync and restore services driven in-process by the protocol-level client in
//! `driver`: edge cases a real adb cannot be made to send.

use super::driver::{
    self, Host, closed_by_phone, list, pull, push, read_status, request, stat_v1, stat_v2,
};
use super::{ab_contents, expected_restore, restored_tree};
use plugback_sim::android::{restore, sync};
use plugback_sim::control::Answer;
use plugback_sim::make_backup::{Kind, Spec, make_backup};
use std::io::Write;
use std::time::{Duration, Instant, UNIX_EPOCH};

fn sync_host(
    phone: &std::sync::Arc<plugback_sim::android::AndroidPhone>,
) -> Host<Result<(), sync::SyncError>> {
    Host::start(phone, sync::serve)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn pushed_files_come_back_byte_identical_with_their_mtime() {
    let (_dir, phone) = driver::phone(|_| {});
    let mut host = sync_host(&phone);
    for (i, len) in [0, 1, 65_535, 65_536, 65_537, 3_000_001]
        .into_iter()
        .enumerate()
    {
        let content = pattern(len);
        let remote = format!("/sdcard/Download/new/f{i}.bin");
        let mtime = 1_600_000_000 + i as u32;
        push(&mut host.stream, &remote, &content, mtime).unwrap();
        assert_eq!(
            pull(&mut host.stream, &remote).unwrap(),
            content,
            "length {len}"
        );
        let on_disk = phone
            .data_dir()
            .join(format!("sdcard/Download/new/f{i}.bin"));
        let modified = std::fs::metadata(&on_disk).unwrap().modified().unwrap();
        assert_eq!(
            modified.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            u64::from(mtime)
        );
        let (mode, size, stat_mtime) = stat_v1(&mut host.stream, &remote);
        assert_eq!(
            (mode & 0o170_000, size as usize, stat_mtime),
            (0o100_000, len, mtime)
        );
    }
    // /storage/emulated/0 is the same shared storage.
    assert_eq!(
        pull(&mut host.stream, "/storage/emulated/0/Download/new/f1.bin").unwrap(),
        pattern(1)
    );
    // No partial files are left behind.
    let names: Vec<String> = std::fs::read_dir(phone.data_dir().join("sdcard/Download/new"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    host.stream.write_all(&request(b"QUIT", b"")).unwrap();
    assert!(closed_by_phone(&mut host.stream));
    assert!(host.finish().is_ok());
}

#[test]
fn requests_may_straddle_and_pack_stream_reads() {
    let (_dir, phone) = driver::phone(|_| {});
    let mut host = sync_host(&phone);
    // Two whole pushes in one write, byte by byte for the first 600 bytes.
    let mut bytes = driver::push_bytes("/sdcard/a.txt", 0o100_644, b"first", 10, 2);
    bytes.extend(driver::push_bytes(
        "/data/local/tmp/b.bin",
        0o100_755,
        &pattern(70_000),
        20,
        4096,
    ));
    for byte in &bytes[..600] {
        host.stream.write_all(std::slice::from_ref(byte)).unwrap();
    }
    host.stream.write_all(&bytes[600..]).unwrap();
    read_status(&mut host.stream).unwrap();
    read_status(&mut host.stream).unwrap();
    assert_eq!(
        std::fs::read(phone.data_dir().join("sdcard/a.txt")).unwrap(),
        b"first"
    );
    assert_eq!(
        std::fs::read(phone.data_dir().join("data/local/tmp/b.bin")).unwrap(),
        pattern(70_000)
    );
}

#[test]
fn stat_and_list_describe_the_storage() {
    let (_dir, phone) = driver::phone(|_| {});
    let mut host = sync_host(&phone);
    push(
        &mut host.stream,
        "/sdcard/Music/song.mp3",
        &pattern(1234),
        1_500_000_000,
    )
    .unwrap();
    push(
        &mut host.stream,
        "/sdcard/Music/Caf\u{e9}.txt",
        b"x",
        1_500_000_001,
    )
    .unwrap();

    let st = stat_v2(&mut host.stream, b"STA2", "/sdcard/Music/song.mp3");
    assert_eq!(
        (st.error, st.mode & 0o170_000, st.size, st.mtime),
        (0, 0o100_000, 1234, 1_500_000_000)
    );
    let dir = stat_v2(&mut host.stream, b"LST2", "/sdcard/Music");
    assert_eq!((dir.error, dir.mode & 0o170_000), (0, 0o040_000));
    // ENOENT is 2 on the wire; a path above / does not exist either.
    assert_eq!(stat_v2(&mut host.stream, b"STA2", "/sdcard/nope").error, 2);
    assert_eq!(
        stat_v2(&mut host.stream, b"STA2", "/../../etc/passwd").error,
        2
    );
    assert_eq!(stat_v1(&mut host.stream, "/sdcard/nope"), (0, 0, 0));

    for v2 in [false, true] {
        let mut entries = list(&mut host.stream, v2, "/sdcard/Music");
        entries.sort();
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(names, [".", "..", "Caf\u{e9}.txt", "song.mp3"], "v2={v2}");
        let song = &entries[3];
        assert_eq!((song.2, song.3), (1234, 1_500_000_000));
    }
    assert!(list(&mut host.stream, true, "/sdcard/nope").is_empty());
}

#[test]
fn pushes_outside_writable_storage_fail_and_write_nothing() {
    let (dir, phone) = driver::phone(|_| {});
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), phone.data_dir().join("sdcard/link")).unwrap();
    let mut cases = vec![
        ("/sdcard/../../etc/x", "Read-only file system"),
        ("/system/x", "Read-only file system"),
        ("/data/x", "Read-only file system"),
        ("/sdcard/link/x", "Permission denied"),
        ("/sdcard/link/deeper/x", "Permission denied"),
    ];
    cases.push(("/sdcard", "Is a directory"));
    for (remote, why) in cases {
        // A fresh connection each time: a failed SEND ends the service, as on adbd.
        let mut host = sync_host(&phone);
        let err = push(&mut host.stream, remote, &pattern(100_000), 1).unwrap_err();
        assert!(err.contains(why), "{remote}: {err}");
        assert!(closed_by_phone(&mut host.stream), "{remote}");
        assert!(matches!(
            host.finish(),
            Err(sync::SyncError::Refused { .. })
        ));
    }
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(
        !phone.data_dir().join("system/x").exists() && !phone.data_dir().join("data/x").exists()
    );
    assert!(!dir.path().join("etc").exists());
    // Reading through the link is refused too.
    std::fs::write(outside.path().join("secret"), b"s").unwrap();
    let mut host = sync_host(&phone);
    assert!(pull(&mut host.stream, "/sdcard/link/secret").is_err());
}

#[test]
fn a_push_beyond_the_free_space_fails_and_leaves_nothing() {
    let (_dir, phone) = driver::phone(|c| c.free_bytes = 150_000);
    std::fs::write(phone.data_dir().join("sdcard/old.bin"), pattern(50_000)).unwrap();
    let mut host = sync_host(&phone);
    // 50 000 used: 100 000 fit, and replacing the same file frees its old size.
    push(&mut host.stream, "/sdcard/a.bin", &pattern(100_000), 1).unwrap();
    push(&mut host.stream, "/sdcard/a.bin", &pattern(100_000), 1).unwrap();
    let err = push(&mut host.stream, "/sdcard/b.bin", &pattern(1), 1).unwrap_err();
    assert!(err.contains("No space left on device"), "{err}");
    assert!(closed_by_phone(&mut host.stream));
    assert_eq!(
        files_in(&phone.data_dir().join("sdcard")),
        ["a.bin", "old.bin"],
        "the file that did not fit left nothing behind"
    );
}

#[test]
fn a_cut_push_leaves_no_file_under_its_name() {
    let (_dir, phone) = driver::phone(|_| {});
    let mut host = sync_host(&phone);
    let bytes = driver::push_bytes("/sdcard/cut.bin", 0o100_644, &pattern(200_000), 1, 65_528);
    host.stream.write_all(&bytes[..100_000]).unwrap();
    host.stream.shutdown(std::net::Shutdown::Both).unwrap();
    assert!(matches!(host.finish(), Err(sync::SyncError::Stream(_))));
    assert_eq!(
        files_in(&phone.data_dir().join("sdcard")),
        Vec::<String>::new()
    );
}

#[test]
fn bad_requests_get_fail_and_a_close() {
    let (_dir, phone) = driver::phone(|_| {});
    let too_long = request(b"STAT", &vec![b'a'; 1025]);
    let unknown = request(b"ZZZZ", b"/sdcard");
    let oversize = {
        let mut b = request(b"SEND", b"/sdcard/x,420");
        b.extend_from_slice(b"DATA");
        b.extend_from_slice(&(65_537u32).to_le_bytes());
        b
    };
    let no_comma = request(b"SEND", b"/sdcard/x");
    for (bytes, why) in [
        (too_long, "path too long"),
        (unknown, "unknown command"),
        (oversize, "oversize data message"),
        (no_comma, "missing , in ID_SEND_V1"),
    ] {
        let mut host = sync_host(&phone);
        host.stream.write_all(&bytes).unwrap();
        let err = read_status(&mut host.stream).unwrap_err();
        assert!(err.contains(why), "{err}");
        assert!(closed_by_phone(&mut host.stream));
        assert!(host.finish().is_err());
    }
    // Random garbage never panics the service.
    let mut seed = 0x1234_5678u32;
    for _ in 0..50 {
        let len = (seed % 300) as usize;
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let mut host = sync_host(&phone);
        host.stream.write_all(&garbage).unwrap();
        host.stream.shutdown(std::net::Shutdown::Write).unwrap();
        let _ = closed_by_phone(&mut host.stream);
        let _ = host.finish();
    }
}

fn restore_host(
    phone: &std::sync::Arc<plugback_sim::android::AndroidPhone>,
) -> Host<Result<(), restore::RestoreError>> {
    Host::start(phone, restore::serve)
}

fn send_in_background<T>(
    host: &Host<T>,
    bytes: Vec<u8>,
) -> std::thread::JoinHandle<std::io::Result<()>> {
    let mut stream = host.stream.try_clone().unwrap();
    std::thread::spawn(move || stream.write_all(&bytes))
}

fn report(phone: &plugback_sim::android::AndroidPhone) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(phone.data_dir().join("restore-report.json")).unwrap())
        .unwrap()
}

#[test]
fn restore_reads_plain_archives_and_drains_the_end_marker() {
    for compressed in [false, true] {
        let (dir, phone) = driver::phone(|c| c.auto_confirm_restore = true);
        let mut spec = Spec::new(Kind::AndroidAb);
        spec.ab_compressed = compressed;
        spec.files = 6;
        let ab = dir.path().join("x.ab");
        make_backup(&spec, &ab).unwrap();
        let bytes = std::fs::read(&ab).unwrap();
        let mut host = restore_host(&phone);
        // As adb sends it: the file, then 1024 zero bytes, then it waits for the close.
        host.stream.write_all(&bytes).unwrap();
        host.stream.write_all(&[0u8; 1024]).unwrap();
        assert!(closed_by_phone(&mut host.stream));
        host.finish().unwrap();
        assert_eq!(
            restored_tree(phone.data_dir()),
            expected_restore(&ab_contents(&bytes))
        );
        let report = report(&phone);
        assert_eq!(report["outcome"], "ok");
        assert_eq!(report["packages"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn restore_waits_for_the_confirmation_and_a_denial_restores_nothing() {
    let (dir, phone) = driver::phone(|_| {});
    let ab = dir.path().join("x.ab");
    make_backup(&Spec::new(Kind::AndroidAb), &ab).unwrap();
    let mut host = restore_host(&phone);
    // Nothing reads until the confirmation, so the host writes from a thread of its own.
    let writer = send_in_background(&host, std::fs::read(&ab).unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !phone.restore_prompt_showing() {
        assert!(Instant::now() < deadline, "the confirmation never showed");
        std::thread::sleep(Duration::from_millis(10));
    }
    phone.answer_restore(Answer::Deny, None).unwrap();
    assert!(closed_by_phone(&mut host.stream));
    assert!(matches!(host.finish(), Err(restore::RestoreError::Denied)));
    // The phone read nothing of the archive before closing.
    assert!(writer.join().unwrap().is_err());
    assert!(!phone.data_dir().join("restored").exists());
    assert_eq!(report(&phone)["outcome"], "denied");
}

#[test]
fn corrupt_archives_are_reported_not_restored() {
    let (dir, phone) = driver::phone(|c| c.auto_confirm_restore = true);
    let ab = dir.path().join("x.ab");
    make_backup(&Spec::new(Kind::AndroidAb), &ab).unwrap();
    let mut bytes = std::fs::read(&ab).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 64].fill(0x55);
    let mut encrypted_spec = Spec::new(Kind::AndroidAb);
    encrypted_spec.password = Some("secret".into());
    let enc = dir.path().join("enc.ab");
    make_backup(&encrypted_spec, &enc).unwrap();
    for (mut input, outcome) in [
        (bytes, "corrupt"),
        (b"NOT A BACKUP\n".to_vec(), "corrupt"),
        // The service has no password to give, so an encrypted archive cannot open.
        (std::fs::read(&enc).unwrap(), "wrong-password"),
    ] {
        let mut host = restore_host(&phone);
        input.extend_from_slice(&[0u8; 1024]);
        // The phone stops reading at the damage, so the rest may not be taken.
        let writer = send_in_background(&host, input);
        assert!(closed_by_phone(&mut host.stream));
        assert!(host.finish().is_err());
        let _ = writer.join().unwrap();
        assert_eq!(report(&phone)["outcome"], outcome);
    }
}

/// The names of the files (not folders) directly in `dir`, sorted.
fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
