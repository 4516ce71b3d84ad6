//! `plugback explain`: the plain-language catalog from a terminal.

use super::output::outln;
use super::{EXIT_CANNOT_RUN, EXIT_OK};
use plugback_core::explain;

pub fn run(query: &str) -> i32 {
    let query = query.trim();
    let hits = match explain::explain(query) {
        Some(exact) => vec![exact],
        None if query.is_empty() => explain::CATALOG.iter().collect(),
        None => explain::search(query),
    };
    if hits.is_empty() {
        eprintln!("error: nothing in the catalog matches \"{query}\"");
        eprintln!("  Run `plugback explain` with no words to see every code.");
        return EXIT_CANNOT_RUN;
    }
    for (i, e) in hits.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        outln!("{}: {}", e.code, e.title);
        outln!("  What happened: {}", e.what_happened);
        outln!("  What to do: {}", e.what_to_do);
    }
    EXIT_OK
}
