//! Embeds the version, the git hash (where known) and the build date; for Windows, the
//! icon and version resources of the .exe.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let hash = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    // SOURCE_DATE_EPOCH makes reproducible builds give the same date.
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    let date = civil_date(secs / 86_400);
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=PLUGBACK_GIT_HASH={hash}");
    println!("cargo:rustc-env=PLUGBACK_BUILD_DATE={date}");
    println!("cargo:rustc-env=PLUGBACK_VERSION_LINE={version} ({hash}, built {date})");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    for head in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(head).exists() {
            println!("cargo:rerun-if-changed={head}");
        }
    }
    windows_resources(&format!("{version} ({hash})"));
}

/// The .exe's icon, and the version Explorer shows in its properties. Compiled only on a
/// Windows host (the resource compiler is a Windows SDK tool), and used only when the
/// target is Windows too: `cfg(windows)` here is the host, `CARGO_CFG_TARGET_OS` the target.
#[cfg(windows)]
fn windows_resources(version: &str) {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    println!("cargo:rerun-if-changed=assets/plugback.ico");
    let mut resources = winresource::WindowsResource::new();
    resources
        .set_icon("assets/plugback.ico")
        .set("ProductName", "Plugback")
        .set(
            "FileDescription",
            "Plugback: get your phone's data back over a cable",
        )
        .set("ProductVersion", version);
    if let Err(err) = resources.compile() {
        // A missing resource compiler costs the icon, not the build.
        println!("cargo:warning=the Windows icon and version were not embedded: {err}");
    }
}

#[cfg(not(windows))]
fn windows_resources(_version: &str) {}

/// Days since 1970-01-01 to "YYYY-MM-DD" (the civil-from-days algorithm), so the build
/// script needs no date crate.
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
