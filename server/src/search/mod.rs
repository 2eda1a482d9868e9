//! One search over everything the room knows (`GET /api/v1/search`): incidents and their notes,
//! units, messages, alerts, and the base map's places.
//!
//! The index is SQLite's own full-text search (FTS5, `unicode61 remove_diacritics 2`: case and
//! accents do not matter), in a database file of its own beside the log (`<log>-search.db`). It is
//! derived, never the record: rebuilt from the room at every start, kept up to date from the hub's
//! feed by [`follow`] (and rebuilt whole if it falls behind the feed), the gazetteer read again
//! whenever a layer is imported or removed. What each thing is found by is the domain's
//! ([`vigie_domain::search`]).
//!
//! Need-to-know is applied when a query is answered, never stored: the best candidates are read in
//! rank order, and each goes through [`vigie_domain::search::hit`] — the visibility rules every
//! other read path uses — until the answer is full. Bounds: [`MAX_CANDIDATES`] candidates a query;
//! [`READERS`] queries at once (others wait up to [`BUSY_AFTER`], then get 503); an answer waits up
//! to [`CATCH_UP`] for the index to hold everything committed before the query arrived, so a
//! search right after a command finds what it made.
//!
//! A replay's room (the past) is searched without the index, by [`scan_replay`].

pub mod gazetteer;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use vigie_domain::api::{Fragment, SearchHit, SearchResults};
use vigie_domain::search::{self, Document, Place, SearchQuery, Subject, Touch};
use vigie_domain::visibility::Viewer;
use vigie_domain::{IncidentId, Seq};

use crate::hub::Hub;
use crate::replay::Session;
use crate::store::Store;
use crate::AppState;

/// Candidates read for one query, best first, before need-to-know: past this many, an agency that
/// may see few of them is told `more` rather than the index being read on.
pub const MAX_CANDIDATES: i64 = 4_000;
/// Candidates read first; each further page is four times larger, up to [`MAX_CANDIDATES`].
const FIRST_PAGE: i64 = 64;
/// Queries read the index on this many connections at once.
pub const READERS: u32 = 2;
/// A query that finds no free reader in this time gets 503.
pub const BUSY_AFTER: Duration = Duration::from_secs(2);
/// How long an answer waits for the index to catch up with the room.
pub const CATCH_UP: Duration = Duration::from_secs(2);
/// How often the gazetteer checks whether a layer was imported or removed (`vigie basemap` writes
/// the database from another process).
pub const LAYERS_EVERY: Duration = Duration::from_secs(2);
/// Words of context around a snippet's match.
const SNIPPET_TOKENS: i64 = 12;
/// Marks around a matched word in a snippet: private-use characters, taken out of every text
/// indexed, so a document cannot forge a mark.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
/// Rows written per statement batch when the index is rebuilt.
const CHUNK: usize = 500;

/// The index: one writer ([`follow`]), a few readers (queries).
pub struct Index {
    writer: SqlitePool,
    readers: SqlitePool,
    /// What the index holds so far.
    held: watch::Sender<Held>,
    /// Searches of a replay's room running at once ([`scan_replay`]).
    scans: tokio::sync::Semaphore,
    prepared: Arc<PreparedRooms>,
}

/// What the index holds: the room up to a seq once it is built, and whether the base map's places
/// were read. Until both, a query waits (up to [`CATCH_UP`]): a search right after the start
/// finds the places as it finds the room.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Held {
    room: Option<Seq>,
    places: bool,
}

