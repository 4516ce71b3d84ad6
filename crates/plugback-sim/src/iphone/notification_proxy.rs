//! notification_proxy: observe, post, relay and shutdown, in XML plists.
//!
//! Every connection to one phone registers with the phone's [`Hub`]. A post (from a host
//! or from the phone itself) queues a `RelayNotification` for each connection observing
//! that name; a connection writes its queue whenever it is between two host messages, and
//! whenever the socket's read timeout fires. The service therefore relays promptly only
//! when the stream has a short read timeout (a fraction of a second): a host that observes
//! and then only listens never sends anything that would wake the connection otherwise.

use crate::iphone::Phone;
use crate::iphone::mobilebackup2::link::{Link, Quiet};
use crate::iphone::plist_frame::FrameError;
use plist::{Dictionary, Value};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A host may hold notification_proxy open, silent, for a whole backup or restore.
const IDLE_LIMIT: Duration = Duration::from_secs(6 * 60 * 60);
/// Host messages are a name and a command; anything near this is not a notification.
const MAX_MESSAGE: u32 = 64 * 1024;

/// Why a notification_proxy connection ended abnormally.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("notification_proxy: {0}")]
    Frame(#[from] FrameError),
    #[error("notification_proxy: the host sent a message that is not a command dictionary")]
    NotACommand,
    #[error("notification_proxy: the host was silent for {} hours", IDLE_LIMIT.as_secs() / 3600)]
    Idle,
    #[error("notification_proxy: {0}")]
    Io(#[from] io::Error),
}

/// The observers of one phone's notifications.
#[derive(Default)]
pub struct Hub {
    connections: Mutex<HashMap<u64, Observer>>,
    next_id: Mutex<u64>,
}

#[derive(Default)]
struct Observer {
    names: HashSet<String>,
    pending: Vec<String>,
}

impl Hub {
    fn register(&self) -> u64 {
        let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        let id = *next;
        self.lock().insert(id, Observer::default());
        id
    }

    fn unregister(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Observer>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn observe(&self, id: u64, name: &str) {
        if let Some(observer) = self.lock().get_mut(&id) {
            observer.names.insert(name.to_string());
        }
    }

    /// Queues `name` for every connection that observes it; returns how many.
    pub(crate) fn post(&self, name: &str) -> usize {
        let mut connections = self.lock();
        let mut relayed = 0;
        for observer in connections.values_mut() {
            if observer.names.contains(name) {
                observer.pending.push(name.to_string());
                relayed += 1;
            }
        }
        relayed
    }

    fn take_pending(&self, id: u64) -> Vec<String> {
        self.lock()
            .get_mut(&id)
            .map(|o| std::mem::take(&mut o.pending))
            .unwrap_or_default()
    }
}

impl Phone {
    /// The phone itself posts a notification (as iOS does for `syncCancelRequest` when the
    /// person taps Cancel). Returns how many connections will relay it.
    pub fn post_notification(&self, name: &str) -> usize {
        self.notifications.post(name)
    }
}

/// Unregisters the connection however `serve` ends.
struct Registration<'h> {
    hub: &'h Hub,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

fn command(name: &str, extra: Option<(&str, &str)>) -> Value {
    let mut dict = Dictionary::new();
    dict.insert("Command".into(), Value::String(name.into()));
    if let Some((key, value)) = extra {
        dict.insert(key.into(), Value::String(value.into()));
    }
    Value::Dictionary(dict)
}

/// Serves one notification_proxy connection until the host shuts it down or goes away.
pub fn serve<S: Read + Write>(stream: &mut S, phone: &Phone) -> Result<(), NotificationError> {
    let hub = &phone.notifications;
    let registration = Registration {
        hub,
        id: hub.register(),
    };
    let id = registration.id;
    let mut link = Link::new(stream, Quiet::ReturnToCaller);
    let mut last_heard = Instant::now();
    loop {
        for name in hub.take_pending(id) {
            link.send_xml_plist(&command("RelayNotification", Some(("Name", &name))))?;
        }
        let message = match link.read_plist(MAX_MESSAGE) {
            Ok(message) => message,
            Err(FrameError::Closed) => return Ok(()),
            Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {
                if last_heard.elapsed() > IDLE_LIMIT {
                    return Err(NotificationError::Idle);
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        last_heard = Instant::now();
        let dict = message
            .as_dictionary()
            .ok_or(NotificationError::NotACommand)?;
        let name = dict.get("Name").and_then(Value::as_string);
        match dict.get("Command").and_then(Value::as_string) {
            Some("ObserveNotification") => match name {
                Some(name) => hub.observe(id, name),
                None => return Err(NotificationError::NotACommand),
            },
            Some("PostNotification") => match name {
                Some(name) => {
                    hub.post(name);
                }
                None => return Err(NotificationError::NotACommand),
            },
            Some("Shutdown") => {
                link.send_xml_plist(&command("ProxyDeath", None))?;
                return Ok(());
            }
            Some(other) => {
                // iOS ignores commands it does not know; so does the simulator.
                eprintln!("plugback-sim: notification_proxy: ignoring unknown command {other:?}");
            }
            None => return Err(NotificationError::NotACommand),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iphone::plist_frame::{read_plist, write_xml_plist};
    use std::os::unix::net::UnixStream;

    pub(crate) fn test_phone(dir: &std::path::Path) -> Phone {
        Phone::new(crate::iphone::mobilebackup2::tests_support::config(dir))
    }

    fn send(stream: &mut UnixStream, cmd: &str, name: Option<&str>) {
        write_xml_plist(stream, &command(cmd, name.map(|n| ("Name", n)))).unwrap();
    }

    fn connect(phone: &std::sync::Arc<Phone>) -> (UnixStream, std::thread::JoinHandle<()>) {
        let (host, mut device) = UnixStream::pair().unwrap();
        device
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let phone = phone.clone();
        let handle = std::thread::spawn(move || {
            serve(&mut device, &phone).unwrap();
        });
        host.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        (host, handle)
    }

    #[test]
    fn a_post_is_relayed_to_the_observers_of_its_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let phone = std::sync::Arc::new(test_phone(dir.path()));
        let (mut watcher, watcher_thread) = connect(&phone);
        let (mut poster, poster_thread) = connect(&phone);
        send(&mut watcher, "ObserveNotification", Some("com.example.a"));
        // Observing is asynchronous: wait until the hub knows, by posting until relayed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while phone
            .notifications
            .lock()
            .values()
            .all(|o| o.names.is_empty())
        {
            assert!(Instant::now() < deadline, "observe never registered");
            std::thread::sleep(Duration::from_millis(5));
        }
        send(&mut poster, "PostNotification", Some("com.example.other"));
        send(&mut poster, "PostNotification", Some("com.example.a"));
        let relayed = read_plist(&mut watcher, MAX_MESSAGE).unwrap();
        let relayed = relayed.as_dictionary().unwrap();
        assert_eq!(relayed["Command"].as_string(), Some("RelayNotification"));
        assert_eq!(relayed["Name"].as_string(), Some("com.example.a"));

        // The phone's own post reaches the observer too.
        assert_eq!(phone.post_notification("com.example.a"), 1);
        let again = read_plist(&mut watcher, MAX_MESSAGE).unwrap();
        assert_eq!(
            again.as_dictionary().unwrap()["Name"].as_string(),
            Some("com.example.a")
        );

        send(&mut watcher, "Shutdown", None);
        let death = read_plist(&mut watcher, MAX_MESSAGE).unwrap();
        assert_eq!(
            death.as_dictionary().unwrap()["Command"].as_string(),
            Some("ProxyDeath")
        );
        watcher_thread.join().unwrap();
        drop(poster);
        poster_thread.join().unwrap();
        assert!(phone.notifications.lock().is_empty());
    }

    #[test]
    fn garbage_closes_the_connection_without_panicking() {
        let dir = tempfile::tempdir().unwrap();
        let phone = test_phone(dir.path());
        let (mut host, mut device) = UnixStream::pair().unwrap();
        host.write_all(&5u32.to_be_bytes()).unwrap();
        host.write_all(b"hello").unwrap();
        assert!(serve(&mut device, &phone).is_err());
        let (mut host, mut device) = UnixStream::pair().unwrap();
        host.write_all(&u32::MAX.to_be_bytes()).unwrap();
        assert!(matches!(
            serve(&mut device, &phone),
            Err(NotificationError::Frame(FrameError::TooLong { .. }))
        ));
    }
}
