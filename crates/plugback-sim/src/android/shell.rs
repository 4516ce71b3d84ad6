//! `shell:`, `shell,v2,…:`, `exec:` and `abb_exec:`: how a host runs commands, and the
//! small shell that splits a command line into commands.
//!
//! * v1 (`shell:`) and `exec:` carry raw bytes both ways; stdout and stderr are one
//!   stream, there is no exit code, and the stream closes when the command ends.
//! * v2 (`shell,v2,…:`) frames everything as `u8 id, u32 len, data`: stdin 0, stdout 1,
//!   stderr 2, exit 3 (one byte), close-stdin 4, window size 5.
//! * `abb_exec:` passes the arguments NUL-separated to a service (`package` = `cmd package`).
//!
//! The shell understands words with single quotes, double quotes and backslashes, and the
//! operators `;`, `&&`, `||` and `|`. Nothing else (no variables, globs or redirections
//! other than a trailing `2>/dev/null`, `>/dev/null` or `2>&1`, which are accepted).

use crate::android::commands;
use crate::android::sim::Device;
use crate::android::transport::StreamIo;
use std::io::{self, Read, Write};

const ID_STDIN: u8 = 0;
const ID_STDOUT: u8 = 1;
const ID_STDERR: u8 = 2;
const ID_EXIT: u8 = 3;
const ID_CLOSE_STDIN: u8 = 4;
/// A v2 packet from the host larger than this is a protocol error.
const MAX_SHELL_PACKET: u32 = 16 * 1024 * 1024;

/// How the service frames its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `shell:` and `exec:`: raw bytes, no exit code.
    Raw,
    /// Shell protocol v2.
    V2,
}

/// What the host asked to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    /// A command line for the shell; empty = an interactive shell.
    Script(String),
    /// Arguments already split (abb_exec).
    Argv(Vec<String>),
}

/// A parsed shell-like service request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellRequest {
    pub framing: Framing,
    pub command: CommandLine,
}

impl ShellRequest {
    /// Parses `shell[,opts]:cmd`, `exec:cmd` and `abb_exec:arg\0arg…`; None for other services.
    pub fn parse(service: &str) -> Option<ShellRequest> {
        if let Some(command) = service.strip_prefix("exec:") {
            return Some(ShellRequest {
                framing: Framing::Raw,
                command: CommandLine::Script(command.to_string()),
            });
        }
        if let Some(args) = service.strip_prefix("abb_exec:") {
            let mut argv = vec!["cmd".to_string()];
            argv.extend(args.split('\0').map(str::to_string));
            return Some(ShellRequest {
                framing: Framing::Raw,
                command: CommandLine::Argv(argv),
            });
        }
        let rest = service.strip_prefix("shell")?;
        let (options, command) = rest.split_once(':')?;
        if !(options.is_empty() || options.starts_with(',')) {
            return None;
        }
        let v2 = options.split(',').any(|option| option == "v2");
        Some(ShellRequest {
            framing: if v2 { Framing::V2 } else { Framing::Raw },
            command: CommandLine::Script(command.to_string()),
        })
    }
}

/// Runs the request on its stream until the command (or the interactive shell) ends.
pub(crate) fn serve(
    io: &mut StreamIo,
    device: &Device,
    request: ShellRequest,
) -> Result<(), String> {
    let mut session = Session {
        io,
        framing: request.framing,
        stdin: Vec::new(),
        stdin_position: 0,
        stdin_closed: false,
    };
    let status = match request.command {
        CommandLine::Argv(argv) => {
            let (code, out, err) = commands::run(device, &argv, &mut session);
            session.emit(&out, &err).map_err(|e| e.to_string())?;
            code
        }
        CommandLine::Script(script) if script.trim().is_empty() => {
            interactive(&mut session, device).map_err(|e| e.to_string())?
        }
        CommandLine::Script(script) => {
            run_script(&mut session, device, &script).map_err(|e| e.to_string())?
        }
    };
    if session.framing == Framing::V2 {
        session
            .send_packet(ID_EXIT, &[status as u8])
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs a command line, sending each command's output as it finishes; the exit status of
/// the last command run.
fn run_script(session: &mut Session, device: &Device, script: &str) -> io::Result<i32> {
    let list = match parse_script(script) {
        Ok(list) => list,
        Err(why) => {
            session.emit(b"", format!("/system/bin/sh: {why}\n").as_bytes())?;
            return Ok(2);
        }
    };
    let mut status = 0;
    for (index, (joiner, pipeline)) in list.iter().enumerate() {
        let run = index == 0
            || match joiner {
                Joiner::Then => true,
                Joiner::And => status == 0,
                Joiner::Or => status != 0,
            };
        if !run {
            continue;
        }
        let mut piped: Option<Vec<u8>> = None;
        let mut errors = Vec::new();
        for argv in pipeline {
            let (code, out, err) = match piped.take() {
                None => commands::run(device, argv, session),
                Some(input) => commands::run(device, argv, &mut &input[..]),
            };
            status = code;
            errors.extend_from_slice(&err);
            piped = Some(out);
        }
        session.emit(&piped.unwrap_or_default(), &errors)?;
    }
    Ok(status)
}

/// `adb shell` with no command: a prompt, one command a line, until `exit` or the end.
fn interactive(session: &mut Session, device: &Device) -> io::Result<i32> {
    let prompt = format!("{}:/ $ ", device.phone.config().device);
    let mut status = 0;
    loop {
        session.emit(prompt.as_bytes(), b"")?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match session.read(&mut byte)? {
                0 => return Ok(status),
                _ if byte[0] == b'\n' || byte[0] == b'\r' => break,
                _ => line.push(byte[0]),
            }
        }
        let line = String::from_utf8_lossy(&line).trim().to_string();
        if line == "exit" {
            return Ok(status);
        }
        if !line.is_empty() {
            status = run_script(session, device, &line)?;
        }
    }
}

/// The stream seen through the service's framing.
pub(crate) struct Session<'a> {
    io: &'a mut StreamIo,
    framing: Framing,
    stdin: Vec<u8>,
    stdin_position: usize,
    stdin_closed: bool,
}