impl Held {
    fn covers(&self, seq: Seq) -> bool {
        self.places && self.room.is_some_and(|r| r >= seq)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the search index is busy; retry shortly")]
    Busy,
    #[error("this replay's room is still loading; retry shortly")]
    NotLoaded,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl Index {
    /// Creates the index beside `store`'s log, empty (a previous one is removed: it is derived).
    pub async fn open(store: &Store) -> anyhow::Result<Arc<Self>> {
        let path = store.beside("search.db");
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing the old search index {file}"))
                }
                _ => {}
            }
        }
        Self::open_at(&path).await
    }

    async fn open_at(path: &Path) -> anyhow::Result<Arc<Self>> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Derived: a crash loses nothing the next start does not rebuild.
            .synchronous(SqliteSynchronous::Off)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        sqlx::query(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, place UNINDEXED, \
             tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
        )
        .execute(&writer)
        .await
        .context("creating the search index (SQLite FTS5)")?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .acquire_timeout(BUSY_AFTER)
            .connect_with(options.read_only(true))
            .await?;
        let scans = tokio::sync::Semaphore::new(READERS as usize);
        Ok(Arc::new(Self { writer, readers, held: watch::channel(Held::default()).0, scans, prepared: Arc::default() }))
    }

    /// Closes its connections (at the server's stop, after [`follow`] has returned).
    pub async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    /// Writes `puts` (replacing any document of the same subject) and removes `removes`, at once.
    async fn write(&self, puts: &[(i64, Document, Option<String>)], removes: &[i64]) -> anyhow::Result<()> {
        let mut tx = self.writer.begin().await?;
        for key in removes.iter().chain(puts.iter().map(|(k, _, _)| k)) {
            sqlx::query("DELETE FROM docs WHERE rowid = $1").bind(key).execute(&mut *tx).await?;
        }
        for (key, doc, place) in puts {
            sqlx::query("INSERT INTO docs (rowid, title, body, place) VALUES ($1, $2, $3, $4)")
                .bind(key)
                .bind(clean(&doc.title))
                .bind(clean(&doc.body))
                .bind(place)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes every document of the room (`places: false`) or of the gazetteer (`places: true`).
    async fn clear(&self, places: bool) -> anyhow::Result<()> {
        let place_kind = Subject::Place(0).key().expect("place 0 has a key");
        let op = if places { "=" } else { "<>" };
        sqlx::query(&format!("DELETE FROM docs WHERE rowid IN (SELECT rowid FROM docs WHERE (rowid & 7) {op} $1)"))
            .bind(place_kind)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Waits (up to [`CATCH_UP`]) until the index holds the places and, given `seq`, the room up
    /// to it.
    async fn caught_up(&self, seq: Option<Seq>) {
        let mut held = self.held.subscribe();
        let wait = async {
            loop {
                let h = *held.borrow_and_update();
                if seq.map_or(h.places, |seq| h.covers(seq)) {
                    return;
                }
                if held.changed().await.is_err() {
                    return;
                }
            }
        };
        if tokio::time::timeout(CATCH_UP, wait).await.is_err() {
            let held = *self.held.borrow();
            tracing::warn!(seq, ?held, "a search answered before the index caught up");
        }
    }

    /// Records that the room is indexed up to `seq` (never moving back).
    fn room_held(&self, seq: Seq) {
        self.held.send_if_modified(|h| {
            let was = h.room;
            h.room = Some(was.map_or(seq, |r| r.max(seq)));
            h.room != was
        });
    }

    /// Records that the base map's places were read once (queries stop waiting for them).
    fn places_read(&self) {
        self.held.send_if_modified(|h| !std::mem::replace(&mut h.places, true));
    }

    #[cfg(test)]
    fn room_seq(&self) -> Option<Seq> {
        self.held.borrow().room
    }

    /// The keys of the documents matching `expression`, best first: `count` of them after the
    /// first `skip`.
    async fn candidates(&self, expression: &str, count: i64, skip: i64) -> Result<Vec<i64>, SearchError> {
        self.ranked(expression, None, count, skip).await
    }

    /// The keys of the gazetteer's places matching `expression`, best first: at most `count`.
    async fn place_candidates(&self, expression: &str, count: i64) -> Result<Vec<i64>, SearchError> {
        self.ranked(expression, Some(Subject::Place(0).key().expect("place 0 has a key")), count, 0).await
    }

    /// `candidates`, of every kind or of the kind in the low bits of `kind`.
    async fn ranked(
        &self,
        expression: &str,
        kind: Option<i64>,
        count: i64,
        skip: i64,
    ) -> Result<Vec<i64>, SearchError> {
        let mut reader = self.reader().await?;
        // The title weighs most; among equals, the shorter title (the exact name), then the newest.
        let keys = sqlx::query_scalar(
            "SELECT rowid FROM docs WHERE docs MATCH $1 AND ($4 IS NULL OR (rowid & 7) = $4) \
             ORDER BY bm25(docs, 8.0, 1.0, 0.0), length(title), rowid DESC LIMIT $2 OFFSET $3",
        )
        .bind(expression)
        .bind(count)
        .bind(skip)
        .bind(kind)
        .fetch_all(&mut *reader)
        .await
        .context("searching the index")?;
        Ok(keys)
    }

    /// The snippet, and the place if it is one, of each of `keys` for `expression`.
    async fn snippets(
        &self,
        expression: &str,
        keys: &[i64],
    ) -> Result<HashMap<i64, (Vec<Fragment>, Option<String>)>, SearchError> {
        let mut reader = self.reader().await?;
        let keys = serde_json::to_string(keys).context("listing keys")?;
        let rows = sqlx::query(&format!(
            "SELECT rowid, snippet(docs, -1, char({}), char({}), '…', {SNIPPET_TOKENS}) AS snippet, place FROM docs \
             WHERE docs MATCH $1 AND rowid IN (SELECT value FROM json_each($2))",
            OPEN as u32, CLOSE as u32
        ))
        .bind(expression)
        .bind(keys)
        .fetch_all(&mut *reader)
        .await
        .context("reading snippets")?;
        rows.iter()
            .map(|r| Ok((r.try_get("rowid")?, (fragments(r.try_get("snippet")?), r.try_get("place")?))))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| SearchError::Failed(e.into()))
    }

    /// One of the [`READERS`] turns of a replay's search, waited for up to [`BUSY_AFTER`].
    async fn scan_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, SearchError> {
        match tokio::time::timeout(BUSY_AFTER, self.scans.acquire()).await {
            Ok(permit) => Ok(permit.context("the replay search's permits")?),
            Err(_) => Err(SearchError::Busy),
        }
    }

    async fn reader(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, SearchError> {
        self.readers.acquire().await.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => SearchError::Busy,
            e => SearchError::Failed(e.into()),
        })
    }
}

