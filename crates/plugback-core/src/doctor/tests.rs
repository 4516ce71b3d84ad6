//! doctor as a whole, pointed at temporary folders, closed ports and fake probes.

use super::*;
use crate::device::usb::UsbPhone;
use std::path::Path;

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Nothing installed, nothing running, no USB, no D-Bus.
fn bare_env(root: &Path) -> DoctorEnv {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    DoctorEnv {
        path: Some(bin.into_os_string()),
        system_program_dirs: vec![root.join("sbin")],
        usbmuxd_address: None,
        adb_port: closed_port(),
        udev_rule_dirs: vec![root.join("udev")],
        dev_bus_usb: root.join("dev-bus-usb"),
        group_file: root.join("group"),
        process_status: root.join("status"),
        seat: None,
        usb_scan: || Ok(Vec::<UsbPhone>::new()),
        sleep_probe: || Err("no system bus".to_owned()),
        notification_probe: || Err("no session bus".to_owned()),
        probe_timeout: Duration::from_secs(2),
        program_timeout: Duration::from_secs(5),
    }
}

fn code_of<'a>(report: &'a DoctorReport, id: &str) -> Option<&'a str> {
    report
        .check(id)
        .unwrap_or_else(|| panic!("no {id} check in {report:#?}"))
        .code
}

#[test]
fn nothing_installed_is_a_problem_with_fixes() {
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    env.usbmuxd_address = Some(format!("127.0.0.1:{}", closed_port()));
    let report = run(&env, &CancelToken::new());
    assert!(report.has_problems(), "{report:#?}");
    assert_eq!(
        code_of(&report, "adb-installed"),
        Some("doctor-adb-missing")
    );
    assert_eq!(
        code_of(&report, "adb-server"),
        Some("doctor-adb-server-down")
    );
    assert!(report.check("adb-version").is_none(), "no adb, no version");
    assert_eq!(
        code_of(&report, "usbmuxd-installed"),
        Some("doctor-usbmuxd-missing")
    );
    assert_eq!(
        code_of(&report, "usbmuxd-running"),
        Some("doctor-usbmuxd-not-running")
    );
    assert!(report.check("usbmuxd-reachable").is_none());
    assert_eq!(
        code_of(&report, "sleep-inhibit"),
        Some("doctor-no-sleep-inhibit")
    );
    assert_eq!(
        code_of(&report, "notifications"),
        Some("doctor-no-notifications")
    );
    for finding in &report.findings {
        assert!(!finding.fix.is_empty(), "{finding:?}");
        assert!(
            crate::explain::explain(finding.code).is_some(),
            "{} has no entry in the catalog",
            finding.code
        );
    }
    let missing = report
        .findings
        .iter()
        .find(|f| f.code == "doctor-adb-missing")
        .unwrap();
    assert_eq!(missing.severity, Severity::Problem);
}

