//! The one error type of the HTTP boundary. Every failure becomes a precise status and a JSON body
//! `{"error": {"code", "field", "message"}}`; internal details are logged once here and never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vigie_domain::api::{ErrorBody, ErrorCode, ErrorDetail};
use vigie_domain::{Refusal, RefusalKind};

use crate::sequencer::CommandError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub field: Option<String>,
    pub message: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`), for 503s and 429s.
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
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
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message).field(field)
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, format!("{context}; see the server log"))
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        let (status, code) = match r.kind {
            RefusalKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid),
            RefusalKind::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            RefusalKind::Conflict => (StatusCode::CONFLICT, ErrorCode::Conflict),
            RefusalKind::Limit => (StatusCode::CONFLICT, ErrorCode::LimitReached),
        };
        Self { status, code, field: r.field.filter(|f| !f.is_empty()), message: r.message, retry_after_s: None }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Refused(r) => r.into(),
            CommandError::Denied(d) => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, d.message).field(d.right.name())
            }
            CommandError::Unavailable(why) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, why).retry_after(1)
            }
            CommandError::Busy => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, "the room is busy; retry in a moment")
                    .retry_after(1)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, field: self.field, message: self.message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}
