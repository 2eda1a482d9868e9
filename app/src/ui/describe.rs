//! One line of plain text for an event, in the screen's language (rendered as text, never as
//! HTML): the overview's latest events and the timeline's items.

use vigie_domain::record::Record;
use vigie_domain::{Event, LoggedEvent, State, UnitId};

use super::words;
use crate::i18n::{t, Lang};

pub fn describe(state: &State, e: &LoggedEvent, lang: Lang) -> String {
    let unit = |id: &UnitId| state.units.get(id).map_or_else(|| id.to_string(), |u| u.callsign.clone());
    let fr = lang == Lang::Fr;
    let say = |en: String, fr_text: String| if fr { fr_text } else { en };
    let w = |debug: &dyn std::fmt::Debug| t(lang, &words(debug));
    match &e.event {
        Event::AgencyRegistered { agency } => {
            say(format!("{} joined the room", agency.short_name), format!("{} rejoint la salle", agency.short_name))
        }
        Event::UnitRegistered { callsign, agency, .. } => {
            say(format!("{callsign} ({agency}) registered"), format!("{callsign} ({agency}) enregistré"))
        }
        Event::UnitStatusChanged { unit_id, status } => {
            let s = t(lang, status.label());
            say(format!("{} is {s}", unit(unit_id)), format!("{} : {s}", unit(unit_id)))
        }
        Event::PositionsReported { fixes } => {
            say(format!("{} positions", fixes.len()), format!("{} positions", fixes.len()))
        }
        Event::IncidentCreated { incident_id, kind, priority, address, .. } => {
            let k = w(kind);
            say(
                format!("{incident_id} {priority:?} {k} at {address}"),
                format!("{incident_id} {priority:?} {k} : {address}"),
            )
        }
        Event::IncidentUpdated { incident_id, .. } => {
            say(format!("{incident_id} updated"), format!("{incident_id} modifié"))
        }
        Event::IncidentStatusChanged { incident_id, status } => {
            let s = w(status);
            say(format!("{incident_id} is {s}"), format!("{incident_id} : {s}"))
        }
        Event::UnitAssigned { incident_id, unit_id } => say(
            format!("{} assigned to {incident_id}", unit(unit_id)),
            format!("{} engagé sur {incident_id}", unit(unit_id)),
        ),
        Event::UnitReleased { incident_id, unit_id } => say(
            format!("{} released from {incident_id}", unit(unit_id)),
            format!("{} dégagé de {incident_id}", unit(unit_id)),
        ),
        Event::NoteAdded { incident_id, text } => {
            say(format!("{incident_id} note: {text}"), format!("{incident_id} note : {text}"))
        }
        Event::ChannelCreated { channel } => {
            say(format!("channel {} opened", channel.name), format!("canal {} ouvert", channel.name))
        }
        Event::MessagePosted { channel_id, priority, body, sender_agency, .. } => {
            let p = t(lang, &words(priority)).to_uppercase();
            say(
                format!("[{p}] {sender_agency} on {channel_id}: {body}"),
                format!("[{p}] {sender_agency} sur {channel_id} : {body}"),
            )
        }
        Event::MessageAcknowledged { message_id, agency } => {
            say(format!("{agency} acknowledged {message_id}"), format!("{agency} a accusé réception de {message_id}"))
        }
        Event::IncidentRestricted { incident_id, restricted: true } => {
            say(format!("{incident_id} restricted"), format!("{incident_id} à diffusion restreinte"))
        }
        Event::IncidentRestricted { incident_id, restricted: false } => {
            say(format!("{incident_id} open to the room"), format!("{incident_id} ouvert à toute la salle"))
        }
        Event::IncidentShared { incident_id, agency } => {
            say(format!("{incident_id} shared with {agency}"), format!("{incident_id} partagé avec {agency}"))
        }
        Event::IncidentUnshared { incident_id, agency } => say(
            format!("{incident_id} no longer shared with {agency}"),
            format!("{incident_id} n'est plus partagé avec {agency}"),
        ),
        Event::UnitHidden { unit_id, agency } => {
            say(format!("{} hidden from {agency}", unit(unit_id)), format!("{} masqué pour {agency}", unit(unit_id)))
        }
        Event::UnitRevealed { unit_id, agency } => {
            say(format!("{} shown to {agency}", unit(unit_id)), format!("{} visible pour {agency}", unit(unit_id)))
        }
        Event::SharingChanged { from, to, shared: true } => say(
            format!("{from} shares its restricted incidents with {to}"),
            format!("{from} partage ses incidents restreints avec {to}"),
        ),
        Event::SharingChanged { from, to, shared: false } => say(
            format!("{from} no longer shares its restricted incidents with {to}"),
            format!("{from} ne partage plus ses incidents restreints avec {to}"),
        ),
        Event::Recorded { record } => describe_record(record, fr),
        Event::AlertIssued { alert } => {
            let what = alert.content.headline.as_deref().unwrap_or(&alert.content.event);
            let from = alert.content.sender_name.as_deref().unwrap_or(&alert.content.sender);
            say(format!("Alert from {from}: {what}"), format!("Alerte de {from} : {what}"))
        }
        Event::AlertUpdated { alert } => {
            let what = alert.content.headline.as_deref().unwrap_or(&alert.content.event);
            say(format!("Alert updated: {what}"), format!("Alerte mise à jour : {what}"))
        }
        Event::AlertCancelled { alert_id } => {
            let what = state.alerts.get(alert_id).map_or_else(|| alert_id.to_string(), |a| a.content.event.clone());
            say(format!("Alert cancelled: {what}"), format!("Alerte levée : {what}"))
        }
    }
}

