//! iPhone backups as Finder/iTunes store them on the computer.

mod blob;
mod device;
mod keybag;
pub(crate) mod manifest_db;
pub(crate) mod mbfile;
mod plists;
pub(crate) mod tree;

pub(crate) mod mbdb;
pub(crate) mod modern;
