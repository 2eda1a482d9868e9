//! The record for oversight over HTTP, for auditors (role `auditor`, a token's `audit` scope) and
//! witnesses (an auditor's token): checkpoints with consistency proofs, co-signatures, the record
//! filtered, one entry with its inclusion proof, exports, verification. Every read of the record
//! is itself recorded. The log's public key is public: it is what overseers check against.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::prelude::{Engine, BASE64_STANDARD};
use serde::Deserialize;
use vigie_domain::api::{AuditEntry, AuditPage, AuditProof, ErrorCode, StoredEvent, VerificationStatus};
use vigie_domain::authority::Scope;
use vigie_domain::record::Record;
use vigie_domain::{AgencyCode, Event};

use super::record_as;
use crate::audit::checkpoint::{self, encode_hash};
use crate::audit::export::{self, Range};
use crate::audit::raw::{self, RawEvent};
use crate::audit::verify;
use crate::audit::witness::{check_cosignature, CheckpointAnswer, Cosignature};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::store::codec;
use crate::store::tree;
use crate::AppState;

/// Most entries in one page of the record.
pub const MAX_PAGE: u32 = 200;
/// Most bytes of events in an export made over HTTP (the CLI has no bound): past it, 413.
pub const MAX_EXPORT_BYTES: usize = 64 * 1024 * 1024;

pub fn routes() -> Routes {
    let audit = Rule::Roles(roles::AUDIT, Scope::Audit);
    Routes::default()
        .get("/api/v1/audit/key", Rule::Public, public_key)
        .get("/api/v1/audit/checkpoint", audit, latest_checkpoint)
        .post("/api/v1/audit/cosignatures", audit, cosign)
        .get("/api/v1/audit/records", audit, records)
        .get("/api/v1/audit/records/{seq}", audit, one_record)
        .get("/api/v1/audit/export", audit, export_range)
        .get("/api/v1/audit/verification", audit, verification)
        .post("/api/v1/audit/verification", audit, verify_now)
}

fn internal(doing: &'static str) -> impl Fn(anyhow::Error) -> ApiError {
    move |e| ApiError::internal(doing, e)
}

async fn public_key(State(app): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", app.audit.key.public))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct From {
    #[serde(default)]
    from: u64,
}

/// The latest signed checkpoint, with a consistency proof from the size `from` a witness last saw.
async fn latest_checkpoint(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<From>,
) -> Result<Json<CheckpointAnswer>, ApiError> {
    let Some(c) = checkpoint::latest(&app.store.pool).await.map_err(internal("reading checkpoints"))? else {
        return Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::NotReady, "the log has no checkpoint yet"));
    };
    let consistency = if q.from == 0 || q.from >= c.size {
        Vec::new()
    } else {
        tree::consistency(&app.store.pool, c.size, q.from).await.map_err(internal("proving consistency"))?
    };
    Ok(Json(CheckpointAnswer {
        checkpoint: c.note,
        size: c.size,
        consistency: consistency.iter().map(encode_hash).collect(),
    }))
}

/// Keeps a witness's co-signature of a checkpoint this room signed.
async fn cosign(State(app): State<AppState>, ApiJson(body): ApiJson<Cosignature>) -> Result<StatusCode, ApiError> {
    let invalid = |field: &str, why: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, why).field(field.to_owned())
    };
    let c = checkpoint::open(&body.checkpoint, &app.audit.key.public)
        .map_err(|e| invalid("checkpoint", format!("{e:#}")))?;
    let stored = checkpoint::at_size(&app.store.pool, c.size).await.map_err(internal("reading checkpoints"))?;
    if stored.is_none_or(|s| s.note != c.note) {
        return Err(invalid("checkpoint", format!("this room signed no such checkpoint of size {}", c.size)));
    }
    if body.signature.len() > 512 || body.key.len() > 512 {
        return Err(invalid("signature", "a signature line and a key are short".into()));
    }
    check_cosignature(&c.note, &body.signature, &body.key).map_err(|e| invalid("signature", format!("{e:#}")))?;
    let witness = crate::audit::key::verifier(&body.key).map_err(|e| invalid("key", format!("{e:#}")))?;
    let name = signed_note::Verifier::name(&witness).to_owned();
    sqlx::query(
        "INSERT INTO audit_cosignatures (size, witness, key, signature, at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (size, witness) DO NOTHING",
    )
    .bind(c.size as i64)
    .bind(&name)
    .bind(body.key.trim())
    .bind(body.signature.trim_end())
    .bind(app.clock.now_ms())
    .execute(&app.store.writer)
    .await
    .map_err(|e| internal("storing a co-signature")(e.into()))?;
    tracing::info!(witness = %name, size = c.size, "checkpoint co-signed");
    Ok(StatusCode::CREATED)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// A login: what it did, and what was done to its account.
    user: Option<String>,
    /// An agency code: what its people did, and what names it.
    agency: Option<String>,
    /// An incident number: what names it.
    incident: Option<u32>,
    /// An event kind (`incident_shared`), `audit` for every access and administration entry, or
    /// `positions_reported` (left out otherwise).
    kind: Option<String>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    before_seq: Option<u64>,
    limit: Option<u32>,
}