/// The text as indexed: without the snippet marks.
fn clean(text: &str) -> String {
    text.replace([OPEN, CLOSE], " ")
}

/// A snippet cut at its marks.
fn fragments(snippet: String) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut rest = snippet.as_str();
    while let Some(open) = rest.find(OPEN) {
        let (before, after) = rest.split_at(open);
        let after = &after[OPEN.len_utf8()..];
        let close = after.find(CLOSE).unwrap_or(after.len());
        if !before.is_empty() {
            out.push(Fragment { text: before.to_owned(), matched: false });
        }
        out.push(Fragment { text: after[..close].to_owned(), matched: true });
        rest = after.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    if !rest.is_empty() {
        out.push(Fragment { text: rest.to_owned(), matched: false });
    }
    out
}

/// The FTS5 query for `query`: every word, as a word or the start of one. The words hold only
/// letters and digits ([`SearchQuery::parse`]), so quoting them is enough to keep them words.
fn expression(query: &SearchQuery) -> String {
    query.terms().iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ")
}

/// The best `limit` hits of `query` that `viewer` may see.
pub async fn search(
    index: &Index,
    hub: &Hub,
    viewer: &Viewer,
    query: &SearchQuery,
    limit: usize,
    now_ms: i64,
) -> Result<SearchResults, SearchError> {
    index.caught_up(Some(hub.read(|s| s.seq))).await;
    let expression = expression(query);
    // Need-to-know, in rank order, page by page (a first small page is all the room's own
    // viewers need); an incident found by its label and by a note is one hit.
    let mut seen = HashSet::new();
    let mut chosen: Vec<(i64, Option<SearchHit>)> = Vec::new();
    let (mut offset, mut page) = (0, FIRST_PAGE);
    let more = loop {
        let keys = index.candidates(&expression, page, offset).await?;
        let read = keys.len() as i64;
        let full = hub.read(|s| {
            for key in keys {
                let Some(subject) = Subject::from_key(key) else { continue };
                let hit = match subject {
                    Subject::Place(_) => None,
                    subject => match search::hit(s, viewer, subject, now_ms, Vec::new()) {
                        Some(hit) => Some(hit),
                        None => continue,
                    },
                };
                if hit.as_ref().is_some_and(|h| !seen.insert(h.found.clone())) {
                    continue;
                }
                if chosen.len() == limit {
                    return true;
                }
                chosen.push((key, hit));
            }
            false
        });
        offset += read;
        if full || read < page {
            break full;
        }
        if offset >= MAX_CANDIDATES {
            break true;
        }
        page = (page * 4).min(MAX_CANDIDATES - offset);
    };
    let keys: Vec<i64> = chosen.iter().map(|(k, _)| *k).collect();
    let mut snippets = index.snippets(&expression, &keys).await?;
    let hits = chosen
        .drain(..)
        .filter_map(|(key, hit)| {
            let (snippet, place) = snippets.remove(&key)?;
            match hit {
                Some(hit) => Some(SearchHit { snippet, ..hit }),
                None => place_hit(place, snippet),
            }
        })
        .collect();
    Ok(SearchResults { hits, more })
}

