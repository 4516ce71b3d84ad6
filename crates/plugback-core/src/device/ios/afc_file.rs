//! Files on the iPhone over AFC, by file handle, through idevice's `AfcClient::send_op`.
//!
//! Written here rather than with idevice's `FileDescriptor` because that handle asserts
//! (debug) or prints to standard output (release) when it is dropped without a successful
//! close, and a pulled cable makes that close impossible: a health check's JSON or a
//! restore's error path must survive an unplug. These handles are plain numbers; the
//! phone closes them itself when the connection ends.

use idevice::IdeviceError;
use idevice::afc::AfcClient;
use idevice::afc::opcode::{AfcFopenMode, AfcLockOp, AfcOpcode};

/// An open file on the phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AfcFile {
    handle: u64,
}

impl AfcFile {
    pub(crate) async fn open(
        afc: &mut AfcClient,
        path: &str,
        mode: AfcFopenMode,
    ) -> Result<AfcFile, IdeviceError> {
        let mut request = (mode as u64).to_le_bytes().to_vec();
        request.extend_from_slice(path.as_bytes());
        let reply = afc
            .send_op(AfcOpcode::FileOpen, request, Vec::new())
            .await?;
        let handle = reply
            .header_payload
            .get(..8)
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(u64::from_le_bytes)
            .ok_or_else(|| {
                IdeviceError::UnexpectedResponse("an AFC open reply without a file handle".into())
            })?;
        Ok(AfcFile { handle })
    }

    /// Writes all of `bytes` in one request (callers keep requests to a megabyte or so).
    pub(crate) async fn write(self, afc: &mut AfcClient, bytes: &[u8]) -> Result<(), IdeviceError> {
        afc.send_op(AfcOpcode::Write, self.handle_bytes(), bytes.to_vec())
            .await
            .map(drop)
    }

    /// Reads up to `len` bytes; empty at the end of the file.
    pub(crate) async fn read(self, afc: &mut AfcClient, len: u64) -> Result<Vec<u8>, IdeviceError> {
        let mut request = self.handle_bytes();
        request.extend_from_slice(&len.to_le_bytes());
        let reply = afc.send_op(AfcOpcode::Read, request, Vec::new()).await?;
        if reply.payload.len() as u64 > len {
            return Err(IdeviceError::UnexpectedResponse(format!(
                "the phone sent {} bytes for a read of {len}",
                reply.payload.len()
            )));
        }
        Ok(reply.payload)
    }

    /// An flock-style lock (AFC FileRefLock). Each `AfcLockOp` carries the would-block
    /// flag: a lock held elsewhere answers `AfcError::OpWouldBlock` at once, and the
    /// caller decides whether to try again.
    pub(crate) async fn lock(self, afc: &mut AfcClient, op: AfcLockOp) -> Result<(), IdeviceError> {
        let mut request = self.handle_bytes();
        request.extend_from_slice(&(op as u64).to_le_bytes());
        afc.send_op(AfcOpcode::FileLock, request, Vec::new())
            .await
            .map(drop)
    }

    pub(crate) async fn close(self, afc: &mut AfcClient) -> Result<(), IdeviceError> {
        afc.send_op(AfcOpcode::FileClose, self.handle_bytes(), Vec::new())
            .await
            .map(drop)
    }

    fn handle_bytes(self) -> Vec<u8> {
        self.handle.to_le_bytes().to_vec()
    }
}