impl Session<'_> {
    fn send_packet(&mut self, id: u8, data: &[u8]) -> io::Result<()> {
        // Keep each packet within one WRTE, as adbd does.
        let room = self.io.max_payload().saturating_sub(5).max(1);
        for chunk in data.chunks(room) {
            let mut packet = Vec::with_capacity(chunk.len() + 5);
            packet.push(id);
            packet.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            packet.extend_from_slice(chunk);
            self.io.write_all(&packet)?;
        }
        Ok(())
    }

    /// Sends a command's stdout, then its stderr.
    fn emit(&mut self, out: &[u8], err: &[u8]) -> io::Result<()> {
        match self.framing {
            Framing::Raw => {
                self.io.write_all(out)?;
                self.io.write_all(err)
            }
            Framing::V2 => {
                if !out.is_empty() {
                    self.send_packet(ID_STDOUT, out)?;
                }
                if !err.is_empty() {
                    self.send_packet(ID_STDERR, err)?;
                }
                Ok(())
            }
        }
    }

    /// Reads the next v2 stdin packet into the buffer; false at the end of stdin.
    fn fill_stdin(&mut self) -> io::Result<bool> {
        loop {
            if self.stdin_closed {
                return Ok(false);
            }
            let mut header = [0u8; 5];
            if let Err(e) = self.io.read_exact(&mut header) {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    self.stdin_closed = true;
                    return Ok(false);
                }
                return Err(e);
            }
            let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
            if len > MAX_SHELL_PACKET {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("shell packet of {len} bytes"),
                ));
            }
            let mut data = vec![0u8; len as usize];
            self.io.read_exact(&mut data)?;
            match header[0] {
                ID_STDIN if !data.is_empty() => {
                    self.stdin = data;
                    self.stdin_position = 0;
                    return Ok(true);
                }
                ID_CLOSE_STDIN => self.stdin_closed = true,
                // Window sizes and empty writes change nothing here.
                _ => {}
            }
        }
    }
}

/// The command's stdin: raw stream bytes, or the v2 stdin packets.
impl Read for Session<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.framing {
            Framing::Raw => self.io.read(buf),
            Framing::V2 => {
                if self.stdin_position >= self.stdin.len() && !self.fill_stdin()? {
                    return Ok(0);
                }
                let n = buf.len().min(self.stdin.len() - self.stdin_position);
                buf[..n].copy_from_slice(&self.stdin[self.stdin_position..self.stdin_position + n]);
                self.stdin_position += n;
                Ok(n)
            }
        }
    }
}

/// How a pipeline joins the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joiner {
    Then,
    And,
    Or,
}

type Pipeline = Vec<Vec<String>>;

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Operator(&'static str),
}

