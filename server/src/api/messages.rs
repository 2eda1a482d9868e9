//! Inter-agency messaging: channels, messages and acknowledgements.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use vigie_domain::api::{Acknowledge, CreateChannel, PostMessage};
use vigie_domain::authority::Scope;
use vigie_domain::{Channel, ChannelId, Command, Event, MessageId};

use super::{agency_code as agency, created, or_own, submit, Committed};
use crate::http::access::{roles, Auth, Routes, Rule};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiPath};
use crate::AppState;

pub fn routes() -> Routes {
    let message = Rule::Roles(roles::MESSAGE, Scope::MessagesWrite);
    Routes::default()
        .post("/api/v1/channels", Rule::Roles(roles::ADMIN, Scope::Admin), create_channel)
        .post("/api/v1/messages", message, post_message)
        .post("/api/v1/messages/{message_id}/acks", message, acknowledge)
}

async fn create_channel(
    State(state): State<AppState>,
    Auth(caller): Auth,
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
    let committed = submit(&state, &caller, Command::CreateChannel { channel }).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "channel_id": channel_id, "seq": committed.seq, "events": committed.events })),
    ))
}

async fn post_message(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(body): ApiJson<PostMessage>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let command = Command::PostMessage {
        channel_id: ChannelId::parse(&body.channel_id).map_err(|r| r.within("channel_id"))?,
        sender_agency: or_own(body.sender_agency.as_deref(), &caller, "sender_agency")?,
        priority: body.priority,
        body: body.body,
        ack_required: body.ack_required,
    };
    let committed = submit(&state, &caller, command).await?;
    created(committed, "posting a message", "message_id", |e| match e {
        Event::MessagePosted { message_id, .. } => Some(message_id.0),
        _ => None,
    })
}

async fn acknowledge(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiPath(message_id): ApiPath<u64>,
    ApiJson(body): ApiJson<Acknowledge>,
) -> Result<(StatusCode, Json<Committed>), ApiError> {
    let agency = or_own(body.agency.as_deref(), &caller, "agency")?;
    let command = Command::AcknowledgeMessage { message_id: MessageId(message_id), agency };
    Ok((StatusCode::CREATED, Json(submit(&state, &caller, command).await?)))
}
