//! What CoT clients' events do to the room, shared by every CoT connection (listeners and the
//! upstream link): each event is read for its meaning ([`vigie_adapters::cot::room::interpret`])
//! and becomes commands of the connection's principal, authorised by the same table as any
//! browser's ([`vigie_domain::authority::authorize`]) and within its scopes.
//!
//! - Positions are coalesced, latest fix per unit, and committed every [`FLUSH_EVERY`] as one
//!   batch per principal (at most [`MAX_FIXES_PER_BATCH`] fixes a batch): any number of devices
//!   at any rate costs a few commits a second. A device seen for the first time becomes a unit
//!   of the principal's agency, linked to it in its registration event.
//! - An event already stale when it arrives is dropped (CoT's `stale`: its information is out of
//!   date), as is a fix stamped further ahead than the room accepts.
//! - GeoChat becomes a message on the matching channel; a read receipt of one of Vigie's messages
//!   an acknowledgement by the principal's agency.
//! - An emergency beacon becomes a flash message to the whole room with the unit's position, once
//!   per emergency (beacons repeat); its cancellation another.
//!
//! Bounds: pending fixes are one per unit (at most [`vigie_domain::command::MAX_UNITS`]); the
//! device cache and the set of live emergencies are as bounded; at most [`MAX_REGISTERING`]
//! devices are being registered at once, each with its one latest waiting report.

use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use vigie_adapters::cot::room::{interpret, pong, Meaning, Position, ALL_CHAT_ROOMS};
use vigie_adapters::cot::CotEvent;
use vigie_domain::authority::{Principal, Scope};
use vigie_domain::command::{MAX_CALLSIGN_CHARS, MAX_FIXES_PER_BATCH, MAX_UNITS};
use vigie_domain::message::MAX_BODY_CHARS;
use vigie_domain::unit::MAX_FUTURE_SKEW_MS;
use vigie_domain::{ChannelId, Command, DeviceUid, Event, Fix, MessagePriority, RefusalKind, UnitId, UnitStatus};

use crate::sequencer::{Author, CommandError};
use crate::AppState;

/// Most devices being registered at once (first sight); past it a report waits for the next.
pub const MAX_REGISTERING: usize = 10_000;

/// How often coalesced positions are committed.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Who a CoT connection acts as: a principal (its agency owns the devices' units and decides
/// what the connection receives) and the scopes it was given.
#[derive(Clone, Debug)]
pub struct Peer {
    pub principal: Principal,
    pub scopes: BTreeSet<Scope>,
}

impl Peer {
    fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// What the gateway did, shown at `/api/v1/stats` (`cot`) and read by the benchmark.
#[derive(Debug, Default)]
pub struct Counters {
    pub events: AtomicU64,
    pub positions: AtomicU64,
    pub committed_fixes: AtomicU64,
    pub stale: AtomicU64,
    pub ignored: AtomicU64,
    pub refused: AtomicU64,
    pub units_created: AtomicU64,
    pub messages: AtomicU64,
    pub acks: AtomicU64,
    pub emergencies: AtomicU64,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CounterValues {
    pub events: u64,
    pub positions: u64,
    pub committed_fixes: u64,
    pub stale: u64,
    pub ignored: u64,
    pub refused: u64,
    pub units_created: u64,
    pub messages: u64,
    pub acks: u64,
    pub emergencies: u64,
}

impl Counters {
    pub fn values(&self) -> CounterValues {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterValues {
            events: v(&self.events),
            positions: v(&self.positions),
            committed_fixes: v(&self.committed_fixes),
            stale: v(&self.stale),
            ignored: v(&self.ignored),
            refused: v(&self.refused),
            units_created: v(&self.units_created),
            messages: v(&self.messages),
            acks: v(&self.acks),
            emergencies: v(&self.emergencies),
        }
    }
}

fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// A principal's fixes waiting for the next commit, latest per unit.
type Pending = (Principal, HashMap<UnitId, Fix>);

pub struct Gateway {
    pub state: AppState,
    /// Device → unit, as learnt; the room's log is the truth (see [`Gateway::unit_for`]).
    devices: Mutex<HashMap<DeviceUid, UnitId>>,
    /// Latest fix per unit waiting for the next commit, per principal (by login).
    pending: Mutex<HashMap<String, Pending>>,
    /// Devices being registered, with the latest report that arrived meanwhile.
    registering: Mutex<HashMap<DeviceUid, Position>>,
    /// Devices whose emergency is on (a beacon repeats until cancelled).
    emergencies: Mutex<HashSet<DeviceUid>>,
    pub counters: Arc<Counters>,
    /// Units' CoT, encoded once per change for every connection.
    pub encoded: super::egress::Encoded,
}

impl Gateway {
    pub fn new(state: AppState) -> Arc<Self> {
        Arc::new(Self {
            devices: Mutex::default(),
            pending: Mutex::default(),
            registering: Mutex::default(),
            emergencies: Mutex::default(),
            counters: state.cot_counters.clone(),
            encoded: Default::default(),
            state,
        })
    }

    fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    /// Acts on one event from `peer`; returns the answer the client expects, if any (a pong).
    /// `own` collects the devices this connection reports for, so it is not sent them back.
    pub async fn ingest(
        self: &Arc<Self>,
        peer: &Peer,
        event: &CotEvent,
        own: &mut HashSet<DeviceUid>,
    ) -> Option<CotEvent> {
        count(&self.counters.events);
        let now = self.now_ms();
        match interpret(event) {
            Meaning::Ping => return Some(pong(now)),
            Meaning::Ignored(rule) => {
                count(&self.counters.ignored);
                tracing::trace!(rule, kind = %event.kind, "CoT event ignored");
            }
            Meaning::Position(p) => {
                if event.is_stale(now) {
                    count(&self.counters.stale);
                } else if let Err(why) = self.position(peer, &p, now, own).await {
                    count(&self.counters.refused);
                    tracing::debug!(device = %p.device, %why, "CoT position refused");
                }
            }
            Meaning::Chat { room, sender, text } => {
                if let Err(why) = self.chat(peer, &room, sender.as_deref(), &text).await {
                    count(&self.counters.refused);
                    tracing::debug!(%room, %why, "CoT chat refused");
                }
            }
            Meaning::Receipt { message_id, read } => {
                // A delivered receipt says the device has it, not that anyone read it; only a read
                // receipt acknowledges (for the principal's agency, as its dispatcher would).
                if read && peer.may(Scope::MessagesWrite) {
                    let command = Command::AcknowledgeMessage { message_id, agency: peer.principal.agency.clone() };
                    match self.submit(peer, command).await {
                        Ok(_) => count(&self.counters.acks),
                        Err(why) => tracing::debug!(%message_id, %why, "CoT receipt not taken as an acknowledgement"),
                    }
                }
            }
            Meaning::Emergency { device, label, point, cancel } => {
                if let Err(why) = self.emergency(peer, &device, &label, point, cancel).await {
                    count(&self.counters.refused);
                    tracing::warn!(%device, %why, "CoT emergency could not be posted");
                }
            }
        }
        None
    }

    async fn submit(&self, peer: &Peer, command: Command) -> Result<Vec<vigie_domain::LoggedEvent>, CommandError> {
        self.state.sequencer.submit(Author::Principal(peer.principal.clone()), command).await
    }

    async fn position(
        self: &Arc<Self>,
        peer: &Peer,
        p: &Position,
        now: i64,
        own: &mut HashSet<DeviceUid>,
    ) -> Result<(), String> {
        if !peer.may(Scope::PositionsWrite) {
            return Err("the connection's principal may not report positions (scope positions:write)".into());
        }
        if p.at_ms > now + MAX_FUTURE_SKEW_MS {
            return Err(format!("time is more than {} s ahead of the room's clock", MAX_FUTURE_SKEW_MS / 1000));
        }
        if own.len() < 4096 {
            own.insert(p.device.clone());
        }
        match self.known_unit(peer, p)? {
            Some(unit_id) => self.coalesce(peer, p, unit_id),
            None => self.register_later(peer, p),
        }
    }

    /// The unit `p`'s device reports for, if the gateway learnt it or the room holds it; a device
    /// linked to another agency's unit is refused.
    fn known_unit(&self, peer: &Peer, p: &Position) -> Result<Option<UnitId>, String> {
        if let Some(id) = self.devices.lock().get(&p.device) {
            return Ok(Some(*id));
        }
        let agency = &peer.principal.agency;
        let found = self.state.hub.read(|s| {
            let unit = s.unit_by_device(&p.device)?;
            Some((unit.unit_id, unit.agency == *agency))
        });
        match found {
            Some((id, true)) => {
                self.learn(&p.device, id);
                Ok(Some(id))
            }
            Some((_, false)) => Err(format!("device {} reports for another agency's unit", p.device)),
            None => Ok(None),
        }
    }

