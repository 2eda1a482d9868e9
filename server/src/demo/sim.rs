//! The exercise itself: units patrol, incidents arise and run their lifecycle with the nearest
//! fitting units, ambulances transport, agencies talk and acknowledge. Every decision comes from
//! the seeded generator and the step counter; the room's state is read back each step, so a
//! dispatcher's manual action (assigning a demo unit, say) is followed by the simulation too.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use vigie_domain::{
    Agency, AgencyCode, Channel, ChannelId, Command, Event, Fix, IncidentId, IncidentKind, IncidentStatus, MessageId,
    MessagePriority, Point, Priority, State, UnitId, UnitKind, UnitStatus,
};

use super::city::{flat_distance_m, step_towards, City};
use super::fleet::{self, AGENCIES, CHANNELS};
use super::DemoOptions;
use crate::sequencer::Author;
use crate::AppState;

/// Steps a dispatched unit takes to get going.
const TURN_OUT_STEPS: u64 = 4;
/// Steps an ambulance spends at the hospital before it is free again.
const HOSPITAL_STEPS: u64 = 30;
/// An incident the simulation runs is closed after this many steps whatever happens.
const MAX_INCIDENT_STEPS: u64 = 900;

struct SimUnit {
    unit_id: UnitId,
    kind: UnitKind,
    agency: AgencyCode,
    city: City,
    home: Point,
    position: Point,
    heading_deg: f64,
    speed_mps: f64,
    route: VecDeque<Point>,
    seen_status: UnitStatus,
    status_step: u64,
}

struct SimIncident {
    created_step: u64,
    contain_after: u64,
    close_after: u64,
    on_scene_step: Option<u64>,
    contained_step: Option<u64>,
}

pub struct Sim {
    state: AppState,
    options: DemoOptions,
    rng: ChaCha8Rng,
    step: u64,
    units: Vec<SimUnit>,
    incidents: BTreeMap<IncidentId, SimIncident>,
    next_incident_step: u64,
    pending_acks: Vec<(u64, MessageId, AgencyCode)>,
}