/// Splits a command line into pipelines of argument vectors.
pub(crate) fn parse_script(script: &str) -> Result<Vec<(Joiner, Pipeline)>, String> {
    let tokens = tokenize(script)?;
    let mut list: Vec<(Joiner, Pipeline)> = Vec::new();
    let mut joiner = Joiner::Then;
    let mut pipeline: Pipeline = Vec::new();
    let mut argv: Vec<String> = Vec::new();
    let syntax = |op: &str| format!("syntax error: unexpected '{op}'");
    for token in tokens {
        match token {
            Token::Word(word) => argv.push(word),
            Token::Operator(op @ ("2>/dev/null" | ">/dev/null" | "2>&1")) => {
                if argv.is_empty() {
                    return Err(syntax(op));
                }
            }
            Token::Operator("|") => {
                if argv.is_empty() {
                    return Err(syntax("|"));
                }
                pipeline.push(std::mem::take(&mut argv));
            }
            Token::Operator(op) => {
                if argv.is_empty() {
                    return Err(syntax(op));
                }
                pipeline.push(std::mem::take(&mut argv));
                list.push((joiner, std::mem::take(&mut pipeline)));
                joiner = match op {
                    "&&" => Joiner::And,
                    "||" => Joiner::Or,
                    _ => Joiner::Then,
                };
            }
        }
    }
    if !argv.is_empty() {
        pipeline.push(argv);
    } else if !pipeline.is_empty() {
        return Err(syntax("|"));
    }
    if !pipeline.is_empty() {
        list.push((joiner, pipeline));
    } else if joiner != Joiner::Then {
        return Err("syntax error: unexpected end of file".into());
    }
    Ok(list)
}

fn tokenize(script: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let finish = |word: &mut String, in_word: &mut bool, tokens: &mut Vec<Token>| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => finish(&mut word, &mut in_word, &mut tokens),
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated quoted string".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            ';' | '&' | '|' => {
                finish(&mut word, &mut in_word, &mut tokens);
                let op = match (c, chars.peek()) {
                    ('&', Some('&')) => {
                        chars.next();
                        "&&"
                    }
                    ('|', Some('|')) => {
                        chars.next();
                        "||"
                    }
                    ('|', _) => "|",
                    (';', _) => ";",
                    _ => return Err("background jobs ('&') are not supported".into()),
                };
                tokens.push(Token::Operator(op));
            }
            '>' | '2' if !in_word && redirection_at(c, &mut chars).is_some() => {
                let op = redirection_at(c, &mut chars).unwrap_or(">/dev/null");
                let skip = op.len() - 1;
                for _ in 0..skip {
                    chars.next();
                }
                tokens.push(Token::Operator(op));
            }
            '>' | '<' => return Err(format!("redirection '{c}' is not supported")),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish(&mut word, &mut in_word, &mut tokens);
    Ok(tokens)
}

/// The accepted redirection starting at `first` followed by `rest`, without consuming.
fn redirection_at(
    first: char,
    rest: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Option<&'static str> {
    let ahead: String = std::iter::once(first)
        .chain(rest.clone().take(10))
        .collect();
    ["2>/dev/null", ">/dev/null", "2>&1"]
        .into_iter()
        .find(|op| {
            ahead.starts_with(op)
                && ahead[op.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c == ' ' || c == ';' || c == '&' || c == '|')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn services_parse() {
        assert_eq!(
            ShellRequest::parse("shell,v2,TERM=xterm-256color,raw:getprop ro.product.model"),
            Some(ShellRequest {
                framing: Framing::V2,
                command: CommandLine::Script("getprop ro.product.model".into())
            })
        );
        assert_eq!(
            ShellRequest::parse("shell:echo hi").map(|r| r.framing),
            Some(Framing::Raw)
        );
        assert_eq!(
            ShellRequest::parse("abb_exec:package\0install\0-S\x00123"),
            Some(ShellRequest {
                framing: Framing::Raw,
                command: CommandLine::Argv(words(&["cmd", "package", "install", "-S", "123"]))
            })
        );
        assert_eq!(ShellRequest::parse("shellfish:x"), None);
        assert_eq!(ShellRequest::parse("sync:"), None);
    }

    #[test]
    fn command_lines_split_like_a_shell() {
        let list = parse_script("cmd package 'install' -S 42").unwrap();
        assert_eq!(
            list,
            vec![(
                Joiner::Then,
                vec![words(&["cmd", "package", "install", "-S", "42"])]
            )]
        );
        let list =
            parse_script(r#"echo "a b" c\ d 'e"f' && false || ls -l | grep x; true"#).unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(list[0].1, vec![words(&["echo", "a b", "c d", "e\"f"])]);
        assert_eq!(list[1], (Joiner::And, vec![words(&["false"])]));
        assert_eq!(
            list[2],
            (
                Joiner::Or,
                vec![words(&["ls", "-l"]), words(&["grep", "x"])]
            )
        );
        assert_eq!(list[3], (Joiner::Then, vec![words(&["true"])]));
        let list = parse_script("ls /x 2>/dev/null").unwrap();
        assert_eq!(list[0].1, vec![words(&["ls", "/x"])]);
        assert_eq!(
            parse_script("echo 2").unwrap()[0].1,
            vec![words(&["echo", "2"])]
        );
        assert!(parse_script("echo 'open").is_err());
        assert!(parse_script("&& ls").is_err());
        assert!(parse_script("ls > /tmp/x").is_err());
        assert!(parse_script("ls |").is_err());
        assert!(parse_script("").unwrap().is_empty());
    }
}
