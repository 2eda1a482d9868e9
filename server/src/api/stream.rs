//! `GET /api/v1/stream?since=N`: the live room's log as a WebSocket stream, served by the stream
//! engine ([`crate::stream`]) from the hub's projection, caught up from the store.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vigie_domain::authority::Scope;
use vigie_domain::{LoggedEvent, Seq};

use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::upgrade::accept;
use crate::hub::Recent;
use crate::stream::{serve, Projection, Source, Stops};
use crate::AppState;

/// Events per store read while catching a client up (the store also bounds a page by weight).
const CATCH_UP_PAGE: u64 = 1_000;

pub fn routes() -> Routes {
    Routes::default().get("/api/v1/stream", Rule::Roles(roles::READ_ROOM, Scope::RoomRead), upgrade)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    since: Option<Seq>,
}

/// The caller's audience ([`vigie_domain::authority::Principal::viewer`]) decides what it receives;
/// the stream closes when the caller's session or token ends.
async fn upgrade(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<StreamQuery>,
    request: Request,
) -> Response {
    let since = query.since;
    if since.is_some_and(|n| n > i64::MAX as u64) {
        return ApiError::bad_request("since", format!("since is at most {}", i64::MAX)).into_response();
    }
    let held = state.access.hold(caller.credential.clone(), &caller.principal.user);
    let audience = caller.principal.viewer();
    accept(&state, request, move |state, socket| async move {
        let timing = state.stream_timing();
        let stops = Stops { shutdown: state.shutdown.clone(), access: held.ended.clone() };
        serve(&Live(state), audience, socket, since, timing, stops).await;
        drop(held);
    })
}

/// The live room: the hub's projection, caught up from the store.
struct Live(AppState);

impl Source for Live {
    type Extra = Recent;

    fn projection(&self) -> &Projection<Recent> {
        self.0.hub.projection()
    }

    fn catch_up_limit(&self) -> u64 {
        self.0.config.max_catch_up_events
    }

    async fn read_after(&self, after: Seq, up_to: Seq) -> anyhow::Result<Vec<LoggedEvent>> {
        let limit = (up_to - after).min(CATCH_UP_PAGE) as i64;
        Ok(self.0.store.events_after(after, limit).await?.events)
    }
}