impl Sim {
    /// Registers the exercise's agencies, channels and units where the log lacks them (so a
    /// restarted demo carries on with the same ids) and places every unit.
    pub async fn set_up(state: AppState, options: DemoOptions) -> anyhow::Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut sim = Sim {
            state,
            options,
            rng: ChaCha8Rng::seed_from_u64(0),
            step: 0,
            units: Vec::new(),
            incidents: BTreeMap::new(),
            next_incident_step: 3,
            pending_acks: Vec::new(),
        };
        for spec in AGENCIES {
            let agency =
                Agency::parse(spec.code, spec.short_name, spec.full_name, spec.kind, spec.country, spec.colour)?;
            if !sim.room(|s| s.agencies.contains_key(&agency.code)) {
                sim.state
                    .sequencer
                    .submit(Author::service("exercise-director"), Command::RegisterAgency { agency })
                    .await?;
            }
        }
        for (slug, name, members) in CHANNELS {
            let channel_id = ChannelId::inter_agency(slug)?;
            if !sim.room(|s| s.channels.contains_key(&channel_id)) {
                let members: BTreeSet<AgencyCode> =
                    members.iter().map(|m| AgencyCode::parse(m)).collect::<Result<_, _>>()?;
                let channel = Channel { channel_id, name: (*name).into(), members: Some(members) };
                sim.state
                    .sequencer
                    .submit(Author::service("exercise-director"), Command::CreateChannel { channel })
                    .await?;
            }
        }
        // The services of each city share their restricted incidents among themselves (rules an
        // admin would set); the foreign liaisons only get what is shared with them one by one.
        for city in [City::Paris, City::NewYork] {
            let (services, _) = fleet::sharing(city);
            for from in services.iter() {
                for to in services.iter().filter(|to| *to != from) {
                    let (from, to) = (AgencyCode::parse(from)?, AgencyCode::parse(to)?);
                    if !sim.room(|s| s.sharing.contains(&(from.clone(), to.clone()))) {
                        let rule = Command::SetSharing { from, to, shared: true };
                        sim.state.sequencer.submit(Author::service("exercise-director"), rule).await?;
                    }
                }
            }
        }
        for spec in AGENCIES {
            let agency = AgencyCode::parse(spec.code)?;
            for (kind, count, prefix) in spec.units {
                for n in 1..=*count {
                    let callsign = format!("{prefix}-{n:02}");
                    let unit_id = sim.ensure_unit(&callsign, &agency, *kind).await?;
                    let home = spec.city.random_point(&mut rng);
                    let position = sim.room(|s| s.units[&unit_id].last_fix.map(|f| f.position)).unwrap_or(home);
                    let seen_status = sim.room(|s| s.units[&unit_id].status);
                    sim.units.push(SimUnit {
                        unit_id,
                        kind: *kind,
                        agency: agency.clone(),
                        city: spec.city,
                        home,
                        position,
                        heading_deg: rng.random_range(0.0..360.0),
                        speed_mps: 0.0,
                        route: VecDeque::new(),
                        seen_status,
                        status_step: 0,
                    });
                }
            }
        }
        // Open incidents left by an earlier run are taken over and brought to an end.
        let open: Vec<(IncidentId, Point)> = sim.room(|s| {
            s.incidents.values().filter(|i| i.status.is_open()).map(|i| (i.incident_id, i.location)).collect()
        });
        for (incident_id, _) in open {
            sim.incidents.insert(incident_id, SimIncident::new(0, &mut rng));
        }
        sim.rng = rng;
        tracing::info!(units = sim.units.len(), seed = sim.options.seed, "demo exercise set up");
        Ok(sim)
    }

    fn room<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        self.state.hub.read(f)
    }

    async fn ensure_unit(&self, callsign: &str, agency: &AgencyCode, kind: UnitKind) -> anyhow::Result<UnitId> {
        if let Some(unit_id) = self.room(|s| s.unit_by_callsign(callsign).map(|u| u.unit_id)) {
            return Ok(unit_id);
        }
        let hidden_from = fleet::HIDDEN
            .iter()
            .filter(|(prefix, _)| callsign.starts_with(&format!("{prefix}-")))
            .flat_map(|(_, from)| from.iter().map(|c| AgencyCode::parse(c)))
            .collect::<Result<_, _>>()?;
        let command = Command::RegisterUnit {
            callsign: callsign.into(),
            agency: agency.clone(),
            kind,
            status: UnitStatus::Available,
            hidden_from,
            device_uid: None,
        };
        let events = self.state.sequencer.submit(Author::service("exercise-director"), command).await?;
        match events.first().map(|e| &e.event) {
            Some(Event::UnitRegistered { unit_id, .. }) => Ok(*unit_id),
            _ => anyhow::bail!("registering {callsign} gave no unit"),
        }
    }

    /// One step of the exercise.
    pub async fn step(&mut self) {
        self.step += 1;
        let room = self.room(|s| s.clone());
        let mut commands: Vec<(String, Command)> = Vec::new();
        if self.step >= self.next_incident_step {
            self.next_incident_step = self.step + self.rng.random_range(20..45);
            self.open_incident(&room).await;
        }
        let dt_s = self.options.tick_ms as f64 / 1000.0;
        for i in 0..self.units.len() {
            self.advance_unit(i, &room, dt_s, &mut commands);
        }
        self.progress_incidents(&room, &mut commands);
        self.talk(&room, &mut commands);
        commands.push(("avl-gateway".into(), Command::ReportPositions { fixes: self.fixes_due() }));
        for (actor, command) in commands {
            if let Command::ReportPositions { fixes } = &command {
                if fixes.is_empty() {
                    continue;
                }
            }
            if let Err(e) = self.state.sequencer.submit(Author::service(actor), command).await {
                tracing::debug!(error = %e, "a demo command was refused");
            }
        }
    }

    fn fixes_due(&mut self) -> Vec<Fix> {
        let now_ms = self.state.clock.now_ms();
        let every = self.options.report_every.max(1);
        let step = self.step;
        let mut fixes = Vec::new();
        for (i, u) in self.units.iter().enumerate() {
            if !(step + i as u64).is_multiple_of(every) {
                continue;
            }
            let accuracy = self.rng.random_range(3.0..9.0);
            let fix = Fix::parse(
                u.unit_id,
                u.position.lon,
                u.position.lat,
                Some(u.heading_deg),
                Some(u.speed_mps),
                Some(accuracy),
                now_ms,
            );
            fixes.extend(fix.ok());
        }
        fixes
    }

    fn advance_unit(&mut self, i: usize, room: &State, dt_s: f64, commands: &mut Vec<(String, Command)>) {
        let Some(current) = room.units.get(&self.units[i].unit_id) else { return };
        let (status, incident_id) = (current.status, current.incident_id);
        let callsign = current.callsign.clone();
        let step = self.step;
        let u = &mut self.units[i];
        if u.seen_status != status {
            u.seen_status = status;
            u.status_step = step;
            u.route.clear();
        }
        let in_status = step - u.status_step;
        let incident = incident_id.and_then(|id| room.incidents.get(&id));
        let mut change =
            |status| commands.push((callsign.clone(), Command::ChangeUnitStatus { unit_id: u.unit_id, status }));
        match status {
            UnitStatus::Dispatched if in_status >= TURN_OUT_STEPS => change(UnitStatus::EnRoute),
            UnitStatus::EnRoute => {
                if let Some(incident) = incident {
                    if u.route.is_empty() && flat_distance_m(u.position, incident.location) < 30.0 {
                        change(UnitStatus::OnScene);
                    } else if u.route.is_empty() {
                        u.route = route_for(u, incident.location);
                    }
                }
            }
            UnitStatus::OnScene if u.kind == UnitKind::Ambulance && in_status >= 25 => {
                change(UnitStatus::Transporting);
            }
            UnitStatus::Transporting => {
                let hospital = nearest_hospital(u.city, u.position);
                if u.route.is_empty() && flat_distance_m(u.position, hospital) < 30.0 {
                    change(UnitStatus::AtHospital);
                } else if u.route.is_empty() {
                    u.route = route_for(u, hospital);
                }
            }
            UnitStatus::AtHospital if in_status >= HOSPITAL_STEPS => {
                if let Some(incident_id) = incident_id {
                    commands.push((
                        format!("dispatch-{}", u.agency),
                        Command::ReleaseUnit { incident_id, unit_id: u.unit_id },
                    ));
                }
            }
            UnitStatus::Available if u.route.is_empty() => {
                let goal = patrol_goal(u, &mut self.rng);
                u.route = goal.map(|g| route_for(u, g)).unwrap_or_default();
            }
            _ => {}
        }
        let responding = matches!(status, UnitStatus::EnRoute | UnitStatus::Transporting);
        move_along(u, dt_s, responding);
    }

    async fn open_incident(&mut self, room: &State) {
        let city = if self.rng.random_bool(0.55) { City::Paris } else { City::NewYork };
        let place = city.places().choose(&mut self.rng).expect("places");
        let location = city.random_point_near(&mut self.rng, Point { lon: place.lon, lat: place.lat }, 150.0);
        let kind = pick_kind(&mut self.rng);
        let priority = pick_priority(kind, &mut self.rng);
        let lead = lead_agency(city, kind);
        let address = format!("{}, near {}", if city == City::Paris { "Paris" } else { "Manhattan" }, place.name);
        let restricted = fleet::restricted(kind);
        let command = Command::CreateIncident {
            kind,
            priority,
            location,
            area: None,
            address: address.clone(),
            lead_agency: lead.clone(),
            restricted,
        };
        let dispatcher = format!("dispatch-{lead}");
        let Ok(events) = self.state.sequencer.submit(Author::service(&dispatcher), command).await else { return };
        let Some(Event::IncidentCreated { incident_id, .. }) = events.first().map(|e| e.event.clone()) else { return };
        if restricted && self.rng.random_bool(0.5) {
            // The city's services see it by their sharing rules; its foreign liaison, half the
            // time, because the lead shares it.
            let (_, liaison) = fleet::sharing(city);
            let agency = AgencyCode::parse(liaison).expect("demo agency codes are valid");
            let share = Command::ShareIncident { incident_id, agency };
            let _ = self.state.sequencer.submit(Author::service(&dispatcher), share).await;
        }
        self.incidents.insert(incident_id, SimIncident::new(self.step, &mut self.rng));
        let wanted = match priority {
            Priority::P1 => 6,
            Priority::P2 => 3,
            Priority::P3 => 2,
            Priority::P4 => 1,
        };
        for unit_id in self.nearest_fitting(room, city, kind, location, wanted) {
            let _ = self
                .state
                .sequencer
                .submit(Author::service(&dispatcher), Command::AssignUnit { incident_id, unit_id })
                .await;
        }
        let body = format!("{incident_id}: {} at {address}. Units assigned, en route.", kind_label(kind));
        let (channel_id, msg_priority) = (ChannelId::for_incident(incident_id), MessagePriority::Priority);
        let _ = self.post(&dispatcher, channel_id, lead.clone(), msg_priority, body, false).await;
        if priority == Priority::P1 {
            let joint =
                ChannelId::inter_agency(if city == City::Paris { "paris-joint" } else { "nyc-joint" }).expect("slug");
            let body =
                format!("FLASH {incident_id}: {} at {address}. All agencies stand by; acknowledge.", kind_label(kind));
            if let Some(message_id) =
                self.post(&dispatcher, joint.clone(), lead, MessagePriority::Flash, body, true).await
            {
                self.schedule_acks(&joint, message_id);
            }
        }
    }

    async fn post(
        &self,
        actor: &str,
        channel_id: ChannelId,
        sender_agency: AgencyCode,
        priority: MessagePriority,
        body: String,
        ack_required: bool,
    ) -> Option<MessageId> {
        let command = Command::PostMessage { channel_id, sender_agency, priority, body, ack_required };
        let events = self.state.sequencer.submit(Author::service(actor), command).await.ok()?;
        match events.first().map(|e| &e.event) {
            Some(Event::MessagePosted { message_id, .. }) => Some(*message_id),
            _ => None,
        }
    }

    fn schedule_acks(&mut self, channel_id: &ChannelId, message_id: MessageId) {
        let members = self.room(|s| s.channels.get(channel_id).and_then(|c| c.members.clone())).unwrap_or_default();
        for agency in members {
            let due = self.step + self.rng.random_range(3..25);
            self.pending_acks.push((due, message_id, agency));
        }
    }

    /// The nearest available units of the kinds this incident needs, in the incident's city.
    fn nearest_fitting(&self, room: &State, city: City, kind: IncidentKind, at: Point, wanted: usize) -> Vec<UnitId> {
        let mut chosen = Vec::new();
        for fitting in kind.fitting_unit_kinds().iter().cycle().take(wanted * 3) {
            if chosen.len() == wanted {
                break;
            }
            let best = self
                .units
                .iter()
                .filter(|u| u.city == city && u.kind == *fitting && !chosen.contains(&u.unit_id))
                .filter(|u| room.units.get(&u.unit_id).is_some_and(|r| r.status == UnitStatus::Available))
                .min_by(|a, b| a.position.distance_m(&at).total_cmp(&b.position.distance_m(&at)));
            chosen.extend(best.map(|u| u.unit_id));
        }
        chosen
    }

    fn progress_incidents(&mut self, room: &State, commands: &mut Vec<(String, Command)>) {
        let step = self.step;
        let mut finished = Vec::new();
        for (incident_id, sim) in &mut self.incidents {
            let Some(incident) = room.incidents.get(incident_id) else { continue };
            let actor = format!("dispatch-{}", incident.lead_agency);
            let to = |status| (actor.clone(), Command::ChangeIncidentStatus { incident_id: *incident_id, status });
            let anyone_on_scene =
                incident.assigned.iter().any(|u| room.units.get(u).is_some_and(|u| u.status == UnitStatus::OnScene));
            match incident.status {
                IncidentStatus::Closed => finished.push(*incident_id),
                _ if step - sim.created_step > MAX_INCIDENT_STEPS => commands.push(to(IncidentStatus::Closed)),
                IncidentStatus::Dispatched if anyone_on_scene => {
                    sim.on_scene_step = Some(step);
                    commands.push(to(IncidentStatus::OnScene));
                }
                IncidentStatus::OnScene if step - sim.on_scene_step.unwrap_or(step) >= sim.contain_after => {
                    sim.contained_step = Some(step);
                    commands.push(to(IncidentStatus::Contained));
                }
                IncidentStatus::Contained if step - sim.contained_step.unwrap_or(step) >= sim.close_after => {
                    commands.push((
                        actor.clone(),
                        Command::AddNote { incident_id: *incident_id, text: "Scene handed over; closing.".into() },
                    ));
                    commands.push(to(IncidentStatus::Closed));
                }
                IncidentStatus::New if step - sim.created_step > 60 => commands.push(to(IncidentStatus::Closed)),
                _ => {}
            }
        }
        for incident_id in finished {
            self.incidents.remove(&incident_id);
        }
    }

    /// Routine traffic on the joint channels, and the acknowledgements that are due.
    fn talk(&mut self, room: &State, commands: &mut Vec<(String, Command)>) {
        let step = self.step;
        let (due, later): (Vec<_>, Vec<_>) = self.pending_acks.drain(..).partition(|(at, _, _)| *at <= step);
        self.pending_acks = later;
        for (_, message_id, agency) in due {
            let actor = format!("duty-officer-{}", agency.as_str().to_lowercase());
            commands.push((actor, Command::AcknowledgeMessage { message_id, agency }));
        }
        if !step.is_multiple_of(17) {
            return;
        }
        let (slug, _, members) = CHANNELS.choose(&mut self.rng).expect("channels");
        let sender = AgencyCode::parse(members.choose(&mut self.rng).expect("members")).expect("code");
        let city =
            if room.agencies.get(&sender).is_some_and(|a| a.country == "US") { City::NewYork } else { City::Paris };
        let place = city.places().choose(&mut self.rng).expect("places").name;
        let hospital = city.hospitals().choose(&mut self.rng).expect("hospitals").name;
        let lines = [
            format!("Traffic diverted around {place} until further notice."),
            format!("Crowd building near {place}; requesting an extra patrol."),
            format!("{hospital} reports surge capacity available."),
            format!("Road closure at {place} lifted."),
            "Sitrep requested from all agencies by the top of the hour.".to_string(),
            format!("Liaison officer on site at {place}."),
        ];
        let body = lines.choose(&mut self.rng).expect("lines").clone();
        let channel_id = ChannelId::inter_agency(slug).expect("slug");
        let priority = if self.rng.random_bool(0.3) { MessagePriority::Immediate } else { MessagePriority::Routine };
        let actor = format!("duty-officer-{}", sender.as_str().to_lowercase());
        commands.push((
            actor,
            Command::PostMessage { channel_id, sender_agency: sender, priority, body, ack_required: false },
        ));
    }
}