/// The best `limit` hits of `query` in a replay's room as its followers see it: at its moment,
/// with its trainer's picture. No index holds a past room: this is one pass over it
/// ([`search::scan`]), off the async threads, at most [`READERS`] at once (others wait up to
/// [`BUSY_AFTER`], then are told busy), as queries of the index are. A session nobody follows
/// right now is held for the search's time, so its room stands at its clock (a seek made while
/// nobody followed included), waiting up to [`CATCH_UP`] for it.
pub async fn scan_replay(
    app: &AppState,
    session: Arc<Session>,
    query: SearchQuery,
    limit: usize,
) -> Result<SearchResults, SearchError> {
    let index = &app.search;
    let _permit = index.scan_permit().await?;
    let _held = session.hold(app);
    if !session.settled(CATCH_UP).await {
        tracing::warn!(session = %session.id, "a replay's search answered before its room reached its clock");
    }
    let viewer = session.info().viewer();
    let now_ms = session.moment_ms().ok_or(SearchError::NotLoaded)?;
    let prepared = index.prepared.clone();
    // The session's room is held only to copy its documents out (when it moved since the last
    // search) and to filter the best ones: its playback never waits for the matching.
    let places = self::places(index, &query, limit).await?;
    let scan = move || {
        let docs = prepared.documents(&session);
        let ranked = search::scan::rank(&docs, &query);
        session.read(|s| search::scan::answer(s, &viewer, &query, ranked, now_ms, limit))
    };
    let room = tokio::task::spawn_blocking(scan).await.context("scanning a replay's room")?;
    Ok(merge(room, places, limit))
}

/// The gazetteer's best `limit` places for `query` (the base map is the same in a replay), and
/// whether there are more.
async fn places(index: &Index, query: &SearchQuery, limit: usize) -> Result<SearchResults, SearchError> {
    index.caught_up(None).await;
    let expression = expression(query);
    let mut keys = index.place_candidates(&expression, limit as i64 + 1).await?;
    let more = keys.len() > limit;
    keys.truncate(limit);
    let mut snippets = index.snippets(&expression, &keys).await?;
    let hits = keys
        .iter()
        .filter_map(|key| {
            let (snippet, place) = snippets.remove(key)?;
            place_hit(place, snippet)
        })
        .collect();
    Ok(SearchResults { hits, more })
}

/// A place's hit, from what the gazetteer stored with it.
fn place_hit(place: Option<String>, snippet: Vec<Fragment>) -> Option<SearchHit> {
    serde_json::from_str::<Place>(place.as_deref()?).ok().map(|p| p.hit(snippet))
}

/// A replay's hits and the places, in one list of `limit`: what was found by its title (the name
/// itself) first, the room's before the places among equals.
fn merge(room: SearchResults, places: SearchResults, limit: usize) -> SearchResults {
    let (room_titled, room_rest): (Vec<_>, Vec<_>) = room.hits.into_iter().partition(SearchHit::found_by_title);
    let (places_titled, places_rest): (Vec<_>, Vec<_>) = places.hits.into_iter().partition(SearchHit::found_by_title);
    let mut hits: Vec<SearchHit> = [room_titled, places_titled, room_rest, places_rest].into_iter().flatten().collect();
    let more = room.more || places.more || hits.len() > limit;
    hits.truncate(limit);
    SearchResults { hits, more }
}