/// An entry of the record for oversight, in the screen's language.
pub fn describe_record(record: &Record, fr: bool) -> String {
    let say = |en: String, fr_text: String| if fr { fr_text } else { en };
    let list = |items: &[String]| items.join(", ");
    match record {
        Record::SignedIn { login, second_factor } => {
            let f = if *second_factor { " (2FA)" } else { "" };
            say(format!("{login} signed in{f}"), format!("{login} s'est connecté{f}"))
        }
        Record::SignInFailed { login, reason } => {
            say(format!("sign-in refused for {login}: {reason}"), format!("connexion refusée pour {login} : {reason}"))
        }
        Record::SignedOut { login } => say(format!("{login} signed out"), format!("{login} s'est déconnecté")),
        Record::AccountAdded { login, agency, roles } => say(
            format!("account {login} ({agency}) added: {}", list(roles)),
            format!("compte {login} ({agency}) créé : {}", list(roles)),
        ),
        Record::AccountChanged { login, changes } => say(
            format!("account {login} changed: {}", list(changes)),
            format!("compte {login} modifié : {}", list(changes)),
        ),
        Record::TokenIssued { login, token_id, scopes } => say(
            format!("token {token_id} issued to {login}: {}", list(scopes)),
            format!("jeton {token_id} délivré à {login} : {}", list(scopes)),
        ),
        Record::TokenRevoked { login, token_id } => {
            say(format!("token {token_id} of {login} revoked"), format!("jeton {token_id} de {login} révoqué"))
        }
        Record::SecondFactorEnrolled { login } => {
            say(format!("{login} enrolled a second factor"), format!("{login} a enrôlé un second facteur"))
        }
        Record::SecondFactorReset { login } => {
            say(format!("second factor of {login} reset"), format!("second facteur de {login} réinitialisé"))
        }
        Record::PolicyChanged { agency, second_factor_required } => {
            let (en, fr_text) =
                if *second_factor_required { ("required", "exigé") } else { ("optional", "facultatif") };
            say(format!("{agency}: second factor {en}"), format!("{agency} : second facteur {fr_text}"))
        }
        Record::ScenarioExported { audience, .. } => {
            let whose = audience.clone().unwrap_or_else(|| "room".into());
            say(format!("scenario exported ({whose})"), format!("scénario exporté ({whose})"))
        }
        Record::ScenarioImported { name, events } => say(
            format!("scenario {name} imported ({events} events)"),
            format!("scénario {name} importé ({events} événements)"),
        ),
        Record::AuditExported { events, .. } => {
            say(format!("record exported ({events} events)"), format!("registre exporté ({events} événements)"))
        }
        Record::RestrictedViewed { incident_id } => {
            say(format!("restricted {incident_id} opened"), format!("{incident_id} restreint consulté"))
        }
        Record::AuditViewed { what } => say(format!("record read: {what}"), format!("registre consulté : {what}")),
        Record::Purged { rule, events, through_seq, .. } => say(
            format!("retention {rule}: {events} events purged up to #{through_seq}"),
            format!("conservation {rule} : {events} événements purgés jusqu'au n° {through_seq}"),
        ),
    }
}

/// `HH:MM:SSZ` UTC.
pub fn clock_time(at_ms: i64) -> String {
    let s = at_ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}
