//! Preflight: before anything is sent to a phone, a checklist of the backup, the phone, the
//! connection and this computer. Each item is Pass, Warn or Block, with a sentence and a
//! fix; one Block stops the restore before the phone is touched.

pub mod checks;
pub mod gather;
pub mod power;

pub use checks::{Facts, PlainFolder, evaluate};
pub use power::PowerSource;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Block,
}

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable id (`backup-password`, `find-my` …).
    pub id: &'static str,
    pub status: Status,
    pub message: String,
    /// What to do; empty for a pass.
    pub fix: String,
}

/// The whole checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Preflight {
    pub items: Vec<Item>,
}

impl Preflight {
    pub fn from_facts(facts: &Facts) -> Preflight {
        Preflight {
            items: evaluate(facts),
        }
    }

    /// True when any item blocks the restore.
    pub fn blocked(&self) -> bool {
        self.items.iter().any(|i| i.status == Status::Block)
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
}

#[cfg(test)]
mod tests;
