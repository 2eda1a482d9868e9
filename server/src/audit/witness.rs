//! Witnessing: another party — the partner room, an inspector's machine — follows the room's
//! checkpoints, checks each new one against the last it saw (signed by the room's published key,
//! never smaller, and consistent: the old tree is a prefix of the new), and co-signs it with its
//! own key. It refuses a fork (history rewritten after it was witnessed) or a rollback (the log
//! made shorter) loudly and stops: its signature is then the evidence.
//!
//! A co-signature is an ordinary C2SP signed-note signature line by the witness's Ed25519 key over
//! the checkpoint's text; the room keeps it (`POST /api/v1/audit/cosignatures`) and adds it to the
//! checkpoint in exports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use signed_note::{Note, Signature, VerifierList};
use tlog_tiles::tlog;

use super::checkpoint::{self, decode_hash, encode_hash};
use super::export::WitnessKey;
use super::key::{verifier, LogKey};

/// The room's answer to `GET /api/v1/audit/checkpoint?from=N`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointAnswer {
    /// The latest signed checkpoint (signed note).
    pub checkpoint: String,
    pub size: u64,
    /// Base64 hashes proving the tree of `from` events is a prefix of this one (empty when `from`
    /// is 0 or the same size).
    pub consistency: Vec<String>,
}

/// What the witness sends back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cosignature {
    /// The checkpoint as served (without the co-signature).
    pub checkpoint: String,
    /// The witness's signature line (`— name base64`).
    pub signature: String,
    /// The witness's public key.
    pub key: String,
}

/// What the witness remembers: the last checkpoint it co-signed.
#[derive(Debug, Serialize, Deserialize)]
struct Seen {
    size: u64,
    root: String,
    checkpoint: String,
}

/// Checks that `line` is `public`'s valid signature of checkpoint `note`'s text.
pub fn check_cosignature(note: &str, line: &str, public: &str) -> anyhow::Result<()> {
    let text = Note::from_bytes(note.as_bytes()).map_err(|e| anyhow::anyhow!("not a signed note: {e}"))?;
    let sig = Signature::from_bytes(line.trim_end().as_bytes()).map_err(|e| anyhow::anyhow!("not a signature: {e}"))?;
    let cosigned = Note::new(text.text(), &[sig]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let v = verifier(public)?;
    cosigned.verify(&VerifierList::new(vec![Box::new(v)])).map_err(|e| anyhow::anyhow!("does not verify: {e}"))?;
    Ok(())
}

/// The witnesses among `known` whose co-signature on `note` verifies.
pub fn cosigners(note: &str, known: &[WitnessKey]) -> Vec<String> {
    let Ok(parsed) = Note::from_bytes(note.as_bytes()) else { return Vec::new() };
    known
        .iter()
        .filter(|w| verifier(&w.key).is_ok_and(|v| parsed.verify(&VerifierList::new(vec![Box::new(v)])).is_ok()))
        .map(|w| w.name.clone())
        .collect()
}

pub struct Witness {
    pub url: String,
    /// The room's published public key.
    pub room_key: String,
    pub key: LogKey,
    pub state: PathBuf,
    pub token: Option<String>,
    client: reqwest::Client,
}

/// What one round did.
#[derive(Debug, PartialEq, Eq)]
pub enum Round {
    /// Co-signed the checkpoint of this size.
    Cosigned(u64),
    /// Nothing new since the last co-signed checkpoint.
    Unchanged(u64),
}

impl Witness {
    pub fn new(url: &str, room_key: &str, key: LogKey, state: &Path, token: Option<String>) -> anyhow::Result<Self> {
        verifier(room_key)?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
        Ok(Witness {
            url: url.trim_end_matches('/').to_owned(),
            room_key: room_key.trim().to_owned(),
            key,
            state: state.to_owned(),
            token,
            client,
        })
    }

    fn seen(&self) -> anyhow::Result<Option<Seen>> {
        match std::fs::read(&self.state) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).context("reading the witness's state")?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("reading the witness's state"),
        }
    }

    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// Fetches the latest checkpoint, checks it against the last one seen and co-signs it. An
    /// error that starts with `FORK` or `ROLLBACK` means the room's history changed.
    pub async fn round(&self) -> anyhow::Result<Round> {
        let seen = self.seen()?;
        let from = seen.as_ref().map_or(0, |s| s.size);
        let url = format!("{}/api/v1/audit/checkpoint?from={from}", self.url);
        let answer = self.request(self.client.get(&url)).send().await.with_context(|| format!("fetching {url}"))?;
        if !answer.status().is_success() {
            bail!("{url} answered {}: {}", answer.status(), answer.text().await.unwrap_or_default());
        }
        let answer: CheckpointAnswer = answer.json().await.context("reading the checkpoint")?;
        let c = checkpoint::open(&answer.checkpoint, &self.room_key)?;
        if let Some(seen) = &seen {
            let old_root = decode_hash(&seen.root)?;
            if c.size < seen.size {
                bail!(
                    "ROLLBACK: the room now signs a log of {} events, after {} events were witnessed; \
                     the last witnessed checkpoint:\n{}",
                    c.size,
                    seen.size,
                    seen.checkpoint
                );
            }
            if c.size == seen.size {
                if c.root != old_root {
                    bail!(
                        "FORK: the room signed two different logs of {} events:\n{}\n{}",
                        c.size,
                        seen.checkpoint,
                        c.note
                    );
                }
                return Ok(Round::Unchanged(c.size));
            }
            let proof: Vec<_> = answer.consistency.iter().map(|h| decode_hash(h)).collect::<Result<_, _>>()?;
            if tlog::check_tree(&proof, c.size, c.root, seen.size, old_root).is_err() {
                bail!(
                    "FORK: the log of {} events does not extend the {} events witnessed: history was rewritten.\n\
                     witnessed:\n{}\nnow:\n{}",
                    c.size,
                    seen.size,
                    seen.checkpoint,
                    c.note
                );
            }
        }
        let mut note = Note::from_bytes(c.note.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
        note.add_sigs(&[&self.key.signer])?;
        let signed = String::from_utf8(note.to_bytes())?;
        let line = signed.trim_end().lines().last().context("a signed note ends with a signature")?.to_owned();
        let body = Cosignature { checkpoint: c.note.clone(), signature: line, key: self.key.public.clone() };
        let url = format!("{}/api/v1/audit/cosignatures", self.url);
        let answer = self.request(self.client.post(&url)).json(&body).send().await?;
        if !answer.status().is_success() {
            bail!("{url} refused the co-signature: {} {}", answer.status(), answer.text().await.unwrap_or_default());
        }
        let seen = Seen { size: c.size, root: encode_hash(&c.root), checkpoint: c.note };
        let tmp = self.state.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&seen)?)?;
        std::fs::rename(&tmp, &self.state)?;
        Ok(Round::Cosigned(seen.size))
    }
}
