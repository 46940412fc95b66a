//! Runs PyTorch's conformance vectors against tapegrad and prints a report.
//!
//! ```text
//! cargo run --release --example conformance -- tests/data/conformance
//! ```
//!
//! One line per family (`functional: 80 passed, 0 failed, 6 unsupported`), the names of the
//! failed and unsupported cases, then `N passed, M failed`, where M counts failed *and*
//! unsupported cases. Exits with status 1 if any case failed.

#[path = "../tests/conformance_runner/mod.rs"]
mod conformance_runner;

use std::path::PathBuf;

fn main() {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("tests/data/conformance"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    files.sort();
    // Panics inside cases are caught and reported; keep the default hook from printing them.
    std::panic::set_hook(Box::new(|_| {}));

    let (mut passed, mut failed, mut unsupported) = (0, 0, 0);
    for path in &files {
        match conformance_runner::run_file(path) {
            Ok(report) => {
                println!("{}", report.summary());
                for (name, why) in &report.failed {
                    println!("  FAILED {name}: {why}");
                }
                if !report.unsupported.is_empty() {
                    let names: Vec<String> =
                        report.unsupported.iter().map(|(name, op)| format!("{name} ({op})")).collect();
                    println!("  unsupported: {}", names.join(", "));
                }
                passed += report.passed.len();
                failed += report.failed.len();
                unsupported += report.unsupported.len();
            }
            Err(e) => {
                println!("{}: could not be read: {e}", path.display());
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {} failed", failed + unsupported);
    if failed > 0 {
        std::process::exit(1);
    }
}