impl SimIncident {
    fn new(created_step: u64, rng: &mut ChaCha8Rng) -> Self {
        Self {
            created_step,
            contain_after: rng.random_range(40..150),
            close_after: rng.random_range(20..70),
            on_scene_step: None,
            contained_step: None,
        }
    }
}

fn route_for(u: &SimUnit, goal: Point) -> VecDeque<Point> {
    match u.kind {
        UnitKind::Helicopter | UnitKind::Boat => VecDeque::from([goal]),
        _ => u.city.route(u.position, goal).into(),
    }
}

/// Where an available unit goes next: patrols stay near home, others go back to their station.
fn patrol_goal(u: &SimUnit, rng: &mut ChaCha8Rng) -> Option<Point> {
    if u.kind == UnitKind::Boat {
        let river = u.city.river();
        return river.choose(rng).copied();
    }
    if fleet::patrols(u.kind) {
        let radius = if u.kind == UnitKind::Helicopter { 3_000.0 } else { 1_200.0 };
        return Some(u.city.random_point_near(rng, u.home, radius));
    }
    (flat_distance_m(u.position, u.home) > 30.0).then_some(u.home)
}

fn move_along(u: &mut SimUnit, dt_s: f64, responding: bool) {
    let (patrol, response) = fleet::speeds_mps(u.kind);
    let speed = if responding { response } else { patrol };
    let mut budget = speed * dt_s;
    let start = u.position;
    while budget > 0.0 {
        let Some(&next) = u.route.front() else { break };
        let (position, heading) = step_towards(u.position, next, budget);
        budget -= flat_distance_m(u.position, position);
        u.position = position;
        u.heading_deg = heading;
        if position == next {
            u.route.pop_front();
        } else {
            break;
        }
    }
    u.speed_mps = flat_distance_m(start, u.position) / dt_s;
}

