//! `plugback --demo --screenshot FILE --view VIEW`: opens the real window on the demo,
//! drives it to one view the way a person would (select, verify, open the wizard, pull the
//! cable), waits until everything that view shows has arrived from the real jobs, captures
//! the window as a PNG and closes it. The README's pictures are made this way, and CI makes
//! them headless to prove they still can be.
//!
//! Nothing on screen is made up here: every word comes from the demo's phones, backups
//! and the engine's own flows.

use super::demo::SimulateOutcome;
use super::restore::{Checks, Step};
use super::state::{AppState, Job, ScanState, StatsState, VerifyStatus};
use crate::demo::Simulate;
use eframe::egui;
use plugback_core::backup::verify::Depth;
use plugback_core::device::{Device, DeviceState, Platform};
use plugback_core::restore::Phase;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// What the picture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// The window at start: the demo phones' cards, the backups list.
    Phones,
    /// The backups table with the demo iPhone's backup selected.
    Backups,
    /// A backup's details: its counts and a Quick verify done.
    Details,
    /// The restore wizard for the demo iPhone at its checklist, checked.
    Restore,
    /// A restore to the demo iPhone with its cable pulled: the stay-plugged-in overlay.
    Watchdog,
    /// The error explainer open on "4013".
    Explainer,
}

/// Where the picture goes and what it shows.
#[derive(Clone, Debug)]
pub struct ScreenshotRequest {
    pub path: PathBuf,
    pub view: View,
}

/// How the capture ended: None while the window is open, then Ok or why not.
pub type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

/// The longest a view may take to be ready; a passing run takes a few seconds.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// Frames drawn once a view is ready, before the capture: windows, grids and tables size
/// themselves over the first frames they appear in.
const SETTLE_FRAMES: u32 = 12;
/// The query the explainer view opens with: a common iPhone restore error.
const EXPLAINER_QUERY: &str = "4013";

enum Stage {
    /// Doing what the view needs, until it is ready.
    Driving,
    /// Ready: drawing a few more frames.
    Settling { frames: u32 },
    /// The capture was asked for; the image arrives on this channel.
    Capturing(mpsc::Receiver<Arc<egui::ColorImage>>),
    /// Saved or failed: the window was asked to close.
    Closing,
}

/// What has been done so far towards the view, so each action happens once.
#[derive(Default)]
struct Done {
    selected: bool,
    verify_started: bool,
    wizard_opened: bool,
    /// The phone whose cable was pulled (it then leaves the phones list).
    unplugged: Option<String>,
}

/// Drives one capture; [`Screenshot::frame`] is called by the app every frame.
pub struct Screenshot {
    request: ScreenshotRequest,
    started: Instant,
    stage: Stage,
    done: Done,
    /// What the view waits for now, for the error when it never comes.
    waiting_for: &'static str,
    outcome: Outcome,
}

impl Screenshot {
    pub fn new(request: ScreenshotRequest, outcome: Outcome) -> Self {
        Self {
            request,
            started: Instant::now(),
            stage: Stage::Driving,
            done: Done::default(),
            waiting_for: "the window to open",
            outcome,
        }
    }

