//! WGS84 geometry. Points are (lon, lat) in degrees, quantised to 1e-7° (about 1 cm) at parse time
//! so that the compact position log round-trips them exactly; distances are in metres.

use geo::{Contains, Distance, Haversine};
use serde::{Deserialize, Serialize};

use crate::Refusal;

/// Most vertices an incident area may have: enough for a cordon drawn by hand or an imported
/// district, small enough that one area cannot bloat every snapshot.
pub const MAX_AREA_VERTICES: usize = 512;

const E7: f64 = 1e7;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawPoint")]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

/// A point as it arrives, before [`Point::parse`] checks it.
#[derive(Deserialize)]
struct RawPoint {
    lon: f64,
    lat: f64,
}

impl TryFrom<RawPoint> for Point {
    type Error = Refusal;
    fn try_from(raw: RawPoint) -> Result<Self, Refusal> {
        Point::parse(raw.lon, raw.lat)
    }
}

/// `[west, south, east, north]` around both boxes.
pub fn union(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

impl Point {
    /// The point as a box (`[west, south, east, north]`), to [`union`] with others.
    pub fn bbox(self) -> [f64; 4] {
        [self.lon, self.lat, self.lon, self.lat]
    }

    /// Checks the WGS84 ranges and quantises to 1e-7°.
    pub fn parse(lon: f64, lat: f64) -> Result<Self, Refusal> {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Refusal::invalid("lon", format!("longitude {lon} is outside -180..=180")));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Refusal::invalid("lat", format!("latitude {lat} is outside -90..=90")));
        }
        Ok(Self::from_e7(to_e7(lon), to_e7(lat)))
    }

    /// The point from its fixed-point form (1e-7°), as the position log stores it.
    pub fn from_e7(lon_e7: i32, lat_e7: i32) -> Self {
        Self { lon: f64::from(lon_e7) / E7, lat: f64::from(lat_e7) / E7 }
    }

    pub fn lon_e7(&self) -> i32 {
        to_e7(self.lon)
    }

    pub fn lat_e7(&self) -> i32 {
        to_e7(self.lat)
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(&self, other: &Point) -> f64 {
        Haversine.distance(self.to_geo(), other.to_geo())
    }

    pub fn to_geo(self) -> geo::Point<f64> {
        geo::Point::new(self.lon, self.lat)
    }
}

fn to_e7(degrees: f64) -> i32 {
    // In range by construction (|deg| <= 180 gives |value| <= 1.8e9 < i32::MAX).
    (degrees * E7).round() as i32
}

/// A polygon area (cordon, perimeter) given by its outer ring; the ring is closed implicitly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub ring: Vec<Point>,
}

impl Area {
    pub fn parse(ring: &[[f64; 2]]) -> Result<Self, Refusal> {
        let mut points: Vec<Point> = Vec::with_capacity(ring.len());
        for (i, [lon, lat]) in ring.iter().enumerate() {
            points.push(Point::parse(*lon, *lat).map_err(|r| r.within(&format!("[{i}]")))?);
        }
        if points.len() > 1 && points.first() == points.last() {
            points.pop();
        }
        if points.len() < 3 {
            return Err(Refusal::invalid("", "an area needs at least 3 distinct vertices"));
        }
        if points.len() > MAX_AREA_VERTICES {
            return Err(Refusal::invalid("", format!("an area has at most {MAX_AREA_VERTICES} vertices")));
        }
        let area = Self { ring: points };
        if geo::Area::unsigned_area(&area.to_geo()) == 0.0 {
            return Err(Refusal::invalid("", "the area's vertices are collinear: it encloses nothing"));
        }
        Ok(area)
    }

    pub fn to_geo(&self) -> geo::Polygon<f64> {
        let ring: Vec<geo::Coord<f64>> = self.ring.iter().map(|p| geo::Coord { x: p.lon, y: p.lat }).collect();
        geo::Polygon::new(geo::LineString::new(ring), vec![])
    }

    pub fn contains(&self, point: &Point) -> bool {
        self.to_geo().contains(&point.to_geo())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_outside_wgs84_are_refused_with_the_field() {
        assert_eq!(Point::parse(181.0, 0.0).unwrap_err().field.as_deref(), Some("lon"));
        assert_eq!(Point::parse(0.0, -90.5).unwrap_err().field.as_deref(), Some("lat"));
        assert!(Point::parse(f64::NAN, 0.0).is_err());
        assert!(Point::parse(0.0, f64::INFINITY).is_err());
        assert!(Point::parse(-180.0, 90.0).is_ok());
    }

    #[test]
    fn parsing_quantises_so_the_fixed_point_form_round_trips() {
        let p = Point::parse(2.352_221_987_6, 48.856_613_4).unwrap();
        assert_eq!(Point::from_e7(p.lon_e7(), p.lat_e7()), p);
        assert_eq!(p.lon_e7(), 23_522_220);
    }

    #[test]
    fn distance_between_notre_dame_and_the_eiffel_tower_is_about_4_km() {
        let notre_dame = Point::parse(2.3499, 48.8530).unwrap();
        let eiffel = Point::parse(2.2945, 48.8584).unwrap();
        let d = notre_dame.distance_m(&eiffel);
        assert!((4_000.0..4_200.0).contains(&d), "{d}");
    }

    #[test]
    fn areas_need_three_distinct_vertices_and_some_surface() {
        assert!(Area::parse(&[[2.0, 48.0], [2.1, 48.0]]).is_err());
        assert!(Area::parse(&[[2.0, 48.0], [2.1, 48.0], [2.2, 48.0]]).is_err(), "collinear");
        let closed = Area::parse(&[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1], [2.0, 48.0]]).unwrap();
        assert_eq!(closed.ring.len(), 3, "closing vertex dropped");
        let bad = Area::parse(&[[2.0, 48.0], [2.1, 95.0], [2.1, 48.1]]).unwrap_err();
        assert_eq!(bad.field.as_deref(), Some("[1].lat"));
    }

    #[test]
    fn an_area_contains_the_points_inside_it() {
        let square = Area::parse(&[[2.0, 48.0], [2.2, 48.0], [2.2, 48.2], [2.0, 48.2]]).unwrap();
        assert!(square.contains(&Point::parse(2.1, 48.1).unwrap()));
        assert!(!square.contains(&Point::parse(2.3, 48.1).unwrap()));
    }
}