fn nearest_hospital(city: City, at: Point) -> Point {
    city.hospitals()
        .iter()
        .map(|h| Point { lon: h.lon, lat: h.lat })
        .min_by(|a, b| a.distance_m(&at).total_cmp(&b.distance_m(&at)))
        .expect("hospitals")
}

fn pick_kind(rng: &mut ChaCha8Rng) -> IncidentKind {
    use IncidentKind::*;
    const WEIGHTED: [(IncidentKind, u32); 12] = [
        (MedicalEmergency, 25),
        (RoadAccident, 18),
        (Fire, 15),
        (PublicOrder, 10),
        (SuspiciousPackage, 10),
        (MissingPerson, 5),
        (Shooting, 5),
        (Explosion, 3),
        (Hazmat, 3),
        (Hostage, 2),
        (TerroristAttack, 2),
        (Other, 2),
    ];
    let total: u32 = WEIGHTED.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (kind, weight) in WEIGHTED {
        if roll < weight {
            return kind;
        }
        roll -= weight;
    }
    Other
}

fn pick_priority(kind: IncidentKind, rng: &mut ChaCha8Rng) -> Priority {
    use IncidentKind::*;
    match kind {
        TerroristAttack | Shooting | Explosion | Hostage => Priority::P1,
        Fire | Hazmat => [Priority::P1, Priority::P2, Priority::P2].choose(rng).copied().expect("non-empty"),
        MedicalEmergency | RoadAccident => [Priority::P2, Priority::P3].choose(rng).copied().expect("non-empty"),
        _ => [Priority::P3, Priority::P4].choose(rng).copied().expect("non-empty"),
    }
}

fn lead_agency(city: City, kind: IncidentKind) -> AgencyCode {
    use IncidentKind::*;
    let code = match (city, kind) {
        (City::Paris, Fire | Explosion | Hazmat) => "BSPP",
        (City::Paris, MedicalEmergency) => "SAMU",
        (City::Paris, _) => "PP",
        (City::NewYork, Fire | Explosion | Hazmat) => "FDNY",
        (City::NewYork, MedicalEmergency) => "NYCEMS",
        (City::NewYork, _) => "NYPD",
    };
    AgencyCode::parse(code).expect("demo agency codes are valid")
}

fn kind_label(kind: IncidentKind) -> String {
    format!("{kind:?}")
}
