//! Errors as the phone reports them: Linux errno values on the wire (adb's
//! `errno_to_wire` table, the asm-generic numbers) and strerror texts in FAIL messages.

use crate::android::StorageError;
use std::io;

/// An errno the sync protocol can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Errno {
    Perm,
    NoEnt,
    Io,
    Access,
    Exist,
    NotDir,
    IsDir,
    Inval,
    NoSpc,
    RoFs,
    NameTooLong,
    Loop,
}

impl Errno {
    /// The value adb puts on the wire (Linux asm-generic numbering).
    pub(super) fn wire(self) -> u32 {
        match self {
            Errno::Perm => 1,
            Errno::NoEnt => 2,
            Errno::Io => 5,
            Errno::Access => 13,
            Errno::Exist => 17,
            Errno::NotDir => 20,
            Errno::IsDir => 21,
            Errno::Inval => 22,
            Errno::NoSpc => 28,
            Errno::RoFs => 30,
            Errno::NameTooLong => 36,
            Errno::Loop => 40,
        }
    }

    /// Bionic's strerror text, as adbd appends it to FAIL messages.
    pub(super) fn text(self) -> &'static str {
        match self {
            Errno::Perm => "Operation not permitted",
            Errno::NoEnt => "No such file or directory",
            Errno::Io => "I/O error",
            Errno::Access => "Permission denied",
            Errno::Exist => "File exists",
            Errno::NotDir => "Not a directory",
            Errno::IsDir => "Is a directory",
            Errno::Inval => "Invalid argument",
            Errno::NoSpc => "No space left on device",
            Errno::RoFs => "Read-only file system",
            Errno::NameTooLong => "File name too long",
            Errno::Loop => "Too many symbolic links encountered",
        }
    }
}

/// The errno of a host file-system error, by kind so that it does not depend on the
/// host's own errno numbering.
pub(super) fn errno_of(err: &io::Error) -> Errno {
    use io::ErrorKind as K;
    match err.kind() {
        K::NotFound => Errno::NoEnt,
        K::PermissionDenied => Errno::Access,
        K::AlreadyExists => Errno::Exist,
        K::NotADirectory => Errno::NotDir,
        K::IsADirectory => Errno::IsDir,
        K::InvalidInput => Errno::Inval,
        K::InvalidFilename => Errno::NameTooLong,
        K::StorageFull | K::QuotaExceeded => Errno::NoSpc,
        K::ReadOnlyFilesystem => Errno::RoFs,
        // ELOOP has no stable ErrorKind; its number is 40 on Linux.
        _ if cfg!(target_os = "linux") && err.raw_os_error() == Some(40) => Errno::Loop,
        _ => Errno::Io,
    }
}

/// The errno a phone would give for a path the simulator refuses: paths above `/` or
/// relative ones do not exist, a link out of the storage is not ours to follow.
pub(super) fn errno_of_storage(err: &StorageError) -> Errno {
    match err {
        StorageError::Relative(_) | StorageError::Escapes(_) => Errno::NoEnt,
        StorageError::Nul => Errno::Inval,
        StorageError::SymlinkEscapes(_) => Errno::Access,
        StorageError::Io { source, .. } => errno_of(source),
    }
}
