//! What the window draws. Views read the state, call its methods for what a person does,
//! and collect the resulting jobs; they never touch files.

pub mod backups;
pub mod demo;
pub mod details;
pub mod explainer;
pub mod first_run;
pub mod files;
pub mod health;
pub mod logs;
pub mod phones;
pub mod restore;
pub mod watchdog;
pub mod settings;
pub mod toolbar;
pub mod verify;