impl Filter {
    fn check(&self) -> Result<(), ApiError> {
        let bad = |field: &str, why: &str| ApiError::bad_request(field, why);
        if self.user.as_ref().is_some_and(|u| u.is_empty() || u.len() > 64) {
            return Err(bad("user", "a login is 1 to 64 characters"));
        }
        if let Some(a) = &self.agency {
            AgencyCode::parse(a).map_err(|r| r.within("agency"))?;
        }
        if self
            .kind
            .as_ref()
            .is_some_and(|k| k.len() > 64 || !k.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'))
        {
            return Err(bad("kind", "a kind is lower-case letters, '_' and '.'"));
        }
        for (field, ms) in [("from_ms", self.from_ms), ("to_ms", self.to_ms)] {
            if let Some(ms) = ms {
                vigie_domain::time::check_ms(field, ms)?;
            }
        }
        if self.limit.is_some_and(|l| l == 0 || l > MAX_PAGE) {
            return Err(bad("limit", "a page holds 1 to 200 entries"));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut parts = vec!["list".to_owned()];
        let mut add = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        };
        add("user", self.user.clone());
        add("agency", self.agency.clone());
        add("incident", self.incident.map(|i| i.to_string()));
        add("kind", self.kind.clone());
        add("from", self.from_ms.map(vigie_domain::time::utc));
        add("to", self.to_ms.map(vigie_domain::time::utc));
        parts.join(" ")
    }
}

fn entry(e: &RawEvent) -> AuditEntry {
    let event = e.body.as_ref().and_then(|b| codec::decode(&e.kind, b, e.at_ms).ok());
    // A purged position batch decodes to no fixes: say nothing rather than "0 positions".
    let event = event.filter(|ev| !(e.purged.is_some() && matches!(ev, Event::PositionsReported { .. })));
    AuditEntry {
        seq: e.seq,
        at_ms: e.at_ms,
        actor: e.actor.clone(),
        kind: e.kind.clone(),
        event,
        purged: e.purged.clone(),
    }
}

/// The record, newest first, filtered.
async fn records(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(f): ApiQuery<Filter>,
) -> Result<Json<AuditPage>, ApiError> {
    f.check()?;
    record_as(&app, &caller, Record::AuditViewed { what: f.describe() }).await?;
    let limit = f.limit.unwrap_or(100);
    // Bodies are JSON but for position batches (binary): JSON is only read where it is JSON.
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor, kind, body, salt, digest, purged FROM events \
         WHERE seq < $1 AND at_ms >= $2 AND at_ms < $3 \
         AND ($4 IS NULL OR actor = $4 OR substr(actor, 1, length($4) + 1) = $4 || '@' \
              OR CASE WHEN kind LIKE 'audit.%' \
                 THEN json_extract(CAST(body AS TEXT), '$.record.login') = $4 ELSE 0 END) \
         AND ($5 IS NULL OR instr(actor, '@' || $5 || '/') > 0 \
              OR (kind <> 'positions_reported' AND instr(CAST(body AS TEXT), '\"' || $5 || '\"') > 0)) \
         AND ($6 IS NULL OR CASE WHEN kind = 'positions_reported' THEN 0 \
              ELSE coalesce(json_extract(CAST(body AS TEXT), '$.incident_id'), \
                            json_extract(CAST(body AS TEXT), '$.record.incident_id')) = $6 END) \
         AND (($7 IS NULL AND kind <> 'positions_reported') OR kind = $7 OR ($7 = 'audit' AND kind LIKE 'audit.%')) \
         ORDER BY seq DESC LIMIT $8",
    )
    .bind(f.before_seq.map_or(i64::MAX, |s| s.min(i64::MAX as u64) as i64))
    .bind(f.from_ms.unwrap_or(i64::MIN))
    .bind(f.to_ms.unwrap_or(i64::MAX))
    .bind(&f.user)
    .bind(&f.agency)
    .bind(f.incident.map(i64::from))
    .bind(&f.kind)
    .bind(i64::from(limit) + 1)
    .fetch_all(&app.store.pool)
    .await
    .map_err(|e| internal("reading the record")(e.into()))?;
    let mut entries: Vec<AuditEntry> = rows.iter().map(|row| entry(&RawEvent::from_row(row))).collect();
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next_before_seq = if more { entries.last().map(|e| e.seq) } else { None };
    Ok(Json(AuditPage { entries, next_before_seq }))
}