/// Replays' rooms prepared for their search ([`search::scan::prepare`]), kept while they stand
/// still: a paused replay (where a trainer searches) folds its room once, not at every key. At most
/// [`PREPARED_ROOMS`] rooms, the least recently searched dropped first.
#[derive(Default)]
pub struct PreparedRooms(parking_lot::Mutex<Vec<(String, Seq, PreparedRoom)>>);

/// One replay's room at a seq, prepared.
type PreparedRoom = Arc<Vec<search::scan::Prepared>>;

/// Replays' rooms kept prepared (a day's room of 17 000 documents is a few MiB).
pub const PREPARED_ROOMS: usize = 4;

impl PreparedRooms {
    /// `session`'s documents as it stands now, prepared.
    fn documents(&self, session: &Session) -> PreparedRoom {
        let seq = session.read(|s| s.seq);
        {
            let mut kept = self.0.lock();
            if let Some(at) = kept.iter().position(|(id, at, _)| *id == session.id && *at == seq) {
                let entry = kept.remove(at);
                let docs = entry.2.clone();
                kept.push(entry);
                return docs;
            }
        }
        let (seq, docs) = session.read(|s| (s.seq, search::documents(s)));
        let docs = Arc::new(search::scan::prepare(docs));
        let mut kept = self.0.lock();
        kept.retain(|(id, _, _)| *id != session.id);
        if kept.len() >= PREPARED_ROOMS {
            kept.remove(0);
        }
        kept.push((session.id.clone(), seq, docs.clone()));
        docs
    }
}

