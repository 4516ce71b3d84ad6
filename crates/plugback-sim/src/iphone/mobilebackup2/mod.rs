//! mobilebackup2, the device side.
