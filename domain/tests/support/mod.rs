//! A room driven the way the sequencer drives it: decide, then fold the events into the state and
//! append them to a log.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use vigie_domain::*;

pub struct Room {
    pub state: State,
    pub log: Vec<LoggedEvent>,
    pub now_ms: i64,
}

impl Room {
    pub fn new() -> Self {
        Self { state: State::default(), log: Vec::new(), now_ms: 1_700_000_000_000 }
    }

    pub fn run_as(&mut self, actor: &str, command: Command) -> Result<Vec<LoggedEvent>, Refusal> {
        let before = self.state.clone();
        let events = decide(&self.state, &command, actor, self.now_ms);
        assert_eq!(self.state, before, "deciding never changes the state");
        let mut logged = Vec::new();
        for event in events? {
            self.now_ms += 1;
            let entry = LoggedEvent { seq: self.log.len() as u64 + 1, at_ms: self.now_ms, actor: actor.into(), event };
            self.state.apply(&entry);
            self.log.push(entry.clone());
            logged.push(entry);
        }
        Ok(logged)
    }

    pub fn run(&mut self, command: Command) -> Result<Vec<LoggedEvent>, Refusal> {
        self.run_as("dispatcher-1", command)
    }

    pub fn must(&mut self, command: Command) -> Vec<LoggedEvent> {
        self.run(command.clone()).unwrap_or_else(|r| panic!("{command:?} refused: {r}"))
    }

    pub fn refusal(&mut self, command: Command) -> Refusal {
        let seq = self.state.seq;
        let r = self.run(command.clone()).expect_err(&format!("{command:?} should be refused"));
        assert_eq!(self.state.seq, seq, "a refused command appends nothing");
        r
    }

    pub fn rebuilt(&self) -> State {
        let mut state = State::default();
        for e in &self.log {
            state.apply(e);
        }
        state
    }
}

pub fn code(s: &str) -> AgencyCode {
    AgencyCode::parse(s).unwrap()
}

pub fn agency(c: &str, kind: AgencyKind) -> Command {
    Command::RegisterAgency { agency: Agency::parse(c, c, &format!("{c} full name"), kind, "FR", "#336699").unwrap() }
}

pub fn unit(callsign: &str, agency: &str, kind: UnitKind) -> Command {
    Command::RegisterUnit {
        callsign: callsign.into(),
        agency: code(agency),
        kind,
        status: UnitStatus::Available,
        hidden_from: Default::default(),
        device_uid: None,
    }
}

pub fn incident(lead: &str) -> Command {
    Command::CreateIncident {
        kind: IncidentKind::Fire,
        priority: Priority::P2,
        location: Point::parse(2.35, 48.85).unwrap(),
        area: None,
        address: "Place de la Concorde".into(),
        lead_agency: code(lead),
        restricted: false,
    }
}

/// Two agencies, three units (ids 1..=3), one incident (id 1).
pub fn staffed_room() -> Room {
    let mut room = Room::new();
    room.must(agency("PP", AgencyKind::Police));
    room.must(agency("BSPP", AgencyKind::FireRescue));
    room.must(unit("PS-1", "PP", UnitKind::PatrolCar));
    room.must(unit("FPT-1", "BSPP", UnitKind::FireEngine));
    room.must(unit("VSAV-1", "BSPP", UnitKind::Ambulance));
    room.must(incident("BSPP"));
    room
}