/// Keeps `index` up to date with the room until `shutdown`: built from the room, then each
/// committed batch's changes; rebuilt whole when it falls behind the feed or a write fails. The
/// gazetteer is read again when the layers change.
pub async fn follow(index: Arc<Index>, hub: Arc<Hub>, store: Store, mut shutdown: watch::Receiver<bool>) {
    let mut feed = hub.feed();
    let mut room = RoomIndex::default();
    let mut stale = true;
    let mut layers = None;
    let mut every = tokio::time::interval(LAYERS_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if stale {
            match room.rebuild(&index, &hub).await {
                Ok(()) => stale = false,
                Err(e) => tracing::error!(error = %format!("{e:#}"), "rebuilding the search index"),
            }
        }
        tokio::select! {
            _ = crate::listener::stopped(&mut shutdown) => return,
            batch = feed.recv() => match batch {
                Ok(batch) if !stale => {
                    if let Err(e) = room.apply(&index, &hub, &batch).await {
                        tracing::error!(error = %format!("{e:#}"), "updating the search index; rebuilding it");
                        stale = true;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the search index fell behind the room; rebuilding it");
                    stale = true;
                }
                Err(RecvError::Closed) => return,
            },
            _ = every.tick() => {
                if let Err(e) = gazetteer::refresh(&index, &store, &mut layers).await {
                    tracing::error!(error = %format!("{e:#}"), "reading the base map's places");
                }
                // Read or failed (and logged), queries stop waiting for the places.
                index.places_read();
            }
        }
    }
}

/// What the follower knows of what it indexed: how many notes of each incident.
#[derive(Default)]
struct RoomIndex {
    notes: HashMap<IncidentId, u32>,
}

impl RoomIndex {
    async fn rebuild(&mut self, index: &Index, hub: &Hub) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let (seq, docs) = hub.read(|s| (s.seq, search::documents(s)));
        self.notes.clear();
        for d in &docs {
            if let Subject::Note(id, n) = d.subject {
                let count = self.notes.entry(id).or_default();
                *count = (*count).max(n + 1);
            }
        }
        index.clear(false).await?;
        let puts: Vec<_> = docs.into_iter().filter_map(|d| Some((d.subject.key()?, d, None))).collect();
        for chunk in puts.chunks(CHUNK) {
            index.write(chunk, &[]).await?;
        }
        index.room_held(seq);
        tracing::info!(documents = puts.len(), seq, ms = started.elapsed().as_millis() as u64, "search index built");
        Ok(())
    }

    async fn apply(&mut self, index: &Index, hub: &Hub, batch: &[vigie_domain::LoggedEvent]) -> anyhow::Result<()> {
        let Some(last) = batch.last().map(|e| e.seq) else { return Ok(()) };
        if batch.iter().all(|e| e.event.is_positions()) {
            index.room_held(last);
            return Ok(());
        }
        let (puts, removes) = hub.read(|s| {
            let mut touches = BTreeSet::new();
            for e in batch {
                search::touched(s, &e.event, &mut touches);
            }
            let (mut puts, mut removes) = (Vec::new(), Vec::new());
            for touch in touches {
                match touch {
                    Touch::Document(subject) => match (subject.key(), search::document(s, subject)) {
                        (Some(key), Some(doc)) => puts.push((key, doc, None)),
                        (Some(key), None) => removes.push(key),
                        (None, _) => {}
                    },
                    Touch::Notes(id) => {
                        let held = s.incidents.get(&id).map_or(0, |i| i.notes.len() as u32);
                        let done = self.notes.entry(id).or_default();
                        for n in *done..held {
                            let subject = Subject::Note(id, n);
                            if let (Some(key), Some(doc)) = (subject.key(), search::document(s, subject)) {
                                puts.push((key, doc, None));
                            }
                        }
                        *done = held.max(*done);
                    }
                }
            }
            (puts, removes)
        });
        index.write(&puts, &removes).await?;
        index.room_held(last);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_domain::api::Found;
    use vigie_domain::{Event, LoggedEvent, State};

    fn logged(seq: Seq, event: serde_json::Value) -> LoggedEvent {
        LoggedEvent { seq, at_ms: seq as i64, actor: "test".into(), event: serde_json::from_value(event).unwrap() }
    }

    async fn keys(index: &Index, q: &str) -> Vec<Subject> {
        let q = SearchQuery::parse(q).unwrap();
        let keys = index.candidates(&expression(&q), 100, 0).await.unwrap();
        keys.into_iter().filter_map(Subject::from_key).collect()
    }

    #[tokio::test]
    async fn notes_added_while_the_indexer_was_behind_are_all_indexed_once() {
        let dir = tempfile::TempDir::new().unwrap();
        let index = Index::open_at(&dir.path().join("search.db")).await.unwrap();
        let hub = Hub::new(State::default(), 1 << 20);
        let incident = serde_json::json!({"type": "incident_created", "incident_id": 1, "kind": "fire", "priority": "P2",
            "location": {"lon": 2.35, "lat": 48.85}, "area": null, "address": "Quai de Bercy", "lead_agency": "BSPP"});
        hub.publish(&[logged(1, incident)]).unwrap();
        let mut room = RoomIndex::default();
        room.rebuild(&index, &hub).await.unwrap();
        assert_eq!(index.room_seq(), Some(1));
        // Three notes committed before the indexer reads the first batch: it reads the room after
        // all three, and each note is indexed once however the batches fall.
        let note =
            |seq, text: &str| logged(seq, serde_json::json!({"type": "note_added", "incident_id": 1, "text": text}));
        let (first, rest) = ([note(2, "fumées noires")], [note(3, "péniche évacuée"), note(4, "fumées dissipées")]);
        hub.publish(&first).unwrap();
        hub.publish(&rest).unwrap();
        room.apply(&index, &hub, &first).await.unwrap();
        room.apply(&index, &hub, &rest).await.unwrap();
        assert_eq!(index.room_seq(), Some(4));
        let i = IncidentId(1);
        assert_eq!(keys(&index, "fumees").await, [Subject::Note(i, 2), Subject::Note(i, 0)]);
        assert_eq!(keys(&index, "peniche").await, [Subject::Note(i, 1)]);
        assert_eq!(keys(&index, "bercy").await, [Subject::Incident(i)]);
        // A rebuild (after falling behind the feed) holds the same, once.
        room.rebuild(&index, &hub).await.unwrap();
        assert_eq!(keys(&index, "fumees").await.len(), 2);
        // Positions only move the seq.
        let fix = Event::PositionsReported { fixes: Vec::new() };
        room.apply(&index, &hub, &[LoggedEvent { seq: 5, at_ms: 5, actor: "avl".into(), event: fix }]).await.unwrap();
        assert_eq!(index.room_seq(), Some(5));
    }

    #[tokio::test]
    async fn a_query_waits_for_the_room_and_the_places_to_be_indexed() {
        let dir = tempfile::TempDir::new().unwrap();
        let index = Index::open_at(&dir.path().join("search.db")).await.unwrap();
        let wait = |seq| {
            let index = index.clone();
            tokio::spawn(async move { index.caught_up(seq).await })
        };
        let (waiting, for_places) = (wait(Some(0)), wait(None));
        // Even an empty room's query waits for its first build and the places' first reading.
        tokio::time::sleep(Duration::from_millis(100)).await;
        index.room_held(0);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "answered before the places were read");
        assert!(!for_places.is_finished(), "the places' search answered before they were read");
        let started = std::time::Instant::now();
        index.places_read();
        waiting.await.unwrap();
        for_places.await.unwrap();
        assert!(started.elapsed() < CATCH_UP);
        // Held, it answers at once; a later seq waits for the room alone.
        assert!(index.held.borrow().covers(0) && !index.held.borrow().covers(1));
        index.room_held(3);
        index.room_held(2);
        assert_eq!(index.room_seq(), Some(3), "never moves back");
    }

    #[tokio::test]
    async fn a_query_that_finds_no_free_turn_in_time_is_told_busy() {
        let dir = tempfile::TempDir::new().unwrap();
        let index = Index::open_at(&dir.path().join("search.db")).await.unwrap();
        let mut held = Vec::new();
        for _ in 0..READERS {
            held.push(index.reader().await.unwrap());
        }
        let started = std::time::Instant::now();
        let q = SearchQuery::parse("x").unwrap();
        assert!(matches!(index.candidates(&expression(&q), 10, 0).await, Err(SearchError::Busy)));
        assert!(started.elapsed() >= BUSY_AFTER);
        drop(held);
        assert!(index.candidates(&expression(&q), 10, 0).await.unwrap().is_empty());
        // Replays' searches have as many turns, as bounded.
        let turns: Vec<_> = futures_util::future::join_all((0..READERS).map(|_| index.scan_permit())).await;
        assert!(turns.iter().all(Result::is_ok));
        assert!(matches!(index.scan_permit().await, Err(SearchError::Busy)));
        drop(turns);
        assert!(index.scan_permit().await.is_ok());
    }

    #[test]
    fn a_replays_hits_and_places_merge_names_first() {
        let hit = |title: &str, snippet: &str, found: Found| SearchHit {
            found,
            title: title.into(),
            detail: String::new(),
            snippet: vec![Fragment { text: snippet.into(), matched: true }],
            bbox: None,
            at_ms: None,
        };
        let unit = |n| Found::Unit { unit_id: vigie_domain::UnitId(n) };
        let place = Found::Place { layer: "streets".into() };
        let room = SearchResults {
            hits: vec![hit("Quai de Bercy", "Quai de Bercy", unit(1)), hit("PS-11", "quai", unit(2))],
            more: false,
        };
        let places = SearchResults {
            hits: vec![hit("Quai de la Rapée", "Quai de la Rapée", place.clone()), hit("Seine", "quai", place)],
            more: false,
        };
        let titles = |r: &SearchResults| r.hits.iter().map(|h| h.title.clone()).collect::<Vec<_>>();
        let merged = merge(room.clone(), places.clone(), 10);
        assert_eq!(titles(&merged), ["Quai de Bercy", "Quai de la Rapée", "PS-11", "Seine"]);
        assert!(!merged.more);
        let cut = merge(room, places, 3);
        assert_eq!((titles(&cut).len(), cut.more), (3, true));
    }

    #[test]
    fn a_snippet_is_cut_at_its_marks() {
        let text = format!("…le {OPEN}négociateur{CLOSE} est sur {OPEN}place{CLOSE}");
        let f = fragments(text);
        let parts: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.matched)).collect();
        assert_eq!(parts, [("…le ", false), ("négociateur", true), (" est sur ", false), ("place", true)]);
        assert_eq!(fragments(format!("{OPEN}unclosed")).len(), 1);
        assert_eq!(clean(&format!("a{OPEN}b{CLOSE}")), "a b ");
    }

    #[test]
    fn a_query_becomes_prefix_words_only() {
        let q = SearchQuery::parse("prefecture \"OR\" NEAR(x*").unwrap();
        assert_eq!(expression(&q), r#""prefecture"* "OR"* "NEAR"* "x"*"#);
    }
}
