//! `vigie audit key|verify|export|witness`: what the room's operator and its overseers run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::export::{self, ExportFile, Range};
use super::key::LogKey;
use super::witness::{Round, Witness};
use super::{default_key_path, verify};
use crate::store::Store;

#[derive(clap::Subcommand)]
pub enum Action {
    /// Print the log's public key (creating the key if the room has none yet): publish it to the
    /// room's overseers, who verify checkpoints and exports with it.
    Key,
    /// Verify the live log (recompute its tree, check every checkpoint's signature and root), or
    /// with --file an export, offline. Exits 1 when anything is broken, naming the first seq.
    Verify {
        /// An export file to verify instead of the live log (needs --key).
        #[arg(long)]
        file: Option<PathBuf>,
        /// The log's published public key (default for the live log: the room's own key file).
        #[arg(long)]
        key: Option<String>,
    },
    /// Write the events of a time range, with the checkpoints and proofs that cover them, to FILE.
    Export {
        /// Start (UTC `YYYY-MM-DDTHH:MM[:SS]`, or ms since the epoch), inclusive.
        #[arg(long, value_parser = parse_time)]
        from: i64,
        /// End, exclusive.
        #[arg(long, value_parser = parse_time)]
        to: i64,
        /// Keep the fixes of position batches (by default only their digests: the proof holds).
        #[arg(long)]
        with_positions: bool,
        file: PathBuf,
    },
    /// Follow a room's checkpoints from another machine, refuse forks and rollbacks, co-sign.
    Witness {
        /// The room's address, e.g. https://vigie.paris.example
        url: String,
        /// The room's published public key.
        #[arg(long)]
        key: String,
        /// This witness's signing key (created if missing).
        #[arg(long, default_value = "witness.key")]
        witness_key: PathBuf,
        /// This witness's name (in its key and co-signatures) when the key is created.
        #[arg(long, default_value = "witness")]
        name: String,
        /// Where the last co-signed checkpoint is kept between rounds.
        #[arg(long, default_value = "witness-state.json")]
        state: PathBuf,
        /// An API token of an auditor account with the `audit` scope.
        #[arg(long, env = "VIGIE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Seconds between rounds.
        #[arg(long, default_value_t = 10)]
        every: u64,
        /// One round, then exit.
        #[arg(long)]
        once: bool,
    },
}

/// Reads a time as UTC `YYYY-MM-DDTHH:MM[:SS][Z]` or ms since the epoch.
pub fn parse_time(raw: &str) -> Result<i64, String> {
    let ms = match raw.parse::<i64>() {
        Ok(ms) => Some(ms),
        Err(_) => vigie_domain::time::parse_utc(raw.trim_end_matches('Z')),
    };
    let ms = ms.ok_or_else(|| format!("{raw} is not a time: give YYYY-MM-DDTHH:MM[:SS] (UTC) or ms"))?;
    vigie_domain::time::check_ms("time", ms).map_err(|r| r.message)
}

/// Where the key of the log at `database_url` is.
pub fn key_path(configured: Option<&Path>, database_url: &str) -> anyhow::Result<PathBuf> {
    if let Some(p) = configured {
        return Ok(p.to_owned());
    }
    let options: sqlx::sqlite::SqliteConnectOptions =
        database_url.parse().with_context(|| format!("{database_url} is not a SQLite URL"))?;
    Ok(default_key_path(options.get_filename()))
}

/// Runs `action`; returns what to print and whether all is well (the exit status).
pub async fn run(
    action: Action,
    database_url: &str,
    key_file: Option<&Path>,
    log_name: &str,
) -> anyhow::Result<(String, bool)> {
    match action {
        Action::Key => {
            let key = LogKey::load_or_create(&key_path(key_file, database_url)?, log_name)?;
            Ok((key.public.clone(), true))
        }
        Action::Verify { file: Some(file), key } => {
            let key = key.context("verifying a file needs the log's published key: --key")?;
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let export: ExportFile = serde_json::from_slice(&bytes).context("the file is not a Vigie audit export")?;
            let report = verify::file(&export, &key)?;
            Ok((report.render(), report.ok))
        }
        Action::Verify { file: None, key } => {
            let key = match key {
                Some(k) => k,
                None => LogKey::load(&key_path(key_file, database_url)?)?.public,
            };
            let store = Store::open(database_url).await?;
            let report = verify::live(&store.pool, &key).await;
            store.close().await;
            let report = report?;
            Ok((report.render(), report.ok))
        }
        Action::Export { from, to, with_positions, file } => {
            let key = LogKey::load(&key_path(key_file, database_url)?)?;
            let store = Store::open(database_url).await?;
            let range = Range { from_ms: from, to_ms: to, with_positions, max_bytes: None };
            let built = export::build(&store.pool, &key.public, &range).await;
            let built = match built {
                Ok(b) => b,
                Err(e) => {
                    store.close().await;
                    return Err(e);
                }
            };
            let events = built.events.len() as u64;
            let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
            let record = vigie_domain::record::Record::AuditExported { from_ms: from, to_ms: to, events };
            super::pending::add(&store.writer, now_ms, &record).await?;
            store.close().await;
            export::write(
                &built,
                std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?,
            )?;
            Ok((format!("{events} events written to {}", file.display()), true))
        }
        Action::Witness { url, key, witness_key, name, state, token, every, once } => {
            let own = LogKey::load_or_create(&witness_key, &name)?;
            eprintln!("witness key: {}", own.public);
            let witness = Witness::new(&url, &key, own, &state, token)?;
            loop {
                match witness.round().await {
                    Ok(Round::Cosigned(size)) => eprintln!("co-signed the checkpoint of {size} events"),
                    Ok(Round::Unchanged(_)) => {}
                    Err(e) => {
                        let text = format!("{e:#}");
                        if text.starts_with("FORK") || text.starts_with("ROLLBACK") {
                            return Ok((text, false));
                        }
                        if once {
                            return Err(e);
                        }
                        eprintln!("witness round failed (will retry): {text}");
                    }
                }
                if once {
                    return Ok(("witnessed".into(), true));
                }
                tokio::time::sleep(Duration::from_secs(every.max(1))).await;
            }
        }
    }
}
