//! Events exactly as stored: the fields and bytes a leaf commits to, read in pages of seq. Never
//! decoded to be re-encoded: a hash is of what is on disk.

use anyhow::Context;
use base64::prelude::{Engine, BASE64_STANDARD};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqlitePool};
use tlog_tiles::tlog::Hash;

use crate::store::leaf;

/// Most rows in one page read.
pub const PAGE: i64 = 5_000;
/// Most bytes of bodies in one page read (at least one row): a page of large position batches
/// stays a few megabytes.
pub const PAGE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RawEvent {
    pub seq: u64,
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    /// The stored body, base64; absent when purged or left out of an export.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64")]
    pub body: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64")]
    pub salt: Option<Vec<u8>>,
    /// SHA-256(salt || body), given when the body is not (purged, or left out of an export).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "b64")]
    pub digest: Option<Vec<u8>>,
    /// The retention rule that purged the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<String>,
}

impl RawEvent {
    /// The content digest the leaf commits to: from the salt and body when both are here, else
    /// as given.
    pub fn digest(&self) -> anyhow::Result<[u8; 32]> {
        match (&self.salt, &self.body, &self.digest) {
            (Some(salt), Some(body), _) => Ok(leaf::content_digest(salt, body)),
            (_, _, Some(d)) => d.as_slice().try_into().context("a digest is 32 bytes"),
            _ => anyhow::bail!("event {} has neither its content nor its digest", self.seq),
        }
    }

    pub fn leaf(&self) -> anyhow::Result<Hash> {
        Ok(leaf::leaf_hash(self.seq, self.at_ms, &self.actor, &self.kind, &self.digest()?))
    }

    /// The same event with its body left out (its digest stands in for it).
    pub fn without_body(mut self) -> anyhow::Result<Self> {
        self.digest = Some(self.digest()?.to_vec());
        self.body = None;
        self.salt = None;
        Ok(self)
    }

    /// An event from a row that selects `seq, at_ms, actor, kind, body, salt, digest, purged`.
    pub fn from_row(row: &sqlx::sqlite::SqliteRow) -> Self {
        RawEvent {
            seq: row.get::<i64, _>("seq") as u64,
            at_ms: row.get("at_ms"),
            actor: row.get("actor"),
            kind: row.get("kind"),
            body: match row.get::<Option<String>, _>("purged") {
                Some(_) => None,
                None => Some(row.get("body")),
            },
            salt: row.get("salt"),
            digest: row.get("digest"),
            purged: row.get("purged"),
        }
    }
}

/// Events with `seq` in `(after, through]`, in order: at most [`PAGE`] rows and about
/// [`PAGE_BYTES`] of bodies; empty only when there is none.
pub async fn page(pool: &SqlitePool, after: u64, through: u64) -> anyhow::Result<Vec<RawEvent>> {
    let mut rows = sqlx::query(
        "SELECT seq, at_ms, actor, kind, body, salt, digest, purged FROM events \
         WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
    )
    .bind(after.min(i64::MAX as u64) as i64)
    .bind(through.min(i64::MAX as u64) as i64)
    .bind(PAGE)
    .fetch(pool);
    let (mut page, mut bytes) = (Vec::new(), 0);
    while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows).await? {
        let event = RawEvent::from_row(&row);
        bytes += event.body.as_ref().map_or(0, Vec::len);
        page.push(event);
        if bytes >= PAGE_BYTES {
            break;
        }
    }
    Ok(page)
}

/// One event as stored.
pub async fn one(pool: &SqlitePool, seq: u64) -> anyhow::Result<Option<RawEvent>> {
    Ok(page(pool, seq.saturating_sub(1), seq).await?.into_iter().next())
}

/// Base64 for optional byte fields.
mod b64 {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_str(&BASE64_STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| BASE64_STANDARD.decode(t).map_err(serde::de::Error::custom)).transpose()
    }
}
