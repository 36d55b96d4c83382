//! The one service shape, checked on the sources (the compiler cannot: a service's domain
//! shares its crate with the adapters). Files are parsed with `syn`; every path counts: `use`
//! trees (groups, renames, `::leading` colons), expression, type, bound and pattern paths,
//! macro paths, `a::b` runs inside macro and attribute arguments (syn keeps those as tokens),
//! and `extern crate`. Doc comments are not code and visibilities (`pub(crate)`) depend on
//! nothing, so neither counts.
//!
//! **Purity.** Every `.rs` file under `libs/domain/src/` and `services/*/src/domain/`
//! (recursively, tests included; or a service's `src/domain.rs`) names no path whose first
//! segment is one of [`purity::FORBIDDEN`] (the I/O, gRPC, storage and bus crates), and
//! nothing of its crate outside `crate::domain` (`crate::api`, `super::super::store`, ...).
//! `libs/domain`'s `[dependencies]` list none of those crates either. Every occurrence is
//! reported; the same path on the same line once.
//!
//! **Module graph**, for each crate `services/*` with a `src/lib.rs`:
//! - A node is a module file, found by following `mod x;` from `lib.rs` (the crate root,
//!   shown as `crate`): `api.rs` or `api/mod.rs` is `api`, `api/cases.rs` is `api::cases`.
//!   Inline `mod x { .. }` blocks belong to their file; `#[cfg(test)]` modules, inline or
//!   file, are left out entirely. `#[path]` attributes are not followed.
//! - An edge a → b exists when a's code names a path into b: `crate::..`, `self::..` and
//!   `super::..` resolved from where the path stands, or a bare path of two or more segments
//!   whose first segment is a module declared right there (`cases::create` in `api/mod.rs`).
//!   The path resolves to its longest prefix that is a known module, so `crate::Intake` leads
//!   to the crate root. A `mod x;` item itself is no edge, nor is a file naming itself.
//! - **Cycles**: strongly connected components of more than one module. An edge from a
//!   module to one of its own descendants (a parent routing to its children or re-exporting
//!   them) never counts: the parent is the face of its children, and a child may use what the
//!   parent declares for them (`super::AllocationError`). Edges between siblings, and from a
//!   child to anything else, count; `super::support` from `api/cases.rs` names the sibling
//!   `api::support`, not `api`.
//! - **Layers**, checked on every edge: modules under `domain` name nothing outside `domain`
//!   (the root included); modules under `store` name neither `api` nor `events`; only modules
//!   under `api` and the crate root name `api`; only modules under `events` and the crate root
//!   name `events` (the consumer adapter: the event kinds a service publishes live below the
//!   application layer).

mod graph;
mod paths;
pub mod purity;

use std::fmt;
use std::path::{Path, PathBuf};

/// One broken rule: where, what was named, and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
    pub path: String,
    pub why: String,
}

impl Violation {
    fn new(file: &Path, line: usize, what: &str, path: &str, why: &str) -> Violation {
        let (what, path, why) = (what.to_owned(), path.to_owned(), why.to_owned());
        Violation {
            file: file.to_path_buf(),
            line,
            what,
            path,
            why,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {} `{}`: {}",
            self.file.display(),
            self.line,
            self.what,
            self.path,
            self.why
        )
    }
}

/// Every violation found, one per line when displayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// The same path on the same line is reported once (a domain file naming `crate::api`
    /// breaks both purity and the layers).
    fn push(&mut self, violation: Violation) {
        let same = |v: &Violation| {
            v.file == violation.file && v.line == violation.line && v.path == violation.path
        };
        if !self.violations.iter().any(same) {
            self.violations.push(violation);
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for violation in &self.violations {
            writeln!(f, "{violation}")?;
        }
        Ok(())
    }
}

/// Checks the workspace at `root` (the folder with the root `Cargo.toml`); the violations come
/// sorted by file and line.
pub fn check_workspace(root: &Path) -> Report {
    let mut report = Report::default();
    let domain_lib = root.join("libs/domain");
    if let Ok(text) = std::fs::read_to_string(domain_lib.join("Cargo.toml")) {
        purity::check_manifest(&mut report, Path::new("libs/domain/Cargo.toml"), &text);
    }
    let src = domain_lib.join("src");
    check_domain_files(&mut report, root, &src, rust_files(&src), &[]);
    for service in subfolders(&root.join("services")) {
        let src = service.join("src");
        // `src/domain/` (recursively), or a service whose domain is one `src/domain.rs`.
        let mut files = rust_files(&src.join("domain"));
        files.extend(Some(src.join("domain.rs")).filter(|f| f.is_file()));
        check_domain_files(&mut report, root, &src, files, &["domain".to_owned()]);
        if src.join("lib.rs").is_file() {
            graph::check_crate(&mut report, root, &src);
        }
    }
    report
        .violations
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    report
}

/// Purity of domain files of the crate whose sources are in `src`.
fn check_domain_files(
    report: &mut Report,
    root: &Path,
    src: &Path,
    files: Vec<PathBuf>,
    domain: &[String],
) {
    for path in files {
        let shown = path.strip_prefix(root).unwrap_or(&path);
        let Some(file) = parse(report, shown, &path) else {
            continue;
        };
        let relative = path.strip_prefix(src).unwrap_or(&path).with_extension("");
        let mut module: Vec<String> = relative
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        if matches!(
            module.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            module.pop();
        }
        purity::check_file(report, shown, &file, &module, domain);
    }
}

/// Reads and parses a file; a file that cannot be read or parsed is itself a violation.
fn parse(report: &mut Report, shown: &Path, path: &Path) -> Option<syn::File> {
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| syn::parse_file(&text).map_err(|e| e.to_string()));
    parsed
        .map_err(|error| report.push(Violation::new(shown, 1, "cannot parse", "", &error)))
        .ok()
}

fn subfolders(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    subfolders(dir)
        .into_iter()
        .flat_map(|path| {
            if path.is_dir() {
                rust_files(&path)
            } else if path.extension().is_some_and(|e| e == "rs") {
                vec![path]
            } else {
                Vec::new()
            }
        })
        .collect()
}