    /// One frame: acts on the state (the jobs go to `jobs`), and captures once ready.
    pub fn frame(&mut self, ctx: &egui::Context, state: &mut AppState, jobs: &mut Vec<Job>) {
        // Background jobs wake the window when they report; the settle frames and the
        // deadline need it awake regardless.
        ctx.request_repaint_after(Duration::from_millis(50));
        match &mut self.stage {
            Stage::Driving => match self.drive(state, jobs) {
                Ok(true) => self.stage = Stage::Settling { frames: 0 },
                Ok(false) if self.started.elapsed() > READY_WITHIN => self.finish(
                    ctx,
                    Err(format!(
                        "the {:?} view was not ready within {} s: still waiting for {}",
                        self.request.view,
                        READY_WITHIN.as_secs(),
                        self.waiting_for
                    )),
                ),
                Ok(false) => {}
                Err(why) => self.finish(ctx, Err(why)),
            },
            Stage::Settling { frames } => {
                *frames += 1;
                if *frames >= SETTLE_FRAMES {
                    let (send, receive) = mpsc::channel();
                    let wake = ctx.clone();
                    ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
                        egui::ScreenshotCallback::new(move |image| {
                            let _ = send.send(image);
                            // The callback does not wake the window by itself.
                            wake.request_repaint();
                        }),
                    ));
                    self.stage = Stage::Capturing(receive);
                }
            }
            Stage::Capturing(receive) => match receive.try_recv() {
                Ok(image) => {
                    let saved = save_png(&image, &self.request.path);
                    self.finish(ctx, saved);
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.finish(ctx, Err("the window gave no picture".to_owned()));
                }
            },
            Stage::Closing => {}
        }
    }

    fn finish(&mut self, ctx: &egui::Context, result: Result<(), String>) {
        if let Ok(mut outcome) = self.outcome.lock() {
            *outcome = Some(result);
        }
        self.stage = Stage::Closing;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }

    /// Does the next thing the view needs; Ok(true) once everything it shows is there.
    fn drive(&mut self, state: &mut AppState, jobs: &mut Vec<Job>) -> Result<bool, String> {
        // Every view shows the phones and the backups as they are at start.
        if state.scan != ScanState::Done {
            self.waiting_for = "the backups to be found";
            return Ok(false);
        }
        if let Some(problem) = &state.phones.problem {
            return Err(format!(
                "the window could not watch the demo phones: {problem}"
            ));
        }
        if !demo_phones_listed(state) && self.done.unplugged.is_none() {
            self.waiting_for = "the demo phones to be listed";
            return Ok(false);
        }
        match self.request.view {
            View::Phones => Ok(true),
            View::Explainer => {
                if state.explainer.is_none() {
                    state.explainer = Some(EXPLAINER_QUERY.to_owned());
                }
                Ok(true)
            }
            View::Backups => self.select_iphone_backup(state, jobs),
            View::Details => {
                if !self.select_iphone_backup(state, jobs)? {
                    return Ok(false);
                }
                self.quick_verify_done(state, jobs)
            }
            View::Restore => self.checklist_done(state, jobs),
            View::Watchdog => {
                // Once the cable is pulled the phone leaves the list: only the restore's
                // flow still knows it.
                if let Some(iphone) = &self.done.unplugged {
                    return overlay_shown(state, iphone);
                }
                if !self.checklist_done(state, jobs)? {
                    return Ok(false);
                }
                self.cable_pulled_mid_restore(state, jobs)
            }
        }
    }

    /// Selects the demo iPhone's backup; true once its counts are in.
    fn select_iphone_backup(
        &mut self,
        state: &mut AppState,
        jobs: &mut Vec<Job>,
    ) -> Result<bool, String> {
        let Some(path) = iphone_backup(state) else {
            return Err("the demo iPhone's backup is not in the list".to_owned());
        };
        if !self.done.selected {
            jobs.extend(state.select(&path));
            self.done.selected = true;
        }
        self.waiting_for = "the backup's files to be counted";
        match state.stats.get(&path) {
            Some(StatsState::Ready(_)) => Ok(true),
            Some(StatsState::Failed(failure)) => Err(format!(
                "the backup's files could not be counted: {}",
                failure.message
            )),
            _ => Ok(false),
        }
    }

    /// Runs a Quick verify of the selected backup; true once it has finished.
    fn quick_verify_done(
        &mut self,
        state: &mut AppState,
        jobs: &mut Vec<Job>,
    ) -> Result<bool, String> {
        if !self.done.verify_started {
            let Some(job) = state.start_verify(Depth::Quick) else {
                self.waiting_for = "another check to end";
                return Ok(false);
            };
            jobs.push(job);
            self.done.verify_started = true;
        }
        self.waiting_for = "the Quick verify to finish";
        let Some(path) = state.selected.clone() else {
            return Err("the backup is no longer selected".to_owned());
        };
        match state.verifications.get(&path).map(|v| &v.status) {
            Some(VerifyStatus::Done(_)) => Ok(true),
            Some(VerifyStatus::Failed(failure)) => Err(format!(
                "the Quick verify could not run: {}",
                failure.message
            )),
            Some(VerifyStatus::Cancelled) => Err("the Quick verify was cancelled".to_owned()),
            _ => Ok(false),
        }
    }

    /// Opens the wizard for the demo iPhone (its newest backup suggested) and runs its
    /// checklist; true once the checks are done.
    fn checklist_done(
        &mut self,
        state: &mut AppState,
        jobs: &mut Vec<Job>,
    ) -> Result<bool, String> {
        let Some(iphone) = demo_iphone(state).map(|d| d.id.clone()) else {
            return Err("the demo iPhone is not listed".to_owned());
        };
        if !self.done.wizard_opened {
            state.restore_to_phone(&iphone);
            self.done.wizard_opened = true;
        }
        let Some(flow) = state.restores.for_device(&iphone) else {
            return Err("the restore wizard did not open for the demo iPhone".to_owned());
        };
        let id = flow.id;
        match (flow.step, &flow.checks) {
            (Step::Choose, _) => {
                if let Err(why) = flow.fits() {
                    return Err(format!("the wizard cannot go on: {why}"));
                }
                self.waiting_for = "the checklist to start";
                jobs.extend(state.restore_next(id));
                Ok(false)
            }
            (Step::Password, _) => Err(
                "the wizard suggested an encrypted backup; the picture needs the plain one"
                    .to_owned(),
            ),
            // The watchdog view goes on from the checklist.
            (Step::Checks, Checks::Done(_))
            | (Step::Options | Step::Confirm | Step::Restore, _) => Ok(true),
            _ => {
                self.waiting_for = "the checklist to finish";
                Ok(false)
            }
        }
    }

    /// Goes on from the checklist to a real restore, and pulls the demo iPhone's cable once
    /// the restore is talking to the phone; true once the watchdog says the phone is lost.
    fn cable_pulled_mid_restore(
        &mut self,
        state: &mut AppState,
        jobs: &mut Vec<Job>,
    ) -> Result<bool, String> {
        let Some(iphone) = demo_iphone(state).map(|d| d.id.clone()) else {
            return Err("the demo iPhone is not listed".to_owned());
        };
        let Some(flow) = state.restores.for_device(&iphone) else {
            return Err("the restore wizard closed".to_owned());
        };
        let id = flow.id;
        match flow.step {
            Step::Checks | Step::Options | Step::Confirm => {
                self.waiting_for = "the restore to start";
                jobs.extend(state.restore_next(id));
                return Ok(false);
            }
            Step::Restore => {}
            step => {
                return Err(format!(
                    "the wizard went to {step:?} instead of the restore"
                ));
            }
        }
        let Some(run) = &flow.run else {
            return Err("the restore did not start".to_owned());
        };
        // The engine has reached the phone: a pull now is a loss mid-restore, which the
        // watchdog reports, rather than a phone missing before it began.
        if run.report.is_some() {
            return Err("the restore ended before its cable could be pulled".to_owned());
        }
        let name = flow.phone_name().unwrap_or("the phone").to_owned();
        self.waiting_for = "the restore to reach the phone";
        if matches!(run.phase, Phase::Preparing | Phase::Transferring) {
            let Some(demo) = state.demo.as_mut() else {
                return Err("the window is not in demo mode".to_owned());
            };
            let Some(job) = demo.request(&iphone, &name, Simulate::Unplug) else {
                return Err("the demo would not pull the iPhone's cable".to_owned());
            };
            jobs.push(job);
            self.waiting_for = "the watchdog to report the phone lost";
            self.done.unplugged = Some(iphone);
        }
        Ok(false)
    }
}