    fn learn(&self, device: &DeviceUid, unit_id: UnitId) {
        let mut devices = self.devices.lock();
        if devices.len() >= MAX_UNITS {
            devices.clear();
        }
        devices.insert(device.clone(), unit_id);
    }

    /// Keeps `p` as its unit's latest fix for the next commit.
    fn coalesce(&self, peer: &Peer, p: &Position, unit_id: UnitId) -> Result<(), String> {
        let fix = p.fix(unit_id).map_err(|r| r.to_string())?;
        count(&self.counters.positions);
        let mut pending = self.pending.lock();
        let (_, fixes) =
            pending.entry(peer.principal.user.clone()).or_insert_with(|| (peer.principal.clone(), HashMap::new()));
        let slot = fixes.entry(unit_id).or_insert(fix);
        if slot.reported_at_ms <= fix.reported_at_ms {
            *slot = fix;
        }
        Ok(())
    }

    /// A device seen for the first time: its unit is registered off the connection's read loop
    /// (a burst of new devices costs no connection a commit's wait each), and the latest report
    /// that arrives meanwhile is kept and reported once the unit exists.
    fn register_later(self: &Arc<Self>, peer: &Peer, p: &Position) -> Result<(), String> {
        if !peer.may(Scope::UnitsWrite) {
            return Err("an unknown device, and the principal may not register units (scope units:write)".into());
        }
        {
            let mut waiting = self.registering.lock();
            if let Some(latest) = waiting.get_mut(&p.device) {
                if latest.at_ms <= p.at_ms {
                    *latest = p.clone();
                }
                return Ok(());
            }
            if waiting.len() >= MAX_REGISTERING {
                return Err(format!("{MAX_REGISTERING} devices are being registered already; the next report retries"));
            }
            waiting.insert(p.device.clone(), p.clone());
        }
        let (gateway, peer, first) = (self.clone(), peer.clone(), p.clone());
        tokio::spawn(async move {
            let registered = gateway.register(&peer, &first).await;
            let latest = gateway.registering.lock().remove(&first.device);
            let reported = registered.and_then(|unit_id| {
                gateway.learn(&first.device, unit_id);
                latest.map_or(Ok(()), |latest| gateway.coalesce(&peer, &latest, unit_id))
            });
            if let Err(why) = reported {
                count(&gateway.counters.refused);
                tracing::debug!(device = %first.device, %why, "CoT device not registered");
            }
        });
        Ok(())
    }

