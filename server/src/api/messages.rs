//! Inter-agency messaging: channels, messages and acknowledgements.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use vigie_domain::api::{Acknowledge, CreateChannel, PostMessage};
use vigie_domain::{Channel, ChannelId, Command, Event, MessageId};

use super::{agency_code as agency, created, submit, Committed};
use crate::http::error::ApiError;
use crate::http::extract::{Actor, ApiJson, ApiPath};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/channels", post(create_channel))
        .route("/api/v1/messages", post(post_message))
        .route("/api/v1/messages/{message_id}/acks", post(acknowledge))
}

async fn create_channel(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<CreateChannel>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let channel_id = ChannelId::inter_agency(&body.slug)?;
    let members = body
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| agency(m, &format!("members[{i}]")))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let channel = Channel { channel_id: channel_id.clone(), name: body.name, members: Some(members) };
    let committed = submit(&state, &actor, Command::CreateChannel { channel }).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "channel_id": channel_id, "seq": committed.seq, "events": committed.events })),
    ))
}

async fn post_message(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let command = Command::PostMessage {
        channel_id: ChannelId::parse(&body.channel_id).map_err(|r| r.within("channel_id"))?,
        sender_agency: agency(&body.sender_agency, "sender_agency")?,
        priority: body.priority,
        body: body.body,
        ack_required: body.ack_required,
    };
    let committed = submit(&state, &actor, command).await?;
    created(committed, "posting a message", "message_id", |e| match e {
        Event::MessagePosted { message_id, .. } => Some(message_id.0),
        _ => None,
    })
}

async fn acknowledge(
    State(state): State<AppState>,
    Actor(actor): Actor,
    ApiPath(message_id): ApiPath<u64>,
    ApiJson(body): ApiJson<Acknowledge>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let command =
        Command::AcknowledgeMessage { message_id: MessageId(message_id), agency: agency(&body.agency, "agency")? };
    Ok((StatusCode::CREATED, Json(submit(&state, &actor, command).await?)))
}
