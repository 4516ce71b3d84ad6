//! iPhone backups as Finder/iTunes store them on the computer.

mod blob;
mod device;
mod keybag;
mod manifest_db;
mod mbfile;
mod plists;
mod tree;

pub(crate) mod mbdb;
pub(crate) mod modern;
