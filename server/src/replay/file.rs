//! Scenario files: a time range of a log, portable to another Vigie. Gzip-compressed JSON lines,
//! readable with `zcat`:
//!
//! 1. a header: `{"format":"vigie-scenario","version":1,"name",...,"events":N}`;
//! 2. `{"state": ...}`: the room at the range's start;
//! 3. the range's events, one `LoggedEvent` per line, seqs consecutive from the state's.
//!
//! Import checks all of it while writing into the scenario tables (their own database file, never
//! the live log), and a file that fails any check leaves nothing behind:
//! - the format, the version, gzip's checksum, the event count (a truncated file says so);
//! - consecutive seqs and ordered times inside the header's range;
//! - every event and the initial state with the same parsers and bounds as live commands
//!   ([`vigie_domain::validate`]), refused at the first failure with its line number;
//! - sizes: a line is at most [`MAX_LINE_BYTES`] ([`MAX_STATE_LINE_BYTES`] for the initial
//!   state), blank lines are refused, and the file may not decompress to more than
//!   [`MAX_RATIO`] times its size (a gzip bomb stops there).

use anyhow::Context;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use vigie_domain::time::check_ms;
use vigie_domain::visibility::{record_for, view, Viewer};
use vigie_domain::{validate, LoggedEvent, State};

use super::seek;
use crate::jobs::{Job, Refused};
use crate::store::replay::{Log, FOLD_PAGE};
use crate::store::Store;

pub const FORMAT: &str = "vigie-scenario";
pub const VERSION: u32 = 1;
/// Longest event line: a batch of 10 000 fixes is about 1.5 MB.
pub const MAX_LINE_BYTES: u64 = 4 * 1024 * 1024;
/// Longest initial-state line: a 20 000-unit room is a few MB.
pub const MAX_STATE_LINE_BYTES: u64 = 64 * 1024 * 1024;
/// Most a file may decompress to, as a multiple of its size: JSON lines of events compress about
/// ten times; blank lines or repeated bytes (a bomb) a thousand times.
pub const MAX_RATIO: u64 = 64;
/// Decompressed bytes always allowed, whatever the file's size (a small exercise).
const MIN_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;

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
    /// Whose picture the file holds: the exporter's agency (the events it may not see are left
    /// out, so seqs may skip); absent for the whole room (seqs then follow one another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<vigie_domain::AgencyCode>,
}

#[derive(Serialize, Deserialize)]
struct Start {
    state: State,
}

impl Header {
    /// The header of an export of `[from_ms, to_ms]` made at `now_ms` (its event count comes later).
    pub fn new(name: String, from_ms: i64, to_ms: i64, now_ms: i64) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            name,
            from_ms,
            to_ms,
            exported_at_ms: now_ms,
            events: 0,
            audience: None,
        }
    }
}

