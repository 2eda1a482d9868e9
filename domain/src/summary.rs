//! Figures derived from the state for the room's overview: units by agency and status, open
//! incidents by priority.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{AgencyCode, Priority, State, UnitStatus};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub units_by_agency: BTreeMap<AgencyCode, BTreeMap<UnitStatus, u32>>,
    pub units_by_status: BTreeMap<UnitStatus, u32>,
    pub open_incidents_by_priority: BTreeMap<Priority, u32>,
    pub stale_units: u32,
    pub unacknowledged_flash: u32,
}

impl Summary {
    pub fn of(state: &State, now_ms: i64, stale_after_ms: i64) -> Self {
        let mut summary = Summary::default();
        for unit in state.units.values() {
            *summary.units_by_agency.entry(unit.agency.clone()).or_default().entry(unit.status).or_default() += 1;
            *summary.units_by_status.entry(unit.status).or_default() += 1;
            if unit.is_stale(now_ms, stale_after_ms) {
                summary.stale_units += 1;
            }
        }
        for incident in state.incidents.values().filter(|i| i.status.is_open()) {
            *summary.open_incidents_by_priority.entry(incident.priority).or_default() += 1;
        }
        summary.unacknowledged_flash = state
            .messages
            .values()
            .filter(|m| m.priority == crate::MessagePriority::Flash && m.ack_required && m.acks.is_empty())
            .count() as u32;
        summary
    }

    pub fn open_incidents(&self) -> u32 {
        self.open_incidents_by_priority.values().sum()
    }

    pub fn units(&self, status: UnitStatus) -> u32 {
        self.units_by_status.get(&status).copied().unwrap_or(0)
    }
}
