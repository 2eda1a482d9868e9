//! How events are stored: JSON, except position batches, which are the firehose and are kept as
//! postcard-encoded fixed-point fixes (about 20 bytes a fix instead of about 150 as JSON).

use serde::{Deserialize, Serialize};
use vigie_domain::geometry::Point;
use vigie_domain::{Event, Fix, UnitId};

pub const POSITIONS_KIND: &str = "positions_reported";

/// One fix as stored: degrees ×1e7, centi-degrees, cm/s, decimetres, and the report time as an
/// offset from the event's commit time (small, so its varint is short).
#[derive(Serialize, Deserialize)]
struct StoredFix {
    unit_id: u32,
    lon_e7: i32,
    lat_e7: i32,
    heading_cdeg: Option<u16>,
    speed_cmps: Option<u16>,
    accuracy_dm: Option<u32>,
    reported_offset_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("event body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("position batch is not valid: {0}")]
    Positions(#[from] postcard::Error),
}

pub fn encode(event: &Event, at_ms: i64) -> Vec<u8> {
    match event {
        Event::PositionsReported { fixes } => {
            let stored: Vec<StoredFix> = fixes.iter().map(|f| to_stored(f, at_ms)).collect();
            postcard::to_allocvec(&stored).expect("encoding plain integers into a Vec cannot fail")
        }
        other => serde_json::to_vec(other).expect("events always serialize"),
    }
}

pub fn decode(kind: &str, body: &[u8], at_ms: i64) -> Result<Event, CodecError> {
    if kind == POSITIONS_KIND {
        let stored: Vec<StoredFix> = postcard::from_bytes(body)?;
        Ok(Event::PositionsReported { fixes: stored.iter().map(|s| from_stored(s, at_ms)).collect() })
    } else {
        Ok(serde_json::from_slice(body)?)
    }
}

fn to_stored(fix: &Fix, at_ms: i64) -> StoredFix {
    StoredFix {
        unit_id: fix.unit_id.0,
        lon_e7: fix.position.lon_e7(),
        lat_e7: fix.position.lat_e7(),
        heading_cdeg: fix.heading_deg.map(|h| (h * 100.0).round() as u16),
        speed_cmps: fix.speed_mps.map(|s| (s * 100.0).round() as u16),
        accuracy_dm: fix.accuracy_m.map(|a| (a * 10.0).round() as u32),
        reported_offset_ms: fix.reported_at_ms.saturating_sub(at_ms),
    }
}

fn from_stored(s: &StoredFix, at_ms: i64) -> Fix {
    Fix {
        unit_id: UnitId(s.unit_id),
        position: Point::from_e7(s.lon_e7, s.lat_e7),
        heading_deg: s.heading_cdeg.map(|h| f64::from(h) / 100.0),
        speed_mps: s.speed_cmps.map(|v| f64::from(v) / 100.0),
        accuracy_m: s.accuracy_dm.map(|a| f64::from(a) / 10.0),
        reported_at_ms: s.reported_offset_ms.saturating_add(at_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_parsed_fix_comes_back_exactly(
            lon in -180.0f64..=180.0, lat in -90.0f64..=90.0,
            heading in proptest::option::of(0.0f64..360.0),
            speed in proptest::option::of(0.0f64..=120.0),
            accuracy in proptest::option::of(0.0f64..=10_000.0),
            offset in -86_400_000i64..60_000,
        ) {
            let at_ms = 1_763_000_000_000;
            let fix = Fix::parse(UnitId(7), lon, lat, heading, speed, accuracy, at_ms + offset).unwrap();
            let event = Event::PositionsReported { fixes: vec![fix] };
            let body = encode(&event, at_ms);
            prop_assert_eq!(decode(POSITIONS_KIND, &body, at_ms).unwrap(), event);
        }
    }

    #[test]
    fn a_fix_takes_about_twenty_bytes() {
        let at_ms = 1_763_000_000_000;
        let fixes: Vec<Fix> = (0..1000)
            .map(|i| {
                Fix::parse(UnitId(i), 2.35 + i as f64 * 1e-4, 48.85, Some(123.45), Some(13.9), Some(4.0), at_ms - 800)
                    .unwrap()
            })
            .collect();
        let body = encode(&Event::PositionsReported { fixes }, at_ms);
        assert!(body.len() < 25 * 1000, "{} bytes for 1000 fixes", body.len());
    }
}
