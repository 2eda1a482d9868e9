//! Sending commands from the browser: the same public HTTP API every other client uses, as the
//! operator named in the room's identity. Answers are not applied here: the committed events come
//! back on the stream and are folded by the reducer like everyone else's.

use leptos::prelude::*;
use serde_json::Value;

/// Who is at this screen: attributes every command, and the agency sends messages and acks.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    pub user: String,
    pub agency: String,
}

/// The last command's outcome, shown in the status line (errors stay until the next command).
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Idle,
    Pending,
    Done(String),
    Failed(String),
}

/// Sends `body` with `method` to `path` and reports the outcome in `outcome`. Returns at once.
pub fn send(
    method: &'static str,
    path: String,
    body: Option<Value>,
    what: String,
    operator: Operator,
    outcome: RwSignal<Outcome>,
) {
    outcome.set(Outcome::Pending);
    #[cfg(feature = "hydrate")]
    wasm_bindgen_futures::spawn_local(async move {
        outcome.set(match call(method, &path, body, &[("X-Vigie-User", &operator.user)]).await {
            Ok(_) => Outcome::Done(what),
            Err(message) => Outcome::Failed(format!("{what}: {message}")),
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (method, path, body, what, operator);
}

/// Calls the API with `headers`; the answer's JSON, or the API's error message.
#[cfg(feature = "hydrate")]
pub async fn call(method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Result<Value, String> {
    use gloo_net::http::{Method, RequestBuilder};
    let method = match method {
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => Method::GET,
    };
    let builder = headers.iter().fold(RequestBuilder::new(path).method(method), |b, (k, v)| b.header(k, v));
    let request = match body {
        Some(body) => builder.json(&body).map_err(|e| e.to_string())?,
        None => builder.build().map_err(|e| e.to_string())?,
    };
    let response = request.send().await.map_err(|_| "the server cannot be reached; try again".to_string())?;
    if response.ok() {
        return Ok(response.json().await.unwrap_or(Value::Null));
    }
    let status = response.status();
    Err(refusal(status, &response.json().await.unwrap_or(Value::Null)))
}

/// What to tell the operator about a refused call: the API's message, from its one error shape
/// `{"error": {"code", "field", "message"}}`, or the status.
#[cfg(feature = "hydrate")]
pub fn refusal(status: u16, detail: &Value) -> String {
    detail["error"]["message"].as_str().map_or_else(|| format!("refused ({status})"), str::to_string)
}
