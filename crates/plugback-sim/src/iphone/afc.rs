//! AFC: the subset of the Apple File Conduit that a restore uses.

/// The file locks of one phone.
#[derive(Default)]
pub struct Locks {}
