//! What runs on the far end of a usbmuxd `Connect`: lockdownd on its fixed port, or the
//! service lockdownd started on the port the host asks for.

use crate::iphone::Phone;
use crate::iphone::link::Link;
use crate::iphone::lockdown::{self, LOCKDOWN_PORT};
use crate::iphone::phone::{ServiceKind, StartedService};
use crate::iphone::socket::MuxStream;
use std::sync::Arc;
use std::time::Duration;

/// Service reads wait at most this long before handing control back to the service, which
/// keeps its own idle limit; short, so notification_proxy relays promptly.
const SERVICE_READ_SLICE: Duration = Duration::from_millis(250);

/// A port the phone answers on.
pub enum Target {
    Lockdown,
    Service(StartedService),
}

/// What listens on `port`, if anything (a started service is taken: it serves one
/// connection).
pub fn target(phone: &Phone, port: u16) -> Option<Target> {
    if port == LOCKDOWN_PORT {
        Some(Target::Lockdown)
    } else {
        phone.take_service(port).map(Target::Service)
    }
}

/// Runs `target` on `stream` until either side closes; errors are logged.
pub fn run(target: Target, stream: MuxStream, phone: Arc<Phone>) {
    match target {
        Target::Lockdown => {
            let tracked = match phone.track_connection(&stream) {
                Ok(tracked) => tracked,
                Err(e) => {
                    eprintln!("plugback-sim: lockdownd: {e}");
                    return;
                }
            };
            // Unplugged between the Connect and now: the connection is already dead.
            if !phone.is_plugged() {
                return;
            }
            if let Err(e) = lockdown::serve(stream, &phone) {
                eprintln!("plugback-sim: {e}");
            }
            drop(tracked);
        }
        Target::Service(service) => {
            let mut link = match Link::new(stream, phone.clone()) {
                Ok(link) => link,
                Err(e) => {
                    eprintln!("plugback-sim: {:?}: {e}", service.kind);
                    return;
                }
            };
            if !phone.is_plugged() {
                return;
            }
            if let Err(e) = link.set_read_timeout(Some(SERVICE_READ_SLICE)) {
                eprintln!("plugback-sim: {:?}: {e}", service.kind);
                return;
            }
            run_service(service, &mut link, &phone);
        }
    }
}

fn run_service(service: StartedService, link: &mut Link, phone: &Arc<Phone>) {
    use crate::iphone::{afc, mobilebackup2, notification_proxy};
    let outcome = match service.kind {
        ServiceKind::NotificationProxy => {
            notification_proxy::serve(link, phone).map_err(|e| e.to_string())
        }
        ServiceKind::Afc => afc::serve(link, phone).map_err(|e| e.to_string()),
        ServiceKind::MobileBackup2 => {
            mobilebackup2::serve(link, phone, &service.context).map_err(|e| e.to_string())
        }
    };
    if let Err(e) = outcome {
        eprintln!("plugback-sim: {:?}: {e}", service.kind);
    }
}
