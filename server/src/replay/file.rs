//! Scenario files: a time range of a log, portable to another Vigie. Gzip-compressed JSON lines,
//! readable with `zcat`:
//!
//! 1. a header: `{"format":"vigie-scenario","version":1,"name",...,"events":N}`;
//! 2. `{"state": ...}`: the room at the range's start;
//! 3. the range's events, one `LoggedEvent` per line, seqs consecutive from the state's.
//!
//! Import checks all of it (format, version, consecutive seqs, ordered times, the count, gzip's
//! checksum) while writing into the scenario tables, never the live log; a file that fails any
//! check leaves nothing behind.

use anyhow::{bail, ensure, Context};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;
use vigie_domain::{LoggedEvent, State};

use super::seek;
use crate::jobs::Job;
use crate::store::replay::{Log, FOLD_PAGE};
use crate::store::Store;

pub const FORMAT: &str = "vigie-scenario";
pub const VERSION: u32 = 1;
/// Longest line read (the initial state of a large room is the long one).
const MAX_LINE_BYTES: u64 = 256 * 1024 * 1024;
/// Most bytes decompressed from one file (a gzip bomb stops here).
const MAX_DECOMPRESSED_BYTES: u64 = 16 * 1024 * 1024 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub exported_at_ms: i64,
    /// Events after the initial state.
    pub events: u64,
}

#[derive(Serialize, Deserialize)]
struct Start {
    state: State,
}

impl Header {
    /// The header of an export of `[from_ms, to_ms]` made at `now_ms` (its event count comes later).
    pub fn new(name: String, from_ms: i64, to_ms: i64, now_ms: i64) -> Self {
        Self { format: FORMAT.into(), version: VERSION, name, from_ms, to_ms, exported_at_ms: now_ms, events: 0 }
    }
}

/// Writes the range `header` names, from `log`, to a gzip file at `path`; returns the header written.
pub async fn export(store: &Store, log: Log, mut header: Header, path: PathBuf, job: Arc<Job>) -> anyhow::Result<Header> {
    let start = seek::state_at(store, log, header.from_ms, None, |_, _| {}).await?;
    let last = store.seq_at(log, header.to_ms).await?;
    let start_seq = start.seq;
    let events = last.saturating_sub(start_seq);
    header.events = events;
    job.progress(0, events);
    // Compression is CPU work: a blocking thread writes while this task reads the next page.
    let (tx, mut rx) = mpsc::channel::<Vec<LoggedEvent>>(4);
    let writer = {
        let header = header.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut out = GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
            serde_json::to_writer(&mut out, &header)?;
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut out, &Start { state: start })?;
            out.write_all(b"\n")?;
            while let Some(page) = rx.blocking_recv() {
                for e in &page {
                    serde_json::to_writer(&mut out, e)?;
                    out.write_all(b"\n")?;
                }
            }
            out.finish()?.flush()?;
            Ok(())
        })
    };
    let (mut pages, mut done) = (store.pages(log, start_seq, last), 0);
    while let Some(page) = pages.next().await? {
        done += page.len() as u64;
        // A send fails only when the writer stopped; its error is the one to report.
        if tx.send(page).await.is_err() {
            break;
        }
        job.progress(done, events);
    }
    drop(tx);
    writer.await.context("the file writer panicked")??;
    Ok(header)
}

