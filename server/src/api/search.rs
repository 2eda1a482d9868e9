//! One search over everything the room knows (`crate::search`): one query, ranked hits of every
//! kind, only what the caller may see.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use vigie_domain::api::{ErrorCode, SearchResults};
use vigie_domain::authority::Scope;
use vigie_domain::search::{SearchQuery, DEFAULT_HITS, MAX_HITS};

use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::search::SearchError;
use crate::AppState;

pub fn routes() -> Routes {
    Routes::default().get("/api/v1/search", Rule::Roles(roles::READ_ROOM, Scope::RoomRead), search).get(
        "/api/v1/replays/{id}/search",
        Rule::Roles(roles::FOLLOW_REPLAYS, Scope::Replay),
        search_replay,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    q: String,
    limit: Option<u32>,
}

async fn search(
    State(app): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<SearchResults>, ApiError> {
    let (query, limit) = params.parse()?;
    let viewer = caller.principal.viewer();
    let now_ms = app.clock.now_ms();
    answer(crate::search::search(&app.search, &app.hub, &viewer, &query, limit, now_ms).await)
}

/// The same search in a replay's room at its moment, as its followers see it.
async fn search_replay(
    State(app): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<SearchResults>, ApiError> {
    let (query, limit) = params.parse()?;
    let session = crate::api::replay::session(&app, &id)?;
    answer(crate::search::scan_replay(&app, session, query, limit).await)
}

impl Params {
    fn parse(&self) -> Result<(SearchQuery, usize), ApiError> {
        let query = SearchQuery::parse(&self.q).map_err(|r| ApiError::bad_request("q", r.message))?;
        let limit = match self.limit {
            None => DEFAULT_HITS,
            Some(n) if (1..=MAX_HITS as u32).contains(&n) => n as usize,
            Some(_) => return Err(ApiError::bad_request("limit", format!("limit is 1 to {MAX_HITS}"))),
        };
        Ok((query, limit))
    }
}

fn answer(result: Result<SearchResults, SearchError>) -> Result<Json<SearchResults>, ApiError> {
    match result {
        Ok(results) => Ok(Json(results)),
        Err(SearchError::Busy) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, SearchError::Busy.to_string())
                .retry_after(1))
        }
        Err(e @ SearchError::NotLoaded) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Busy, e.to_string()).retry_after(1))
        }
        Err(SearchError::Failed(e)) => Err(ApiError::internal("searching", format!("{e:#}"))),
    }
}
