//! Why a command or an input was refused: a kind (which maps to an HTTP status at the edge), the
//! field at fault where there is one, and a sentence for the person who sent it.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The input is well-formed but a value is out of range or inconsistent.
    Invalid,
    /// A referenced id does not exist.
    NotFound,
    /// The command is not legal in the room's current state (e.g. an illegal transition).
    Conflict,
    /// The room (or the requester) already holds as many of these as it may.
    Limit,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub kind: RefusalKind,
    /// Dotted path of the offending field in the request, e.g. `reports[3].lat`.
    pub field: Option<String>,
    pub message: String,
}

impl Refusal {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Invalid, field: Some(field.into()), message: message.into() }
    }

    pub fn not_found(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::NotFound, field: Some(field.into()), message: message.into() }
    }

    pub fn limit(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Limit, field: Some(field.into()), message: message.into() }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Conflict, field: Some(field.into()), message: message.into() }
    }

    /// Prefixes the field path, so a refusal raised for `lat` inside report 3 reads `reports[3].lat`.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field.take() {
            Some(f) if f.is_empty() => prefix.to_owned(),
            Some(f) if f.starts_with('[') => format!("{prefix}{f}"),
            Some(f) => format!("{prefix}.{f}"),
            None => prefix.to_owned(),
        });
        self
    }
}
