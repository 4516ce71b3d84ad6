//! What the window draws. Views read the state, call its methods for what a person does,
//! and collect the resulting jobs; they never touch files.

pub mod about;
pub mod backups;
pub mod demo;
pub mod details;
pub mod explainer;
pub mod files;
pub mod first_run;
pub mod health;
pub mod logs;
pub mod phones;
pub mod restore;
pub mod settings;
pub mod test_restore;
pub mod toolbar;
pub mod verify;
pub mod watchdog;
