//! `vigie cap import FILE…`: brings CAP 1.2 alerts into a running room through its API
//! (`POST /api/v1/cap`), as a dispatcher's or an admin's token — so the import is authorised,
//! recorded and answered like any other, and works against a room on another machine.

use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Send CAP 1.2 alert files to the room; prints what each became.
    Import {
        /// The alert files (XML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The room's address.
        #[arg(long, env = "VIGIE_URL", default_value = "http://127.0.0.1:3000")]
        url: String,
        /// A dispatcher's or an admin's API token with the incidents:write scope.
        #[arg(long, env = "VIGIE_TOKEN", hide_env_values = true)]
        token: String,
    },
}

/// Runs the action; the report, and whether every file was taken.
pub async fn run(action: Action) -> anyhow::Result<(String, bool)> {
    let Action::Import { files, url, token } = action;
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30)).build()?;
    let (mut report, mut ok) = (Vec::new(), true);
    for file in files {
        let body = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        if body.len() > vigie_adapters::cap::alert::MAX_ALERT_BYTES {
            report.push(format!("{}: refused, larger than 1 MiB", file.display()));
            ok = false;
            continue;
        }
        let response = http
            .post(format!("{}/api/v1/cap", url.trim_end_matches('/')))
            .bearer_auth(&token)
            .header("content-type", crate::api::cap::CAP_TYPE)
            .body(body)
            .send()
            .await
            .with_context(|| format!("sending {} to {url}", file.display()))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        match status.as_u16() {
            201 => report.push(format!("{}: alert {} issued", file.display(), answer["alert_id"])),
            200 => report.push(format!("{}: alert {} updated or cancelled", file.display(), answer["alert_id"])),
            409 => report.push(format!("{}: already in the room", file.display())),
            _ => {
                ok = false;
                let error = &answer["error"];
                let field = error["field"].as_str().map(|f| format!(" ({f})")).unwrap_or_default();
                report.push(format!(
                    "{}: refused, {status}{field}: {}",
                    file.display(),
                    error["message"].as_str().unwrap_or("")
                ));
            }
        }
    }
    Ok((report.join("\n"), ok))
}
