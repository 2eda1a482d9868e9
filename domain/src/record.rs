//! The access and administration entries of the record for oversight. Operational events are
//! already the room's log; these say who signed in, who changed what outside the room's picture,
//! who read what is restricted, and what retention purged. They are appended to the same log (and
//! so the same Merkle tree) as [`crate::Event::Recorded`], are never part of the room's picture,
//! and only auditors read them.

use serde::{Deserialize, Serialize};

use crate::{IncidentId, Seq};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Record {
    /// A sign-in that opened a session (`second_factor`: a TOTP code was checked).
    SignedIn {
        login: String,
        second_factor: bool,
    },
    /// A refused sign-in: the login as typed (bounded), and why in the server's words.
    SignInFailed {
        login: String,
        reason: String,
    },
    SignedOut {
        login: String,
    },
    AccountAdded {
        login: String,
        agency: String,
        roles: Vec<String>,
    },
    /// What changed, in words (`roles: dispatcher → commander`, `disabled`, `password`).
    AccountChanged {
        login: String,
        changes: Vec<String>,
    },
    TokenIssued {
        login: String,
        token_id: i64,
        scopes: Vec<String>,
    },
    TokenRevoked {
        login: String,
        token_id: i64,
    },
    SecondFactorEnrolled {
        login: String,
    },
    SecondFactorReset {
        login: String,
    },
    /// An agency's second-factor policy.
    PolicyChanged {
        agency: String,
        second_factor_required: bool,
    },
    /// A replay scenario written out of the room (`audience`: whose picture it carries).
    ScenarioExported {
        from_ms: i64,
        to_ms: i64,
        audience: Option<String>,
    },
    ScenarioImported {
        name: String,
        events: u64,
    },
    /// A stretch of the record written out for oversight.
    AuditExported {
        from_ms: i64,
        to_ms: i64,
        events: u64,
    },
    /// Someone opened a restricted incident's details.
    RestrictedViewed {
        incident_id: IncidentId,
    },
    /// An auditor read the record (`what`: the list with its filters, one entry, a verification).
    AuditViewed {
        what: String,
    },
    /// Retention purged the content of `events` events of `kind` committed before `before_ms`, up
    /// to `through_seq`, under `rule`. Their leaf hashes stay, so the tree still verifies.
    Purged {
        rule: String,
        kind: String,
        before_ms: i64,
        through_seq: Seq,
        events: u64,
    },
}

impl Record {
    /// The log's `kind` column for this entry: `audit.` and the entry's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::SignedIn { .. } => "audit.signed_in",
            Record::SignInFailed { .. } => "audit.sign_in_failed",
            Record::SignedOut { .. } => "audit.signed_out",
            Record::AccountAdded { .. } => "audit.account_added",
            Record::AccountChanged { .. } => "audit.account_changed",
            Record::TokenIssued { .. } => "audit.token_issued",
            Record::TokenRevoked { .. } => "audit.token_revoked",
            Record::SecondFactorEnrolled { .. } => "audit.second_factor_enrolled",
            Record::SecondFactorReset { .. } => "audit.second_factor_reset",
            Record::PolicyChanged { .. } => "audit.policy_changed",
            Record::ScenarioExported { .. } => "audit.scenario_exported",
            Record::ScenarioImported { .. } => "audit.scenario_imported",
            Record::AuditExported { .. } => "audit.audit_exported",
            Record::RestrictedViewed { .. } => "audit.restricted_viewed",
            Record::AuditViewed { .. } => "audit.audit_viewed",
            Record::Purged { .. } => "audit.purged",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    #[test]
    fn a_record_is_an_event_of_its_own_kind_that_round_trips() {
        let event = Event::Recorded { record: Record::RestrictedViewed { incident_id: IncidentId(4) } };
        assert_eq!(event.kind(), "audit.restricted_viewed");
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(json, r#"{"type":"recorded","record":{"entry":"restricted_viewed","incident_id":4}}"#);
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }

    #[test]
    fn a_record_changes_nothing_in_the_room_and_no_agency_sees_it() {
        use crate::visibility::{see, Seen, Viewer};
        let before = crate::State::default();
        let logged = crate::LoggedEvent {
            seq: 1,
            at_ms: 5,
            actor: "auditor@IGA/auditor".into(),
            event: Event::Recorded { record: Record::AuditViewed { what: "list".into() } },
        };
        let mut after = before.clone();
        after.apply(&logged);
        assert_eq!((after.seq, after.at_ms), (1, 5));
        assert_eq!(after.incidents, before.incidents);
        let agency = Viewer::Agency(crate::AgencyCode::parse("PP").unwrap());
        assert_eq!(see(&before, &after, &agency, &logged), Seen::Nothing);
        assert_eq!(see(&before, &after, &Viewer::Room, &logged), Seen::All);
    }
}
