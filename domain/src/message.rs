//! Inter-agency messaging: channels with need-to-know membership, prioritised messages and
//! acknowledgements.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::{AgencyCode, ChannelId, MessageId};

/// Longest message body, in characters: a radio-style message, not a document.
pub const MAX_BODY_CHARS: usize = 2_000;

/// Military-style precedence, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessagePriority {
    Flash,
    Immediate,
    Priority,
    Routine,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub channel_id: ChannelId,
    pub name: String,
    /// Agencies that may read and post; `None` means the whole room.
    pub members: Option<BTreeSet<AgencyCode>>,
}

impl Channel {
    pub fn admits(&self, agency: &AgencyCode) -> bool {
        self.members.as_ref().is_none_or(|m| m.contains(agency))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub user: String,
    pub agency: AgencyCode,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub message_id: MessageId,
    pub channel_id: ChannelId,
    pub sender_user: String,
    pub sender_agency: AgencyCode,
    pub priority: MessagePriority,
    pub body: String,
    pub ack_required: bool,
    pub acks: Vec<Ack>,
    pub sent_at_ms: i64,
}

impl Message {
    /// Whether `user` (a login, or an actor `login@AGENCY/role`) has acknowledged: the same person
    /// acking in another of their roles has already acknowledged.
    pub fn acked_by(&self, user: &str) -> bool {
        let who = crate::actor::login_of(user);
        self.acks.iter().any(|a| crate::actor::login_of(&a.user) == who)
    }

    /// Whether `user` (a login or an actor) sent it.
    pub fn sent_by(&self, user: &str) -> bool {
        crate::actor::login_of(&self.sender_user) == crate::actor::login_of(user)
    }

    /// Agencies that have acknowledged, for "acknowledged by 3 of 5 agencies".
    pub fn acking_agencies(&self) -> BTreeSet<&AgencyCode> {
        self.acks.iter().map(|a| &a.agency).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_admits_its_members_only() {
        let nypd = AgencyCode::parse("NYPD").unwrap();
        let pp = AgencyCode::parse("PP").unwrap();
        let room = Channel { channel_id: ChannelId::room(), name: "Room".into(), members: None };
        let nypd_only = Channel { members: Some([nypd.clone()].into()), ..room.clone() };
        assert!(room.admits(&pp));
        assert!(nypd_only.admits(&nypd));
        assert!(!nypd_only.admits(&pp));
    }
}
