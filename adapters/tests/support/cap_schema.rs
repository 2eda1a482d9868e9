//! Validation against the OASIS CAP 1.2 schema (`tools/cap_validate.py`, with lxml, in the venv
//! `scripts/setup.sh` makes). Shared by the adapters' and the server's tests (`#[path]`).

use std::path::{Path, PathBuf};

/// The venv's Python, or `None` (the test says so) where it is absent; under `CI` its absence is a
/// failure, since `scripts/setup.sh` installs it.
fn python() -> Option<PathBuf> {
    let python = Path::new(&std::env::var_os("HOME")?).join(".cache/vigie/tools/tak-venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing; scripts/setup.sh installs it", python.display());
    eprintln!("SKIPPED: {} is missing; scripts/setup.sh installs it", python.display());
    None
}

/// Checks each `(name, xml)` against the schema; `Err` lists the invalid ones with lxml's reasons.
/// `None` where the validator is not installed.
pub fn validate(alerts: &[(String, String)]) -> Option<Result<usize, String>> {
    let python = python()?;
    let dir = tempfile::TempDir::new().expect("a temporary folder");
    let files: Vec<PathBuf> = alerts
        .iter()
        .map(|(name, xml)| {
            let file = dir.path().join(format!("{name}.xml"));
            std::fs::write(&file, xml).expect("writing an alert");
            file
        })
        .collect();
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/cap_validate.py");
    let out = std::process::Command::new(python).arg(tool).args(&files).output().expect("the validator runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some(if out.status.success() { Ok(files.len()) } else { Err(report) })
}
