//! Reading one phone: its state and identity from the server's list, then (once
//! authorized) model, Android version, serial number, name, battery and storage from a
//! few shell commands.

use crate::cancel::CancelToken;
use crate::device::android::server::AdbServer;
use crate::device::android::shell::{self, ShellOutput};
use crate::device::android::{props, track};
use crate::device::{Device, DeviceError, DeviceState};

/// Everything Plugback can learn about the phone `serial` through `server`. A phone that
/// is not ready (unauthorized, offline …) gives what the list says and its state.
pub fn read(server: &AdbServer, serial: &str, cancel: &CancelToken) -> Result<Device, DeviceError> {
    server.ensure_running(cancel)?;
    let listing = server.connect(cancel)?.query("host:devices-l")?;
    let tracked = track::parse_device_list(&listing)
        .into_iter()
        .find(|d| d.serial == serial)
        .ok_or_else(|| DeviceError::NotFound {
            id: serial.to_string(),
        })?;
    let mut device = tracked.to_device();
    if device.state != DeviceState::Ready {
        return Ok(device);
    }

    let features = shell::features(server, serial, cancel)?;
    let run = |command: &str| shell::run(server, serial, command, &features, cancel);

    let properties = props::parse_getprop(&run("getprop")?.stdout_text());
    let prop = |key: &str| {
        properties
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(model) = prop("ro.product.model") {
        device.model = Some(model);
    }
    device.os_version = prop("ro.build.version.release");
    device.sdk = prop("ro.build.version.sdk").and_then(|level| level.parse().ok());
    device.serial = prop("ro.serialno");
    device.name = owner_name(&run("settings get global device_name")?).or(device.model.clone());

    device.battery =
        props::parse_battery(&run("dumpsys battery")?.stdout_text()).unwrap_or_default();
    device.storage = match props::parse_df(&run("df -k /data")?.stdout_text(), Some("/data")) {
        Some(storage) => storage,
        None => props::parse_df(&run("df -k /sdcard")?.stdout_text(), None).unwrap_or_default(),
    };
    Ok(device)
}

/// The name the owner gave the phone (Settings › About phone › Device name), where the
/// `settings` command answered with one.
fn owner_name(output: &ShellOutput) -> Option<String> {
    let name = output.stdout_text().trim().to_string();
    (output.succeeded() && !name.is_empty() && name != "null" && !name.contains('\n'))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(stdout: &str, exit_code: Option<u8>) -> ShellOutput {
        ShellOutput {
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
            exit_code,
        }
    }

    #[test]
    fn owner_name_only_from_a_real_answer() {
        assert_eq!(
            owner_name(&output("Kitchen Pixel\n", Some(0))).as_deref(),
            Some("Kitchen Pixel")
        );
        assert_eq!(owner_name(&output("null\n", Some(0))), None);
        assert_eq!(owner_name(&output("", Some(0))), None);
        assert_eq!(owner_name(&output("oops\n", Some(127))), None);
        assert_eq!(owner_name(&output("a\nb\n", None)), None);
    }
}