    async fn register(&self, peer: &Peer, p: &Position) -> Result<UnitId, String> {
        if !peer.may(Scope::UnitsWrite) {
            return Err("an unknown device, and the principal may not register units (scope units:write)".into());
        }
        let mut callsign = p.callsign_within(MAX_CALLSIGN_CHARS);
        if self.state.hub.read(|s| s.unit_by_callsign(&callsign).is_some()) {
            // Another unit has the callsign: this one is told apart by its device.
            let tail: String = p.device.as_str().chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
            callsign = format!("{}-{tail}", p.callsign_within(MAX_CALLSIGN_CHARS - 5));
        }
        let command = Command::RegisterUnit {
            callsign,
            agency: peer.principal.agency.clone(),
            kind: p.kind,
            status: UnitStatus::Available,
            hidden_from: BTreeSet::new(),
            device_uid: Some(p.device.clone()),
        };
        match self.submit(peer, command).await {
            Ok(events) => {
                count(&self.counters.units_created);
                events
                    .iter()
                    .find_map(|e| match &e.event {
                        Event::UnitRegistered { unit_id, .. } => Some(*unit_id),
                        _ => None,
                    })
                    .ok_or_else(|| "the registration committed no unit".to_owned())
            }
            // Another connection registered the device meanwhile.
            Err(CommandError::Refused(r))
                if r.kind == RefusalKind::Conflict && r.field.as_deref() == Some("device_uid") =>
            {
                self.state.hub.read(|s| s.unit_by_device(&p.device).map(|u| u.unit_id)).ok_or_else(|| r.to_string())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn chat(&self, peer: &Peer, room: &str, sender: Option<&str>, text: &str) -> Result<(), String> {
        if !peer.may(Scope::MessagesWrite) {
            return Err("the principal may not post messages (scope messages:write)".into());
        }
        let agency = &peer.principal.agency;
        let channel_id = if room == ALL_CHAT_ROOMS {
            ChannelId::room()
        } else {
            self.state
                .hub
                .read(|s| {
                    s.channels
                        .values()
                        .find(|c| c.name.eq_ignore_ascii_case(room) && c.admits(agency))
                        .map(|c| c.channel_id.clone())
                })
                .ok_or_else(|| format!("no channel named {room:?} that {agency} may post in"))?
        };
        let body = match sender {
            Some(s) => format!("[{s}] {text}"),
            None => text.to_owned(),
        };
        let body: String = body.chars().take(MAX_BODY_CHARS).collect();
        let command = Command::PostMessage {
            channel_id,
            sender_agency: agency.clone(),
            priority: MessagePriority::Routine,
            body,
            ack_required: false,
        };
        self.submit(peer, command).await.map_err(|e| e.to_string())?;
        count(&self.counters.messages);
        Ok(())
    }

    async fn emergency(
        &self,
        peer: &Peer,
        device: &DeviceUid,
        label: &str,
        point: Option<(f64, f64)>,
        cancel: bool,
    ) -> Result<(), String> {
        if !peer.may(Scope::MessagesWrite) {
            return Err("the principal may not post messages (scope messages:write)".into());
        }
        {
            let mut on = self.emergencies.lock();
            let changed = if cancel { on.remove(device) } else { on.len() < MAX_UNITS && on.insert(device.clone()) };
            if !changed {
                return Ok(()); // a repeat of a beacon already posted (or a cancel of none)
            }
        }
        let agency = &peer.principal.agency;
        let who = self
            .state
            .hub
            .read(|s| s.unit_by_device(device).map(|u| u.callsign.clone()))
            .unwrap_or_else(|| device.to_string());
        let body = if cancel {
            format!("Emergency cancelled: {who} ({agency})")
        } else {
            let at = point.map_or_else(|| "position unknown".to_owned(), |(lat, lon)| format!("at {lat:.5}, {lon:.5}"));
            format!("EMERGENCY {label}: {who} ({agency}) {at}")
        };
        let command = Command::PostMessage {
            channel_id: ChannelId::room(),
            sender_agency: agency.clone(),
            priority: MessagePriority::Flash,
            body,
            ack_required: !cancel,
        };
        if let Err(e) = self.submit(peer, command).await {
            // Not posted: the next beacon tries again.
            if !cancel {
                self.emergencies.lock().remove(device);
            }
            return Err(e.to_string());
        }
        count(&self.counters.emergencies);
        Ok(())
    }

    /// Commits the coalesced positions, one batch per principal; a batch the room could not take
    /// now (busy, unavailable) goes back, its fixes yielding to any newer ones.
    pub async fn flush(&self) {
        let pending = std::mem::take(&mut *self.pending.lock());
        for (login, (principal, fixes)) in pending {
            let mut fixes: Vec<Fix> = fixes.into_values().collect();
            fixes.sort_by_key(|f| f.unit_id);
            for chunk in fixes.chunks(MAX_FIXES_PER_BATCH) {
                let command = Command::ReportPositions { fixes: chunk.to_vec() };
                match self.state.sequencer.submit(Author::Principal(principal.clone()), command).await {
                    Ok(_) => {
                        self.counters.committed_fixes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    Err(CommandError::Busy | CommandError::Unavailable(_)) => {
                        let mut pending = self.pending.lock();
                        let (_, waiting) =
                            pending.entry(login.clone()).or_insert_with(|| (principal.clone(), HashMap::new()));
                        for fix in chunk {
                            waiting.entry(fix.unit_id).or_insert(*fix);
                        }
                    }
                    Err(e) => {
                        self.counters.refused.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        tracing::warn!(error = %e, fixes = chunk.len(), "CoT positions refused");
                    }
                }
            }
        }
    }

    /// Commits positions every [`FLUSH_EVERY`] until the server stops (then once more).
    pub async fn run_flushes(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.flush().await,
                _ = crate::listener::stopped(&mut shutdown) => break,
            }
        }
        self.flush().await;
    }
}
