//! Running a command on a phone through the adb server: `host:transport:<serial>`, then
//! `shell,v2,raw:<command>` where the phone has the `shell_v2` feature (Android 7 and
//! later: separate stdout and stderr, and the exit status), else `shell:<command>`.
//!
//! Our own client rather than adb_client's `shell_command`: we need a deadline on every
//! read and a cancel path, and adb_client would run `adb start-server` for each call.

use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::android::server::AdbServer;
use crate::device::android::smart_socket::SmartSocket;

/// Largest shell v2 packet accepted; adbd sends at most its max payload (1 MiB).
const MAX_PACKET: usize = 1 << 20;
/// Largest output kept from one command: the commands Plugback runs print a few KiB.
const MAX_OUTPUT: usize = 8 << 20;

/// Shell protocol v2 packet ids.
const ID_STDOUT: u8 = 1;
const ID_STDERR: u8 = 2;
const ID_EXIT: u8 = 3;
const ID_CLOSE_STDIN: u8 = 4;

/// What a command printed, and how it ended where the phone can tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShellOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// None over shell v1, which has no exit status.
    pub exit_code: Option<u8>,
}

impl ShellOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// True unless the phone said the command failed.
    pub fn succeeded(&self) -> bool {
        self.exit_code.is_none_or(|code| code == 0)
    }
}

/// The phone's features (`host-serial:<serial>:features`), comma-separated.
pub fn features(
    server: &AdbServer,
    serial: &str,
    cancel: &CancelToken,
) -> Result<Vec<String>, DeviceError> {
    let mut socket = server.connect(cancel)?;
    let body = socket.query(&format!("host-serial:{serial}:features"))?;
    Ok(body
        .trim()
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect())
}

/// Opens `service` on the phone `serial`.
pub fn open_service(
    server: &AdbServer,
    serial: &str,
    service: &str,
    cancel: &CancelToken,
) -> Result<SmartSocket, DeviceError> {
    let mut socket = server.connect(cancel)?;
    socket.request(&format!("host:transport:{serial}"))?;
    socket.request(service)?;
    Ok(socket)
}

/// Runs `command` with the framing the phone's `features` allow.
pub fn run(
    server: &AdbServer,
    serial: &str,
    command: &str,
    features: &[String],
    cancel: &CancelToken,
) -> Result<ShellOutput, DeviceError> {
    if features.iter().any(|f| f == "shell_v2") {
        let mut socket = open_service(server, serial, &format!("shell,v2,raw:{command}"), cancel)?;
        // Nothing to type: say so, so commands that read stdin end.
        socket.write_all(&[ID_CLOSE_STDIN, 0, 0, 0, 0])?;
        read_v2(&mut socket)
    } else {
        let mut socket = open_service(server, serial, &format!("shell:{command}"), cancel)?;
        Ok(ShellOutput {
            stdout: read_to_end(&mut socket)?,
            stderr: Vec::new(),
            exit_code: None,
        })
    }
}

/// `exec:<command>`: raw bytes both ways, no pty and no framing (binary-safe output).
pub fn exec(
    server: &AdbServer,
    serial: &str,
    command: &str,
    cancel: &CancelToken,
) -> Result<Vec<u8>, DeviceError> {
    let mut socket = open_service(server, serial, &format!("exec:{command}"), cancel)?;
    read_to_end(&mut socket)
}

fn read_to_end(socket: &mut SmartSocket) -> Result<Vec<u8>, DeviceError> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = socket.read_some(&mut chunk)?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > MAX_OUTPUT {
            return Err(socket.protocol(format!("more than {MAX_OUTPUT} bytes of output")));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Decodes shell v2 packets (`u8 id, u32 LE length, data`) up to the exit packet.
fn read_v2(socket: &mut SmartSocket) -> Result<ShellOutput, DeviceError> {
    let mut output = ShellOutput::default();
    loop {
        let mut header = [0u8; 5];
        socket.read_exact(&mut header)?;
        let length = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if length > MAX_PACKET {
            return Err(socket.protocol(format!("a shell packet of {length} bytes")));
        }
        let mut data = vec![0u8; length];
        socket.read_exact(&mut data)?;
        let target = match header[0] {
            ID_STDOUT => &mut output.stdout,
            ID_STDERR => &mut output.stderr,
            ID_EXIT => {
                output.exit_code = Some(data.first().copied().unwrap_or(0));
                return Ok(output);
            }
            // Window-size and unknown packets carry nothing for us.
            _ => continue,
        };
        if target.len() + data.len() > MAX_OUTPUT {
            return Err(socket.protocol(format!("more than {MAX_OUTPUT} bytes of output")));
        }
        target.extend_from_slice(&data);
    }
}
