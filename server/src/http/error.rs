//! The one error type of the HTTP boundary. Every failure becomes a precise status and a JSON body
//! `{"error": {"code", "field", "message"}}`; internal details are logged once here and never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vigie_domain::{Refusal, RefusalKind};

use crate::sequencer::CommandError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`), for 503s and 429s.
    pub retry_after_s: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, field: None, message: message.into(), retry_after_s: None }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into()).filter(|f| !f.is_empty());
        self
    }

    /// Says when to try again.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after_s = Some(seconds);
        self
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message).field(field)
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("{context}; see the server log"))
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let (status, code) = match r.kind {
            RefusalKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            RefusalKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            RefusalKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            RefusalKind::Limit => (StatusCode::CONFLICT, "limit_reached"),
        };
        Self { status, code, field: r.field.filter(|f| !f.is_empty()), message: r.message, retry_after_s: None }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Refused(r) => r.into(),
            CommandError::Unavailable(why) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why).retry_after(1)
            }
            CommandError::Busy => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the room is busy; retry in a moment").retry_after(1)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: Detail { code: self.code, field: self.field.as_deref(), message: &self.message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}