fn b64(bytes: &Option<Vec<u8>>) -> Option<String> {
    bytes.as_ref().map(|b| BASE64_STANDARD.encode(b))
}

/// One entry as stored, its leaf and its inclusion proof in the latest checkpoint.
async fn one_record(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiPath(seq): ApiPath<u64>,
) -> Result<Json<AuditProof>, ApiError> {
    let Some(e) = raw::one(&app.store.pool, seq).await.map_err(internal("reading the record"))? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, format!("no event {seq}")));
    };
    let Some(c) =
        checkpoint::latest(&app.store.pool).await.map_err(internal("reading checkpoints"))?.filter(|c| c.size >= seq)
    else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotReady,
            format!("event {seq} is not under a signed checkpoint yet; one is signed every second"),
        )
        .retry_after(1));
    };
    record_as(&app, &caller, Record::AuditViewed { what: format!("event {seq}") }).await?;
    let leaf = e.leaf().map_err(internal("hashing an event"))?;
    let proof = tree::inclusion(&app.store.pool, c.size, seq - 1).await.map_err(internal("proving inclusion"))?;
    let stored = StoredEvent {
        seq: e.seq,
        at_ms: e.at_ms,
        actor: e.actor.clone(),
        kind: e.kind.clone(),
        body: b64(&e.body),
        salt: b64(&e.salt),
        digest: b64(&e.digest),
        purged: e.purged.clone(),
    };
    Ok(Json(AuditProof {
        entry: entry(&e),
        stored,
        leaf: encode_hash(&leaf),
        checkpoint: c.note,
        tree_size: c.size,
        proof: proof.iter().map(encode_hash).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    from_ms: i64,
    to_ms: i64,
    #[serde(default)]
    positions: bool,
}

/// An export of a time range (the file `vigie audit verify --file` checks), as a download.
async fn export_range(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    vigie_domain::time::check_ms("from_ms", q.from_ms)?;
    vigie_domain::time::check_ms("to_ms", q.to_ms)?;
    if q.to_ms <= q.from_ms {
        return Err(ApiError::bad_request("to_ms", "the range ends after it starts"));
    }
    let Ok(_turn) = app.exporting.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ExportsRunning,
            "exports are running; retry",
        )
        .retry_after(10));
    };
    let range =
        Range { from_ms: q.from_ms, to_ms: q.to_ms, with_positions: q.positions, max_bytes: Some(MAX_EXPORT_BYTES) };
    let file = export::build(&app.store.pool, &app.audit.key.public, &range).await.map_err(|e| {
        let text = format!("{e:#}");
        if text.contains("export a shorter one") {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooLarge, text)
        } else if text.contains("no event") || text.contains("no checkpoint") {
            ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, text)
        } else {
            ApiError::internal("exporting the record", e)
        }
    })?;
    let entry = Record::AuditExported { from_ms: q.from_ms, to_ms: q.to_ms, events: file.events.len() as u64 };
    record_as(&app, &caller, entry).await?;
    let mut bytes = Vec::new();
    export::write(&file, &mut bytes).map_err(internal("writing the export"))?;
    let name = format!("vigie-record-{}-{}.json", q.from_ms, q.to_ms);
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response())
}

/// The last verification of the live log, and whether one is running.
async fn verification(State(app): State<AppState>) -> Result<Json<VerificationStatus>, ApiError> {
    let running = app.audit.is_verifying();
    let last = verify::last(&app.store.pool).await.map_err(internal("reading verifications"))?;
    Ok(Json(VerificationStatus { running, last }))
}

/// Starts a verification of the live log (202); its result shows in `GET …/verification`.
async fn verify_now(State(app): State<AppState>, Auth(caller): Auth) -> Result<StatusCode, ApiError> {
    let Some(turn) = app.audit.verifying_turn() else {
        return Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, "a verification is running"));
    };
    record_as(&app, &caller, Record::AuditViewed { what: "verification".into() }).await?;
    tokio::spawn(async move {
        verify::run_and_store(&app.store, &app.audit.key.public, app.clock.now_ms()).await;
        drop(turn);
    });
    Ok(StatusCode::ACCEPTED)
}
