//! The bridge to nusb: lists the computer's USB devices without opening any of them (usbmuxd
//! and the adb server keep owning the phones) and describes each in Plugback's neutral terms.

use nusb::MaybeFuture;

use super::descriptor::{InterfaceClass, LinkSpeed, UsbDescriptor};
use crate::device::DeviceError;

/// Every USB device the system lists. Fails where the system gives no USB view at all
/// (no /sys/bus/usb in a container, no permission).
pub fn list() -> Result<Vec<UsbDescriptor>, DeviceError> {
    let devices = nusb::list_devices().wait().map_err(io_error)?;
    Ok(devices.map(|info| describe(&info)).collect())
}

pub fn io_error(error: nusb::Error) -> DeviceError {
    DeviceError::Io(std::io::Error::from(error))
}

/// Plugback's picture of one device from nusb's.
pub fn describe(info: &nusb::DeviceInfo) -> UsbDescriptor {
    let mut descriptor = UsbDescriptor {
        vendor_id: info.vendor_id(),
        product_id: info.product_id(),
        device_class: Some(InterfaceClass::new(
            info.class(),
            info.subclass(),
            info.protocol(),
        )),
        interfaces: info
            .interfaces()
            .map(|i| InterfaceClass::new(i.class(), i.subclass(), i.protocol()))
            .collect(),
        speed: info.speed().and_then(link_speed),
        usb_version: Some(info.usb_version()),
        bus_id: info.bus_id().to_owned(),
        port_chain: info.port_chain().to_vec(),
        serial: info.serial_number().map(str::to_owned),
        manufacturer: info.manufacturer_string().map(str::to_owned),
        product: info.product_string().map(str::to_owned),
        sysfs_path: None,
        autosuspend: None,
    };
    add_linux_details(info, &mut descriptor);
    descriptor
}

#[cfg(target_os = "linux")]
fn add_linux_details(info: &nusb::DeviceInfo, descriptor: &mut UsbDescriptor) {
    let dir = info.sysfs_path();
    descriptor.autosuspend = super::sysfs::autosuspend(dir);
    if descriptor.speed.is_none() {
        // nusb names no speed above 10 Gbit/s; the kernel writes "20000" for USB 3.2 2x2.
        descriptor.speed = super::sysfs::speed(dir);
    }
    descriptor.sysfs_path = Some(dir.to_path_buf());
}

#[cfg(not(target_os = "linux"))]
fn add_linux_details(_info: &nusb::DeviceInfo, _descriptor: &mut UsbDescriptor) {}

/// nusb's speed names in Plugback's terms. `Speed` is non-exhaustive: a future name maps
/// to None rather than to a wrong number.
fn link_speed(speed: nusb::Speed) -> Option<LinkSpeed> {
    match speed {
        nusb::Speed::Low => Some(LinkSpeed::Low),
        nusb::Speed::Full => Some(LinkSpeed::Full),
        nusb::Speed::High => Some(LinkSpeed::High),
        nusb::Speed::Super => Some(LinkSpeed::Super),
        nusb::Speed::SuperPlus => Some(LinkSpeed::SuperPlus),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nusb_speeds_map_to_megabits() {
        let mbps = |s| link_speed(s).map(LinkSpeed::mbps);
        assert_eq!(mbps(nusb::Speed::Low), Some(1));
        assert_eq!(mbps(nusb::Speed::Full), Some(12));
        assert_eq!(mbps(nusb::Speed::High), Some(480));
        assert_eq!(mbps(nusb::Speed::Super), Some(5000));
        assert_eq!(mbps(nusb::Speed::SuperPlus), Some(10000));
    }
}
