//! Snapshots of the main screens, compared with the images in tests/snapshots (tolerances
//! in kittest.toml). They are rendered with wgpu on Mesa's software Vulkan (lavapipe), the
//! reference renderer: a hardware GPU draws text a little differently, so elsewhere they
//! print a notice and skip (and fail where PLUGBACK_REQUIRE_PEERS=1, as in CI).
//!
//! The bench sits in one fixed folder (its path is on screen), so one run of these at a
//! time on a machine.
//!
//! To accept a deliberate change of the window: `UPDATE_SNAPSHOTS=1 cargo test --test app
//! snapshots`, then look at the new images before committing them.

use super::restore::{Bench, PHONE, wait_for};

use egui_kittest::kittest::Queryable;

/// Whether Mesa's lavapipe is installed (its Vulkan driver manifest).
fn reference_renderer() -> bool {
    let found = std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|dir| {
            dir.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
        .unwrap_or(false);
    if !found {
        let message = "Mesa's software Vulkan (lavapipe, Debian package mesa-vulkan-drivers) is not installed: the window snapshots are not compared";
        assert!(
            std::env::var_os("PLUGBACK_REQUIRE_PEERS").is_none(),
            "{message}"
        );
        eprintln!("notice: {message}");
    }
    found
}

/// Whether this computer shows the backups' dates in UTC, as the snapshots were drawn (and
/// as CI runs): elsewhere every date on screen differs.
fn utc_clock() -> bool {
    use plugback_sim::make_backup::{Kind, Spec};
    let shown = Spec::new(Kind::Ios).date_unix;
    let date = time::OffsetDateTime::from_unix_timestamp(shown).expect("a valid date");
    let utc = time::UtcOffset::local_offset_at(date).map_or(true, |offset| offset.is_utc());
    if !utc {
        eprintln!(
            "notice: this computer's time zone is not UTC: the window snapshots (drawn in UTC) are not compared; run them with TZ=UTC"
        );
    }
    utc
}

#[test]
fn the_main_screens_look_as_they_did() {
    if !reference_renderer() || !utc_clock() {
        return;
    }
    let mut bench = Bench::for_snapshots();
    // Everything the first screen shows arrives in the background: wait for all of it, so
    // that no snapshot catches a moment earlier or later than the one drawn.
    wait_for(&mut bench.harness, "the sizes and the adb notice", |h| {
        let state = h.state().state();
        !state.stats.is_empty()
            && state
                .stats
                .values()
                .all(|s| matches!(s, plugback::gui::state::StatsState::Ready(_)))
            && h.query_by_label("Android phones cannot be seen").is_some()
    });

    // The window as it opens: the phone's card, the backups, no backup selected.
    bench.harness.snapshot("main_window");

    // A backup's details with its counts and file list.
    // The backup's row (the phone's card has the same name; the table comes last).
    bench
        .harness
        .query_all_by_label(PHONE)
        .last()
        .expect("the backup's row")
        .click();
    bench.harness.run_steps(4);
    wait_for(&mut bench.harness, "the counts", |h| {
        h.query_all_by_label("Counting…").next().is_none()
    });
    bench.harness.snapshot("backup_details");

    // The wizard's first step, with the phone's own backup suggested.
    bench.open_wizard();
    bench.harness.snapshot("restore_choose");

    // The explainer, found by the number Finder shows.
    bench.harness.state_mut().state_mut().explainer = Some("4013".to_owned());
    bench.harness.run_steps(4);
    bench.harness.snapshot("explainer_4013");
}
