//! The error explainer: any code or number a person meets (Finder's 4013, an iPhone's
//! MBErrorDomain 211, adb's "unauthorized", Plugback's own codes), searched in the
//! plain-language catalog, each with what happened and what to do.

use eframe::egui;
use plugback_core::explain;

/// Entries shown at once; more matches ask for more words.
const SHOWN: usize = 8;

pub fn show(ctx: &egui::Context, query: &mut Option<String>) {
    let Some(text) = query.as_mut() else {
        return;
    };
    let mut open = true;
    egui::Window::new("Explain an error")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                let label = ui.label("Error number or words");
                ui.add(
                    egui::TextEdit::singleline(text)
                        .hint_text("For example 4013, 211 or unauthorized")
                        .desired_width(280.0),
                )
                .labelled_by(label.id);
            });
            ui.separator();
            results(ui, text.trim());
        });
    if !open {
        *query = None;
    }
}

fn results(ui: &mut egui::Ui, query: &str) {
    if query.is_empty() {
        ui.label("Type the number or the words of the message you saw.");
        return;
    }
    let found = explain::search(query);
    if found.is_empty() {
        ui.label(format!(
            "Nothing is known about \u{201c}{query}\u{201d}. Try fewer words, or just the number."
        ));
        return;
    }
    egui::ScrollArea::vertical()
        .max_height(420.0)
        .show(ui, |ui| {
            for entry in found.iter().take(SHOWN) {
                ui.strong(entry.title);
                ui.label(entry.what_happened);
                ui.label(format!("What to do: {}", entry.what_to_do));
                ui.weak(format!("Code: {}", entry.code));
                ui.separator();
            }
            if found.len() > SHOWN {
                ui.weak(format!(
                    "{} more match. Add a word to narrow them down.",
                    found.len() - SHOWN
                ));
            }
        });
}