/// Writes the range `header` names, from `log`, as `viewer` may see it ([`view`] of the starting
/// room, then [`record_for`] of the events) to `file` (a job's file); returns the header.
pub async fn export(
    store: &Store,
    log: Log,
    mut header: Header,
    viewer: &Viewer,
    file: std::fs::File,
    job: Arc<Job>,
) -> anyhow::Result<Header> {
    let room = seek::state_at(store, log, header.from_ms, None, |_, _| {}).await?;
    let last = store.seq_at(log, header.to_ms).await?;
    let start_seq = room.seq;
    let start = view(&room, viewer);
    // The header, written first, counts the events: an agency's export counts what it keeps first.
    let events = match viewer {
        Viewer::Room => last.saturating_sub(start_seq),
        viewer => {
            let (mut pages, mut folded, mut kept) = (store.pages(log, start_seq, last), room.clone(), 0);
            while let Some(page) = pages.next().await? {
                kept += record_for(&mut folded, viewer, page).len() as u64;
            }
            kept
        }
    };
    let mut room = room;
    header.events = events;
    header.audience = match viewer {
        Viewer::Room => None,
        Viewer::Agency(agency) => Some(agency.clone()),
    };
    job.progress(0, events);
    // Compression is CPU work: a blocking thread writes while this task reads the next page.
    let (tx, mut rx) = mpsc::channel::<Vec<LoggedEvent>>(4);
    let writer = {
        let header = header.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
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
    let read = async {
        while let Some(page) = pages.next().await? {
            let page = record_for(&mut room, viewer, page);
            done += page.len() as u64;
            // A send fails only when the writer stopped; its error is the one to report.
            if tx.send(page).await.is_err() {
                break;
            }
            job.progress(done, events);
        }
        anyhow::Ok(())
    }
    .await;
    drop(tx);
    writer.await.context("the file writer panicked")??;
    read?;
    Ok(header)
}

/// Imports the scenario file at `path` under a new scenario id; on any error nothing is kept.
/// Snapshots are spaced as the live log's (`snapshot_every`, in event weight), so seeks in an
/// imported scenario fold as short a tail.
pub async fn import(
    store: &Store,
    path: &Path,
    now_ms: i64,
    snapshot_every: u64,
    job: Arc<Job>,
) -> anyhow::Result<(u32, Header)> {
    let (tx, mut rx) = mpsc::channel::<anyhow::Result<Item>>(4);
    let reader = {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = read_file(&path, &tx) {
                let _ = tx.blocking_send(Err(e));
            }
        })
    };
    let result = write_scenario(store, &mut rx, now_ms, snapshot_every, &job).await;
    // Close the channel before waiting for the reader: a reader blocked on a full channel then
    // fails its send and ends, instead of waiting forever on a writer that stopped (which would
    // hold a blocking thread and leave the job running).
    drop(rx);
    reader.await.context("the file reader panicked")?;
    result
}

