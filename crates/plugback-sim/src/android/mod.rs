//! The simulated Android phone: an adbd over TCP that Android's own adb server attaches
//! with `adb connect`.
