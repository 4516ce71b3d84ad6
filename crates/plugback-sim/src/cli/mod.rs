//! The subcommands of the `plugback-sim` binary.

pub mod android;
pub mod iphone;
pub mod make_backup;
pub mod phone_state;
pub mod serve;
