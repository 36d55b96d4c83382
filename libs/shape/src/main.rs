//! `hearth-shape [ROOT]`: checks the workspace (ROOT, or the one the current folder is in)
//! and exits 1 listing the violations.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn workspace_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|dir| {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
        manifest
            .lines()
            .any(|line| line.trim() == "[workspace]")
            .then(|| dir.to_path_buf())
    })
}

fn main() -> ExitCode {
    let here = std::env::current_dir().unwrap_or_default();
    let Some(root) = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| workspace_root(&here))
    else {
        eprintln!("hearth-shape: no Cargo workspace above {}", here.display());
        return ExitCode::from(2);
    };
    let report = hearth_shape::check_workspace(&root);
    if report.is_empty() {
        println!(
            "hearth-shape: {} keeps the one service shape",
            root.display()
        );
        return ExitCode::SUCCESS;
    }
    eprint!("{report}");
    eprintln!("hearth-shape: {} violations", report.violations.len());
    ExitCode::from(1)
}
