//! CAP 1.2 and the room: an incoming alert as the command that brings it in
//! ([`receive`]), an outgoing incident as a CAP alert ([`incident`]), and the room's alert back as
//! CAP ([`alert`]) — what the round-trip property checks.

use vigie_domain::alert::{
    AlertArea, AlertContent, AlertMessage, AlertRef, Certainty as DCertainty, Circle, Geocode, Severity as DSeverity,
    Urgency as DUrgency,
};
use vigie_domain::{Agency, Alert, Area, Command, Incident, IncidentKind, IncidentStatus, Point, Priority};

use crate::cap::alert::{
    CapAlert, CapArea, CapError, Category, Certainty, Info, MsgType, Reference, Scope, Severity, Status, Urgency,
};

fn refuse(field: &str, message: impl Into<String>) -> CapError {
    CapError { field: field.to_owned(), message: message.into() }
}

/// The command that brings `cap` into the room: its first info (CAP repeats an alert once per
/// language; the first is the sender's own), with its areas as the room's shapes.
pub fn receive(cap: &CapAlert) -> Result<Command, CapError> {
    let message = match cap.msg_type {
        MsgType::Alert => AlertMessage::Alert,
        MsgType::Update => AlertMessage::Update,
        MsgType::Cancel => AlertMessage::Cancel,
        MsgType::Ack | MsgType::Error => {
            return Err(refuse("msgType", format!("an {} answers a message: nothing to show", cap.msg_type.as_str())))
        }
    };
    let references = cap
        .references
        .iter()
        .map(|r| AlertRef { sender: r.sender.clone(), identifier: r.identifier.clone() })
        .collect();
    let info = cap.infos.first();
    if info.is_none() && message != AlertMessage::Cancel {
        return Err(refuse("info", "an alert says what it is about in at least one <info>"));
    }
    let areas = info
        .map(|i| {
            i.areas
                .iter()
                .enumerate()
                .map(|(n, a)| area(a).map_err(|e| refuse(&format!("info[0].area[{n}].{}", e.field), e.message)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let content = AlertContent {
        sender: cap.sender.clone(),
        identifier: cap.identifier.clone(),
        sent_ms: cap.sent_ms,
        exercise: cap.status != Status::Actual,
        event: info.map_or_else(|| "Cancellation".to_owned(), |i| i.event.clone()),
        headline: info.and_then(|i| i.headline.clone()),
        description: info.and_then(|i| i.description.clone()),
        instruction: info.and_then(|i| i.instruction.clone()),
        sender_name: info.and_then(|i| i.sender_name.clone()),
        urgency: info.map_or(DUrgency::Unknown, |i| urgency(i.urgency)),
        severity: info.map_or(DSeverity::Unknown, |i| severity(i.severity)),
        certainty: info.map_or(DCertainty::Unknown, |i| certainty(i.certainty)),
        effective_ms: info.and_then(|i| i.effective_ms.or(i.onset_ms)),
        expires_ms: info.and_then(|i| i.expires_ms),
        areas,
    };
    content.check().map_err(|r| refuse(r.field.as_deref().unwrap_or("alert"), r.message))?;
    Ok(Command::ReceiveAlert { message, content, references })
}

fn area(a: &CapArea) -> Result<AlertArea, CapError> {
    let polygons = a
        .polygons
        .iter()
        .map(|ring| {
            let lon_lat: Vec<[f64; 2]> = ring.iter().map(|(lat, lon)| [*lon, *lat]).collect();
            Area::parse(&lon_lat).map_err(|r| refuse("polygon", r.message))
        })
        .collect::<Result<_, _>>()?;
    let circles = a
        .circles
        .iter()
        .map(|((lat, lon), km)| {
            let centre = Point::parse(*lon, *lat).map_err(|r| refuse("circle", r.message))?;
            Ok(Circle { centre, radius_m: km * 1000.0 })
        })
        .collect::<Result<_, CapError>>()?;
    let geocodes =
        a.geocodes.iter().map(|(name, value)| Geocode { name: name.clone(), value: value.clone() }).collect();
    Ok(AlertArea { description: a.desc.clone(), polygons, circles, geocodes, resolved: Vec::new() })
}

fn urgency(u: Urgency) -> DUrgency {
    match u {
        Urgency::Immediate => DUrgency::Immediate,
        Urgency::Expected => DUrgency::Expected,
        Urgency::Future => DUrgency::Future,
        Urgency::Past => DUrgency::Past,
        Urgency::Unknown => DUrgency::Unknown,
    }
}

fn severity(s: Severity) -> DSeverity {
    match s {
        Severity::Extreme => DSeverity::Extreme,
        Severity::Severe => DSeverity::Severe,
        Severity::Moderate => DSeverity::Moderate,
        Severity::Minor => DSeverity::Minor,
        Severity::Unknown => DSeverity::Unknown,
    }
}

fn certainty(c: Certainty) -> DCertainty {
    match c {
        Certainty::Observed => DCertainty::Observed,
        Certainty::Likely => DCertainty::Likely,
        Certainty::Possible => DCertainty::Possible,
        Certainty::Unlikely => DCertainty::Unlikely,
        Certainty::Unknown => DCertainty::Unknown,
    }
}

fn closed_ring(area: &Area) -> Vec<(f64, f64)> {
    let mut ring: Vec<(f64, f64)> = area.ring.iter().map(|p| (p.lat, p.lon)).collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    ring
}

/// The room's alert as CAP again (an Alert message of its first sender's, one info, its areas).
pub fn alert(a: &Alert) -> CapAlert {
    let c = &a.content;
    let back_u = |u: DUrgency| match u {
        DUrgency::Immediate => Urgency::Immediate,
        DUrgency::Expected => Urgency::Expected,
        DUrgency::Future => Urgency::Future,
        DUrgency::Past => Urgency::Past,
        DUrgency::Unknown => Urgency::Unknown,
    };
    let back_s = |s: DSeverity| match s {
        DSeverity::Extreme => Severity::Extreme,
        DSeverity::Severe => Severity::Severe,
        DSeverity::Moderate => Severity::Moderate,
        DSeverity::Minor => Severity::Minor,
        DSeverity::Unknown => Severity::Unknown,
    };
    let back_c = |x: DCertainty| match x {
        DCertainty::Observed => Certainty::Observed,
        DCertainty::Likely => Certainty::Likely,
        DCertainty::Possible => Certainty::Possible,
        DCertainty::Unlikely => Certainty::Unlikely,
        DCertainty::Unknown => Certainty::Unknown,
    };
    CapAlert {
        identifier: c.identifier.clone(),
        sender: c.sender.clone(),
        sent_ms: c.sent_ms,
        status: if c.exercise { Status::Exercise } else { Status::Actual },
        msg_type: MsgType::Alert,
        scope: Scope::Public,
        restriction: None,
        note: None,
        references: Vec::new(),
        infos: vec![Info {
            language: None,
            categories: vec![Category::Other],
            event: c.event.clone(),
            urgency: back_u(c.urgency),
            severity: back_s(c.severity),
            certainty: back_c(c.certainty),
            effective_ms: c.effective_ms,
            onset_ms: None,
            expires_ms: c.expires_ms,
            sender_name: c.sender_name.clone(),
            headline: c.headline.clone(),
            description: c.description.clone(),
            instruction: c.instruction.clone(),
            web: None,
            areas: c
                .areas
                .iter()
                .map(|a| CapArea {
                    desc: a.description.clone(),
                    polygons: a.polygons.iter().map(closed_ring).collect(),
                    circles: a.circles.iter().map(|c| ((c.centre.lat, c.centre.lon), c.radius_m / 1000.0)).collect(),
                    geocodes: a.geocodes.iter().map(|g| (g.name.clone(), g.value.clone())).collect(),
                })
                .collect(),
        }],
    }
}

/// An incident as a CAP 1.2 alert, as a public warning gateway ingests it: sender `sender` (the
/// room's name), identifier unique to this version of the incident, the lead agency as sender
/// name, its kind as category and event, its priority as urgency and severity, its address and
/// area (or its location) as the area. A restricted incident is a Restricted alert.
pub fn incident(i: &Incident, lead: Option<&Agency>, sender: &str) -> CapAlert {
    let (category, event) = match i.kind {
        IncidentKind::TerroristAttack => (Category::Security, "Terrorist attack"),
        IncidentKind::Shooting => (Category::Security, "Shooting"),
        IncidentKind::Explosion => (Category::Safety, "Explosion"),
        IncidentKind::Fire => (Category::Fire, "Fire"),
        IncidentKind::RoadAccident => (Category::Transport, "Road accident"),
        IncidentKind::MedicalEmergency => (Category::Health, "Medical emergency"),
        IncidentKind::PublicOrder => (Category::Security, "Public order"),
        IncidentKind::SuspiciousPackage => (Category::Security, "Suspicious package"),
        IncidentKind::Hostage => (Category::Security, "Hostage taking"),
        IncidentKind::MissingPerson => (Category::Rescue, "Missing person"),
        IncidentKind::Hazmat => (Category::CBRNE, "Hazardous materials"),
        IncidentKind::Other => (Category::Other, "Incident"),
    };
    let (urgency, severity) = match i.priority {
        Priority::P1 => (Urgency::Immediate, Severity::Extreme),
        Priority::P2 => (Urgency::Immediate, Severity::Severe),
        Priority::P3 => (Urgency::Expected, Severity::Moderate),
        Priority::P4 => (Urgency::Expected, Severity::Minor),
    };
    let closed = i.status == IncidentStatus::Closed;
    let area = CapArea {
        desc: i.address.clone(),
        polygons: i.area.iter().map(closed_ring).collect(),
        circles: if i.area.is_none() { vec![((i.location.lat, i.location.lon), 0.0)] } else { Vec::new() },
        geocodes: Vec::new(),
    };
    CapAlert {
        identifier: format!("{}.{}", i.incident_id, i.updated_at_ms),
        sender: sender.to_owned(),
        sent_ms: i.updated_at_ms,
        status: Status::Actual,
        msg_type: MsgType::Alert,
        scope: if i.restricted { Scope::Restricted } else { Scope::Public },
        restriction: i.restricted.then(|| format!("need-to-know: {} and the agencies it shares with", i.lead_agency)),
        note: None,
        references: Vec::<Reference>::new(),
        infos: vec![Info {
            language: Some("fr-FR".into()),
            categories: vec![category],
            event: event.into(),
            urgency: if closed { Urgency::Past } else { urgency },
            severity,
            certainty: Certainty::Observed,
            effective_ms: Some(i.created_at_ms),
            onset_ms: None,
            expires_ms: None,
            sender_name: Some(lead.map_or_else(|| i.lead_agency.to_string(), |a| a.full_name.clone())),
            headline: Some(format!("{} {event} — {}", i.incident_id, i.address)),
            description: Some(format!("{} · {:?} · {:?} · {}", i.incident_id, i.status, i.priority, i.lead_agency)),
            instruction: None,
            web: None,
            areas: vec![area],
        }],
    }
}