async fn write_scenario(
    store: &Store,
    rx: &mut mpsc::Receiver<anyhow::Result<Item>>,
    now_ms: i64,
    snapshot_every: u64,
    job: &Job,
) -> anyhow::Result<(u32, Header)> {
    let header = match rx.recv().await {
        Some(Ok(Item::Header(h))) => h,
        Some(Err(e)) => return Err(e),
        _ => return Err(Refused("the file has no header".into()).into()),
    };
    let mut state = match rx.recv().await {
        Some(Ok(Item::Start(state))) => state,
        Some(Err(e)) => return Err(e),
        _ => return Err(Refused("the file has no initial state after its header".into()).into()),
    };
    job.progress(0, header.events);
    let scenario_id = store.create_scenario(&header.name, header.from_ms, header.to_ms, now_ms).await?;
    let written = async {
        store.save_scenario_snapshot(scenario_id, &state).await?;
        let (mut count, mut weight) = (0u64, 0u64);
        while let Some(item) = rx.recv().await {
            let Item::Events(page) = item? else {
                return Err(refused("a header or state line in the middle of the file"));
            };
            for (line, e) in &page {
                // An agency's file leaves out what it may not see: its seqs only increase.
                let follows = match header.audience {
                    None => Some(e.seq) == state.seq.checked_add(1),
                    Some(_) => e.seq > state.seq,
                };
                if !follows {
                    return Err(refused(format!(
                        "line {line}: event {} follows {}: the file has a gap or is out of order",
                        e.seq, state.seq
                    )));
                }
                if e.at_ms < state.at_ms {
                    return Err(refused(format!("line {line}: event {} goes back in time", e.seq)));
                }
                if e.at_ms > header.to_ms {
                    return Err(refused(format!("line {line}: event {} is after the scenario's end", e.seq)));
                }
                state.apply(e);
                weight += e.event.weight();
            }
            let events: Vec<LoggedEvent> = page.into_iter().map(|(_, e)| e).collect();
            store.append_scenario(scenario_id, &events).await?;
            count += events.len() as u64;
            if weight >= snapshot_every {
                store.save_scenario_snapshot(scenario_id, &state).await?;
                weight = 0;
            }
            job.progress(count, header.events);
        }
        if count != header.events {
            return Err(refused(format!(
                "the file holds {count} events but its header announces {}: it is truncated",
                header.events
            )));
        }
        store.finish_scenario(scenario_id, count).await
    }
    .await;
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

fn refused(message: impl Into<String>) -> anyhow::Error {
    Refused(message.into()).into()
}

enum Item {
    Header(Header),
    Start(State),
    /// Events with the line each came from.
    Events(Vec<(u64, LoggedEvent)>),
}

/// Decompresses and parses the file line by line on a blocking thread, in pages.
fn read_file(path: &Path, tx: &mpsc::Sender<anyhow::Result<Item>>) -> anyhow::Result<()> {
    let mut file = crate::jobs::open_file(path).context("opening the uploaded file")?;
    let mut magic = [0u8; 2];
    if file.read_exact(&mut magic).is_err() || magic != [0x1f, 0x8b] {
        return Err(refused("not a Vigie scenario file: it is not gzip-compressed"));
    }
    let size = file.metadata()?.len();
    let budget = size.saturating_mul(MAX_RATIO).max(MIN_DECOMPRESSED_BYTES);
    drop(file);
    let mut lines = BufReader::new(GzDecoder::new(crate::jobs::open_file(path)?).take(budget.saturating_add(1)));
    let mut line = Vec::new();
    let (mut number, mut inflated) = (0u64, 0u64);
    let mut next_line = |line: &mut Vec<u8>, max: u64| -> anyhow::Result<bool> {
        line.clear();
        number += 1;
        let n = (&mut lines).take(max + 1).read_until(b'\n', line).map_err(|_| refused("the file is corrupt (gzip)"))?
            as u64;
        inflated += n;
        if inflated > budget {
            return Err(refused(format!(
                "the file decompresses to more than {MAX_RATIO} times its size: refused as a compression bomb"
            )));
        }
        if n > max {
            return Err(refused(format!("line {number} is longer than {} MiB", max / (1024 * 1024))));
        }
        if n > 0 && line.iter().all(u8::is_ascii_whitespace) {
            return Err(refused(format!("line {number} is blank")));
        }
        Ok(n > 0)
    };
    if !next_line(&mut line, MAX_LINE_BYTES)? {
        return Err(refused("the file is empty"));
    }
    let header: Header =
        serde_json::from_slice(&line).map_err(|e| refused(format!("line 1 is not a scenario header: {e}")))?;
    check_header(&header)?;
    let send = |item| tx.blocking_send(Ok(item)).map_err(|_| anyhow::anyhow!("the import stopped"));
    send(Item::Header(header))?;
    if !next_line(&mut line, MAX_STATE_LINE_BYTES)? {
        return Err(refused("the file ends after its header"));
    }
    let start: Start =
        serde_json::from_slice(&line).map_err(|e| refused(format!("line 2 is not the initial state: {e}")))?;
    validate::state(&start.state)
        .map_err(|r| refused(format!("line 2: {}: {}", r.field.unwrap_or_default(), r.message)))?;
    send(Item::Start(start.state))?;
    let mut page = Vec::with_capacity(FOLD_PAGE as usize);
    let mut line_no = 2;
    while next_line(&mut line, MAX_LINE_BYTES)? {
        line_no += 1;
        let event: LoggedEvent =
            serde_json::from_slice(&line).map_err(|e| refused(format!("line {line_no} is not an event: {e}")))?;
        validate::logged_event(&event)
            .map_err(|r| refused(format!("line {line_no}: {}: {}", r.field.unwrap_or_default(), r.message)))?;
        page.push((line_no, event));
        if page.len() == FOLD_PAGE as usize {
            send(Item::Events(std::mem::take(&mut page)))?;
        }
    }
    if !page.is_empty() {
        send(Item::Events(page))?;
    }
    Ok(())
}

fn check_header(header: &Header) -> anyhow::Result<()> {
    if header.format != FORMAT {
        return Err(refused(format!("not a Vigie scenario file (format {:?})", header.format)));
    }
    if header.version != VERSION {
        return Err(refused(format!(
            "this file is scenario format version {}; this Vigie reads version {VERSION}",
            header.version
        )));
    }
    for (field, ms) in [("from_ms", header.from_ms), ("to_ms", header.to_ms), ("exported_at_ms", header.exported_at_ms)]
    {
        check_ms(field, ms).map_err(|r| refused(format!("line 1: {}", r.message)))?;
    }
    if header.to_ms <= header.from_ms {
        return Err(refused("the header's range ends before it starts"));
    }
    let name = header.name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(refused("line 1: the scenario's name is 1 to 120 printable characters"));
    }
    Ok(())
}