/// True once the overlay has all it shows: the watchdog's words, and the demo's replug
/// button (offered once the pull is done).
fn overlay_shown(state: &AppState, iphone: &str) -> Result<bool, String> {
    let Some(run) = state
        .restores
        .for_device(iphone)
        .and_then(|f| f.run.as_ref())
    else {
        return Err("the restore is gone".to_owned());
    };
    if let Some(report) = &run.report {
        return Err(format!(
            "the restore ended ({}) before the watchdog saw the cable pulled",
            if report.ok { "done" } else { "failed" }
        ));
    }
    let Some(demo) = state.demo.as_ref() else {
        return Err("the window is not in demo mode".to_owned());
    };
    if let Some(SimulateOutcome::Failed(why)) = demo.last.get(iphone) {
        return Err(format!("the demo could not pull the iPhone's cable: {why}"));
    }
    let pulled = demo.is_unplugged(iphone);
    Ok(run.lost.is_some() && pulled)
}

/// The demo iPhone, as the window lists it.
fn demo_iphone(state: &AppState) -> Option<&Device> {
    state
        .phones
        .devices
        .iter()
        .find(|d| d.platform == Platform::Ios)
}

/// Whether every demo phone is listed and read (the Android one only when the demo has
/// it: without adb it says why instead).
fn demo_phones_listed(state: &AppState) -> bool {
    let ready =
        |platform: Platform| {
            state.phones.devices.iter().any(|d| {
                d.platform == platform && d.state == DeviceState::Ready && d.name.is_some()
            })
        };
    let android_expected = state
        .demo
        .as_ref()
        .is_some_and(|demo| demo.android_missing.is_none());
    ready(Platform::Ios) && (!android_expected || ready(Platform::Android))
}

/// The demo iPhone's newest unencrypted backup.
fn iphone_backup(state: &AppState) -> Option<PathBuf> {
    let iphone = demo_iphone(state)?;
    state
        .backups
        .iter()
        .filter(|b| b.device_id.as_deref() == Some(iphone.id.as_str()) && !b.encrypted)
        .max_by_key(|b| b.date_unix)
        .map(|b| b.path.clone())
}

/// Writes the window's pixels as an 8-bit RGB PNG (the window is opaque: no alpha).
///
/// The `png` crate, not `image`: eframe already builds png (through image, for icons),
/// so it adds nothing to the build, where `image` would pull its codecs' feature graph.
fn save_png(image: &egui::ColorImage, path: &Path) -> Result<(), String> {
    let [width, height] = image.size;
    let cannot =
        |err: &dyn std::fmt::Display| format!("{} could not be written: {err}", path.display());
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err("the window's picture is too large".to_owned());
    };
    let rgb: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|pixel| {
            let [r, g, b, _] = pixel.to_srgba_unmultiplied();
            [r, g, b]
        })
        .collect();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| cannot(&err))?;
    }
    let file = std::fs::File::create(path).map_err(|err| cannot(&err))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // The README's pictures are flat colours: the best compression keeps them small.
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|err| cannot(&err))?;
    writer.write_image_data(&rgb).map_err(|err| cannot(&err))?;
    writer.finish().map_err(|err| cannot(&err))
}