/// Imports the scenario file at `path` under a new scenario id; on any error nothing is kept.
/// Snapshots are spaced as the live log's (`snapshot_every`, in event weight), so seeks in an
/// imported scenario fold as short a tail.
pub async fn import(store: &Store, path: &Path, now_ms: i64, snapshot_every: u64, job: Arc<Job>) -> anyhow::Result<(u32, Header)> {
    let (tx, mut rx) = mpsc::channel::<anyhow::Result<Item>>(4);
    let reader = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = read_file(&path, &tx) {
                let _ = tx.blocking_send(Err(e));
            }
        })
    };
    let header = match rx.recv().await {
        Some(Ok(Item::Header(h))) => h,
        Some(Err(e)) => return Err(e),
        _ => bail!("the file has no header"),
    };
    let mut state = match rx.recv().await {
        Some(Ok(Item::Start(state))) => state,
        Some(Err(e)) => return Err(e),
        _ => bail!("the file has no initial state after its header"),
    };
    job.progress(0, header.events);
    let scenario_id = store.create_scenario(&header.name, header.from_ms, header.to_ms, now_ms).await?;
    let written = async {
        store.save_scenario_snapshot(scenario_id, &state).await?;
        let (mut count, mut weight) = (0u64, 0u64);
        while let Some(item) = rx.recv().await {
            let Item::Events(page) = item? else { bail!("a header or state line in the middle of the file") };
            for e in &page {
                ensure!(e.seq == state.seq + 1, "event {} follows {}: the file has a gap or is out of order", e.seq, state.seq);
                ensure!(e.at_ms >= state.at_ms, "event {} goes back in time", e.seq);
                ensure!(e.at_ms <= header.to_ms, "event {} is after the scenario's end", e.seq);
                state.apply(e);
                weight += e.event.weight();
            }
            store.append_scenario(scenario_id, &page).await?;
            count += page.len() as u64;
            if weight >= snapshot_every {
                store.save_scenario_snapshot(scenario_id, &state).await?;
                weight = 0;
            }
            job.progress(count, header.events);
        }
        ensure!(count == header.events, "the file holds {count} events but its header announces {}: it is truncated", header.events);
        store.finish_scenario(scenario_id, count).await
    }
    .await;
    reader.await.context("the file reader panicked")?;
    match written {
        Ok(()) => Ok((scenario_id, header)),
        Err(e) => {
            if let Err(cleanup) = store.delete_scenario(scenario_id).await {
                tracing::error!(error = %cleanup, scenario_id, "removing a failed import");
            }
            Err(e)
        }
    }
}

enum Item {
    Header(Header),
    Start(State),
    Events(Vec<LoggedEvent>),
}

/// Decompresses and parses the file line by line on a blocking thread, in pages.
fn read_file(path: &Path, tx: &mpsc::Sender<anyhow::Result<Item>>) -> anyhow::Result<()> {
    let mut file = std::fs::File::open(path).context("opening the uploaded file")?;
    let mut magic = [0u8; 2];
    let is_gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    ensure!(is_gzip, "not a Vigie scenario file: it is not gzip-compressed");
    drop(file);
    let file = std::fs::File::open(path)?;
    let mut lines = BufReader::new(GzDecoder::new(file).take(MAX_DECOMPRESSED_BYTES));
    let mut line = Vec::new();
    let number = std::cell::Cell::new(0u64);
    let mut next_line = |line: &mut Vec<u8>| -> anyhow::Result<bool> {
        line.clear();
        let n = (&mut lines).take(MAX_LINE_BYTES).read_until(b'\n', line).context("the file is corrupt (gzip)")?;
        ensure!((n as u64) < MAX_LINE_BYTES || line.ends_with(b"\n"), "line {} is longer than 256 MiB", number.get() + 1);
        number.set(number.get() + 1);
        Ok(n > 0)
    };
    ensure!(next_line(&mut line)?, "the file is empty");
    let header: Header = serde_json::from_slice(&line).context("line 1 is not a scenario header")?;
    ensure!(header.format == FORMAT, "not a Vigie scenario file (format {:?})", header.format);
    ensure!(
        header.version == VERSION,
        "this file is scenario format version {}; this Vigie reads version {VERSION}",
        header.version
    );
    ensure!(header.to_ms > header.from_ms, "the header's range ends before it starts");
    let send = |item| tx.blocking_send(Ok(item)).map_err(|_| anyhow::anyhow!("the import stopped"));
    send(Item::Header(header))?;
    ensure!(next_line(&mut line)?, "the file ends after its header");
    let start: Start = serde_json::from_slice(&line).context("line 2 is not the initial state")?;
    send(Item::Start(start.state))?;
    let mut page = Vec::with_capacity(FOLD_PAGE as usize);
    while next_line(&mut line)? {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let event: LoggedEvent = serde_json::from_slice(&line).with_context(|| format!("line {} is not an event", number.get()))?;
        page.push(event);
        if page.len() == FOLD_PAGE as usize {
            send(Item::Events(std::mem::take(&mut page)))?;
        }
    }
    if !page.is_empty() {
        send(Item::Events(page))?;
    }
    Ok(())
}
