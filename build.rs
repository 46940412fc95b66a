//! Build script: turns every tutorial chapter (`docs/tutorial/*.md`, `docs/zh/tutorial/*.md`)
//! into an empty module whose doc comment is the chapter, so `cargo test` runs each chapter's
//! Rust code blocks as doc tests and the tutorial cannot rot. A new chapter is picked up
//! without editing any list.

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut out = String::new();
    for (lang, dir) in [("en", "docs/tutorial"), ("zh", "docs/zh/tutorial")] {
        let dir = Path::new(&root).join(dir);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut chapters: Vec<_> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect(),
            Err(_) => Vec::new(),
        };
        chapters.sort();
        writeln!(out, "/// Chapters of the tutorial ({lang}).\npub mod {lang} {{").unwrap();
        for path in chapters {
            let stem = path.file_stem().unwrap().to_string_lossy();
            let ident: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            writeln!(out, "    #[doc = include_str!({:?})]\n    pub mod ch_{ident} {{}}", path.display().to_string())
                .unwrap();
        }
        writeln!(out, "}}").unwrap();
    }
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("tutorial_doctests.rs");
    fs::write(dest, out).expect("write tutorial_doctests.rs");
}
