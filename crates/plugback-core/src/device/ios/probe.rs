//! The iPhone side of the health check's link probe, over AFC (the phone's media area,
//! which any paired computer may write): timed round trips, then a payload written, read
//! back, compared and removed.

use super::afc_file::AfcFile;
use super::lockdown::service_error;
use super::mux::Usbmuxd;
use super::session;
use super::wait::bounded;
use crate::cancel::CancelToken;
use crate::device::DeviceError;
use crate::device::health::figures::{ProbeFigures, ProbePlan, payload, temporary_name};
use idevice::IdeviceError;
use idevice::afc::AfcClient;
use idevice::afc::opcode::AfcFopenMode;
use std::time::Instant;

const AFC_SERVICE: &str = "com.apple.afc";
const PEER: &str = "the iPhone (AFC)";
/// Each bounded step moves at most this much, so a stalled link is caught within one
/// reply timeout instead of after the whole payload.
const STEP_BYTES: usize = 1024 * 1024;

/// Probes the paired iPhone `udid`. Never fails: a transport error ends the probe and is
/// recorded in the figures, with whatever was measured before it.
pub async fn probe(
    mux: &Usbmuxd,
    udid: &str,
    plan: &ProbePlan,
    cancel: &CancelToken,
) -> ProbeFigures {
    let mut figures = ProbeFigures::new(plan);
    if let Err(err) = run(mux, udid, plan, cancel, &mut figures).await {
        figures.record_error(&err);
    }
    figures
}

async fn run(
    mux: &Usbmuxd,
    udid: &str,
    plan: &ProbePlan,
    cancel: &CancelToken,
    figures: &mut ProbeFigures,
) -> Result<(), DeviceError> {
    let service = session::start_service(mux, udid, AFC_SERVICE, cancel).await?;
    let mut afc = AfcClient::new(service);
    for _ in 0..plan.round_trips {
        let start = Instant::now();
        step(mux, cancel, afc.get_file_info("/")).await?;
        figures.round_trips.push(start.elapsed());
    }
    let path = format!("/{}", temporary_name());
    let sent = payload(plan.payload_bytes);
    let moved = transfer(&mut afc, &path, &sent, mux, cancel, figures).await;
    // Removed on every path while the phone still answers, the failed ones included.
    figures.cleaned_up = step(mux, cancel, afc.remove(path.as_str())).await.is_ok();
    if figures.cleaned_up {
        remove_leftovers(&mut afc, mux, cancel).await;
    }
    moved
}

/// Removes test files an earlier probe could not (its phone was unplugged mid-transfer).
async fn remove_leftovers(afc: &mut AfcClient, mux: &Usbmuxd, cancel: &CancelToken) {
    let Ok(names) = step(mux, cancel, afc.list_dir("/")).await else {
        return;
    };
    for name in names.iter().filter(|n| is_probe_file(n)) {
        let _ = step(mux, cancel, afc.remove(format!("/{name}"))).await;
    }
}

fn is_probe_file(name: &str) -> bool {
    name.starts_with("plugback-health-") && name.ends_with(".tmp") && !name.contains('/')
}

async fn transfer(
    afc: &mut AfcClient,
    path: &str,
    sent: &[u8],
    mux: &Usbmuxd,
    cancel: &CancelToken,
    figures: &mut ProbeFigures,
) -> Result<(), DeviceError> {
    let start = Instant::now();
    let file = step(mux, cancel, AfcFile::open(afc, path, AfcFopenMode::WrOnly)).await?;
    for chunk in sent.chunks(STEP_BYTES) {
        step(mux, cancel, file.write(afc, chunk)).await?;
    }
    step(mux, cancel, file.close(afc)).await?;
    figures.write = Some(start.elapsed());

    let start = Instant::now();
    let file = step(mux, cancel, AfcFile::open(afc, path, AfcFopenMode::RdOnly)).await?;
    let mut received = Vec::with_capacity(sent.len());
    while received.len() < sent.len() {
        let want = (sent.len() - received.len()).min(STEP_BYTES);
        let bytes = step(mux, cancel, file.read(afc, want as u64)).await?;
        if bytes.is_empty() {
            break;
        }
        received.extend_from_slice(&bytes);
    }
    step(mux, cancel, file.close(afc)).await?;
    figures.read = Some(start.elapsed());
    figures.intact = Some(received == sent);
    Ok(())
}

/// One AFC request, bounded by the reply timeout and the cancel token.
async fn step<T>(
    mux: &Usbmuxd,
    cancel: &CancelToken,
    request: impl Future<Output = Result<T, IdeviceError>>,
) -> Result<T, DeviceError> {
    bounded(PEER, mux.reply_timeout, cancel, async {
        request.await.map_err(|e| service_error(PEER, e))
    })
    .await
}