#[cfg(target_os = "linux")]
#[test]
fn linux_without_usbmuxd_says_how_to_install_it() {
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    // The system's place, pointed at a socket that does not exist.
    env.usbmuxd_address = None;
    let report = run(&env, &CancelToken::new());
    let installed = report.check("usbmuxd-installed").unwrap();
    // Only when this computer has no usbmuxd answering at the system's place.
    if installed.code.is_some() {
        assert_eq!(installed.status, CheckStatus::Problem);
        assert!(
            installed
                .fix
                .as_deref()
                .unwrap()
                .contains("apt install usbmuxd"),
            "{installed:?}"
        );
    }
    assert_eq!(
        code_of(&report, "udev-iphone-rules"),
        Some("doctor-udev-rules-missing")
    );
    assert_eq!(code_of(&report, "usb-access"), Some("doctor-no-usb-access"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_usbmuxd_program_in_a_system_folder_counts_as_installed() {
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    std::fs::create_dir_all(root.path().join("sbin")).unwrap();
    std::fs::write(root.path().join("sbin/usbmuxd"), "").unwrap();
    let socket = root.path().join("no-usbmuxd-here");
    env.usbmuxd_address = Some(format!("UNIX:{}", socket.display()));
    let report = run(&env, &CancelToken::new());
    let installed = report.check("usbmuxd-installed").unwrap();
    assert_eq!(installed.status, CheckStatus::Ok, "{installed:?}");
    assert!(installed.detail.contains("sbin/usbmuxd"), "{installed:?}");
    let running = report.check("usbmuxd-running").unwrap();
    assert_eq!(running.status, CheckStatus::Problem, "{running:?}");
    assert!(running.detail.contains("no socket"), "{running:?}");
    assert!(
        running
            .detail
            .contains(crate::device::ios::ADDRESS_VARIABLE)
    );
}

#[test]
fn a_bad_usbmuxd_address_is_named() {
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    env.usbmuxd_address = Some("no-such-host.invalid:notaport".to_owned());
    let report = run(&env, &CancelToken::new());
    assert_eq!(
        code_of(&report, "usbmuxd-running"),
        Some("doctor-usbmuxd-address-invalid")
    );
}

#[test]
fn a_simulated_usbmuxd_is_reachable() {
    use plugback_sim::iphone::{SimUsbmuxd, UsbmuxdAddr};
    let root = tempfile::tempdir().unwrap();
    let mux = SimUsbmuxd::start(
        UsbmuxdAddr::Tcp("127.0.0.1:0".parse().unwrap()),
        &root.path().join("usbmuxd"),
    )
    .unwrap();
    let mut env = bare_env(root.path());
    env.usbmuxd_address = Some(mux.address().to_string());
    let report = run(&env, &CancelToken::new());
    let running = report.check("usbmuxd-running").unwrap();
    assert_eq!(running.status, CheckStatus::Ok, "{running:?}");
    let reachable = report.check("usbmuxd-reachable").unwrap();
    assert_eq!(reachable.status, CheckStatus::Ok, "{reachable:?}");
    assert!(reachable.detail.contains("0 iPhones"), "{reachable:?}");
    // Not installed here, but not needed while the variable names another usbmuxd.
    let installed = report.check("usbmuxd-installed").unwrap();
    assert_eq!(installed.status, CheckStatus::Info, "{installed:?}");
}

#[test]
fn a_listener_that_is_not_usbmuxd_is_unreachable() {
    let root = tempfile::tempdir().unwrap();
    // Accepts, then says nothing.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = bare_env(root.path());
    env.usbmuxd_address = Some(silent.local_addr().unwrap().to_string());
    env.probe_timeout = Duration::from_millis(300);
    let report = run(&env, &CancelToken::new());
    assert_eq!(
        report.check("usbmuxd-running").unwrap().status,
        CheckStatus::Ok
    );
    assert_eq!(
        code_of(&report, "usbmuxd-reachable"),
        Some("doctor-usbmuxd-unreachable")
    );
}

#[test]
fn a_private_adb_server_answers_with_its_version() {
    let Some(server) = plugback_sim::peers::AdbServer::start() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    env.path = server.adb().parent().map(|dir| dir.as_os_str().to_owned());
    env.adb_port = server.port();
    let report = run(&env, &CancelToken::new());
    let program = report.check("adb-installed").unwrap();
    assert_eq!(program.status, CheckStatus::Ok, "{program:?}");
    let version = report.check("adb-version").unwrap();
    assert_eq!(version.status, CheckStatus::Ok, "{version:?}");
    assert!(
        version.detail.starts_with("Android Debug Bridge version"),
        "{version:?}"
    );
    let answer = report.check("adb-server").unwrap();
    assert_eq!(answer.status, CheckStatus::Ok, "{answer:?}");
    assert!(answer.detail.contains("protocol version"), "{answer:?}");
    assert!(
        answer.detail.contains(&server.port().to_string()),
        "{answer:?}"
    );
}

#[test]
fn a_cancelled_run_says_what_it_did_not_finish() {
    let root = tempfile::tempdir().unwrap();
    let mut env = bare_env(root.path());
    env.sleep_probe = || {
        std::thread::sleep(Duration::from_secs(3));
        Ok("late".to_owned())
    };
    env.probe_timeout = Duration::from_secs(30);
    let cancel = CancelToken::new();
    cancel.cancel();
    let report = run(&env, &cancel);
    assert_eq!(code_of(&report, "sleep-inhibit"), Some("cancelled"));
}
