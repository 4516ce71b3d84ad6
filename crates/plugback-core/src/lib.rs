//! Plugback's engine and backup formats. Nothing here depends on a GUI.
//!
//! Layers, dependencies pointing down only:
//! - `backup`: backup formats (iOS folders, Android `.ab`, Plugback Android folders),
//!   the catalog of backups on this computer, and offline verification.
//! - `explain`: the plain-language catalog for every stable code in every layer.
//! - small shared pieces: `secret` (passwords), `cancel` (cancel tokens).

pub mod backup;
pub mod cancel;
pub mod device;
pub mod explain;
pub mod secret;
pub mod settings;
