//! Frame time of the backup file browser with 100,000 entries.
//!
//! Measures the CPU time of one frame: egui's layout of the real view
//! (`plugback::gui::files_view::browser_ui`) and the tessellation of what it drew into
//! triangles. It does not measure the GPU (uploading and drawing those triangles), which
//! depends on the graphics card and driver.
//!
//! Scenarios: idle (nothing changes), scrolling (the table moves by a few rows every
//! frame), and searching (a new query every frame, so the 100,000 rows are filtered again).
//! Run with `cargo bench -p plugback --bench frame_time`.

use eframe::egui;
use plugback::gui::files::FileBrowser;
use plugback::gui::files_view;
use plugback_core::backup::listing::{ListedFile, ListedKind};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ROWS: usize = 100_000;
const FRAMES: usize = 300;
const WARM_UP: usize = 20;
/// How far the table moves per frame while scrolling: a brisk wheel scroll.
const SCROLL_STEP: f32 = 53.0;

fn listing() -> Vec<ListedFile> {
    let mut files: Vec<ListedFile> = (0..ROWS)
        .map(|n| {
            let folder = n % 7 == 0;
            ListedFile {
                domain: format!("AppDomain-com.example.app{:03}", n % 250),
                path: format!(
                    "Library/Application Support/Cache {}/item-{n:06}{}",
                    n % 40,
                    if folder { "" } else { ".sqlite" }
                ),
                size: if folder {
                    0
                } else {
                    (n as u64 * 7919) % 5_000_000
                },
                kind: if folder {
                    ListedKind::Folder
                } else {
                    ListedKind::File
                },
            }
        })
        .collect();
    files.sort_unstable_by(|a, b| (&a.domain, &a.path).cmp(&(&b.domain, &b.path)));
    files
}

fn input(frame: usize) -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1180.0, 720.0),
        )),
        time: Some(frame as f64 / 60.0),
        ..Default::default()
    }
}

/// Runs `FRAMES` measured frames (after a warm-up), calling `before` ahead of each.
/// Returns their times and the vertices of the last frame (a check that rows were drawn).
fn measure(mut before: impl FnMut(&mut FileBrowser, usize)) -> (Vec<Duration>, usize) {
    let ctx = egui::Context::default();
    let mut browser = FileBrowser::with_files(PathBuf::from("bench"), listing());
    let mut times = Vec::with_capacity(FRAMES);
    let mut vertices = 0;
    for frame in 0..WARM_UP + FRAMES {
        before(&mut browser, frame);
        let started = Instant::now();
        let output = ctx.run_ui(input(frame), |ui| {
            egui::CentralPanel::default().show(ui, |ui| files_view::browser_ui(ui, &mut browser));
        });
        let primitives = black_box(ctx.tessellate(output.shapes, output.pixels_per_point));
        if frame >= WARM_UP {
            times.push(started.elapsed());
        }
        vertices = primitives
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(mesh) => mesh.vertices.len(),
                egui::epaint::Primitive::Callback(_) => 0,
            })
            .sum();
    }
    (times, vertices)
}

/// What a scenario changes ahead of each frame.
type BeforeFrame = dyn FnMut(&mut FileBrowser, usize);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let scenarios: [(&str, Box<BeforeFrame>); 3] = [
        ("idle", Box::new(|_, _| {})),
        (
            "scrolling",
            Box::new(|b, frame| b.scroll_to(frame as f32 * SCROLL_STEP)),
        ),
        (
            "searching",
            Box::new(|b, frame| b.set_query(&format!("cache {}", frame % 40))),
        ),
    ];
    println!(
        "File browser, {ROWS} entries, {FRAMES} frames each (CPU: layout + tessellation, no GPU)"
    );
    println!(
        "{:<10} {:>11} {:>11} {:>11} {:>10}",
        "scenario", "median ms", "p95 ms", "max ms", "vertices"
    );
    for (name, before) in scenarios {
        let (mut times, vertices) = measure(before);
        times.sort_unstable();
        println!(
            "{:<10} {:>11} {:>11} {:>11} {:>10}",
            name,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
            ms(times[times.len() - 1]),
            vertices
        );
    }
}
