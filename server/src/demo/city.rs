//! The two cities of the demo and how vehicles move in them, without street data: Manhattan's
//! grid (avenues 29° east of north, ~80 m between streets, ~280 m between avenues) and Paris's
//! rings and radial avenues around Châtelet. Routes follow those patterns, so units drive along
//! avenues, streets and boulevards rather than in straight lines.

use rand::Rng;
use vigie_domain::Point;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum City {
    Paris,
    NewYork,
}

/// Metres per degree of latitude.
const M_PER_DEG_LAT: f64 = 110_540.0;

/// A local flat frame (metres east, metres north) around an origin; fine at city scale.
#[derive(Clone, Copy)]
struct Frame {
    lon0: f64,
    lat0: f64,
}

impl Frame {
    fn m_per_deg_lon(self) -> f64 {
        111_320.0 * self.lat0.to_radians().cos()
    }

    fn to_xy(self, p: Point) -> (f64, f64) {
        ((p.lon - self.lon0) * self.m_per_deg_lon(), (p.lat - self.lat0) * M_PER_DEG_LAT)
    }

    fn to_point(self, (x, y): (f64, f64)) -> Point {
        Point { lon: self.lon0 + x / self.m_per_deg_lon(), lat: self.lat0 + y / M_PER_DEG_LAT }
    }
}

/// Manhattan: origin at 8th Avenue & W 14th Street; `a` runs cross-town (east), `s` up-town.
const NYC: Frame = Frame { lon0: -74.0032, lat0: 40.7402 };
const NYC_GRID_DEG: f64 = 29.0;
const AVENUE_SPACING_M: f64 = 280.0;
const STREET_SPACING_M: f64 = 80.0;
/// 12th Avenue to 1st Avenue, 14th Street to 110th Street.
const NYC_A: (f64, f64) = (-1_100.0, 1_950.0);
const NYC_S: (f64, f64) = (0.0, 7_700.0);

/// Paris: origin at Châtelet; the city inside the Périphérique is roughly an ellipse.
const PARIS: Frame = Frame { lon0: 2.3470, lat0: 48.8589 };
const PARIS_RX_M: f64 = 5_000.0;
const PARIS_RY_M: f64 = 3_500.0;

impl City {
    pub fn centre(self) -> Point {
        match self {
            City::Paris => Point { lon: PARIS.lon0, lat: PARIS.lat0 },
            City::NewYork => grid_to_point((400.0, 3_600.0)),
        }
    }

    /// A random point in the city's drivable area within `radius_m` of `around`.
    pub fn random_point_near(self, rng: &mut impl Rng, around: Point, radius_m: f64) -> Point {
        match self {
            City::NewYork => {
                let (a, s) = point_to_grid(around);
                let a = (a + rng.random_range(-radius_m..radius_m)).clamp(NYC_A.0, NYC_A.1);
                let s = (s + rng.random_range(-radius_m..radius_m)).clamp(NYC_S.0, NYC_S.1);
                grid_to_point((a, s))
            }
            City::Paris => {
                let (x, y) = PARIS.to_xy(around);
                let (x, y) = (x + rng.random_range(-radius_m..radius_m), y + rng.random_range(-radius_m..radius_m));
                let (r, theta) = to_polar((x, y));
                PARIS.to_point(from_polar(r.min(0.95), theta))
            }
        }
    }

    pub fn random_point(self, rng: &mut impl Rng) -> Point {
        let far = 20_000.0;
        self.random_point_near(rng, self.centre(), far)
    }

    /// Waypoints from `from` to `to` along the city's street pattern (ending exactly at `to`).
    pub fn route(self, from: Point, to: Point) -> Vec<Point> {
        match self {
            City::NewYork => grid_route(from, to),
            City::Paris => ring_route(from, to),
        }
    }

    /// The river a boat patrols, as a line to go up and down.
    pub fn river(self) -> Vec<Point> {
        match self {
            City::Paris => SEINE.iter().map(|&(lon, lat)| Point { lon, lat }).collect(),
            City::NewYork => (0..=20).map(|i| grid_to_point((-1_450.0, -800.0 + i as f64 * 420.0))).collect(),
        }
    }
}

/// The Seine through Paris, east to west.
const SEINE: [(f64, f64); 15] = [
    (2.4080, 48.8250),
    (2.3836, 48.8330),
    (2.3750, 48.8390),
    (2.3660, 48.8455),
    (2.3560, 48.8500),
    (2.3480, 48.8535),
    (2.3400, 48.8570),
    (2.3300, 48.8605),
    (2.3200, 48.8637),
    (2.3050, 48.8640),
    (2.2930, 48.8605),
    (2.2860, 48.8545),
    (2.2780, 48.8480),
    (2.2700, 48.8420),
    (2.2590, 48.8385),
];

fn rotate((x, y): (f64, f64), deg: f64) -> (f64, f64) {
    let (sin, cos) = deg.to_radians().sin_cos();
    (x * cos - y * sin, x * sin + y * cos)
}

/// (cross-town, up-town) metres in the Manhattan grid.
fn point_to_grid(p: Point) -> (f64, f64) {
    rotate(NYC.to_xy(p), NYC_GRID_DEG)
}

fn grid_to_point(g: (f64, f64)) -> Point {
    NYC.to_point(rotate(g, -NYC_GRID_DEG))
}

fn snap(value: f64, spacing: f64) -> f64 {
    (value / spacing).round() * spacing
}

/// To the nearest avenue, up or down it to the destination's street, across, then in.
fn grid_route(from: Point, to: Point) -> Vec<Point> {
    let (a1, s1) = point_to_grid(from);
    let (a2, s2) = point_to_grid(to);
    let avenue = snap(a1, AVENUE_SPACING_M);
    let street = snap(s2, STREET_SPACING_M);
    let corners = [(avenue, s1), (avenue, street), (a2, street)];
    let mut route: Vec<Point> = corners.iter().map(|&g| grid_to_point(g)).collect();
    route.push(to);
    route
}

/// Normalised polar coordinates on the Paris ellipse (r = 1 on the Périphérique).
fn to_polar((x, y): (f64, f64)) -> (f64, f64) {
    let (u, v) = (x / PARIS_RX_M, y / PARIS_RY_M);
    ((u * u + v * v).sqrt(), v.atan2(u))
}

fn from_polar(r: f64, theta: f64) -> (f64, f64) {
    (r * theta.cos() * PARIS_RX_M, r * theta.sin() * PARIS_RY_M)
}

/// Along a radial avenue to the inner of the two rings, round that ring, then out: how one
/// crosses a radial city.
fn ring_route(from: Point, to: Point) -> Vec<Point> {
    let (r1, t1) = to_polar(PARIS.to_xy(from));
    let (r2, t2) = to_polar(PARIS.to_xy(to));
    let ring = r1.min(r2).max(0.08);
    let mut dt = t2 - t1;
    if dt > std::f64::consts::PI {
        dt -= std::f64::consts::TAU;
    } else if dt < -std::f64::consts::PI {
        dt += std::f64::consts::TAU;
    }
    let steps = ((dt.abs() / 0.12).ceil() as usize).max(1);
    let mut route = vec![PARIS.to_point(from_polar(ring, t1))];
    route.extend((1..=steps).map(|i| PARIS.to_point(from_polar(ring, t1 + dt * i as f64 / steps as f64))));
    route.push(to);
    route
}

/// One line or outline of the built-in sketch map.
pub struct Sketch {
    pub layer: &'static str,
    pub label: String,
    /// A closed ring for `outline`, a line otherwise.
    pub points: Vec<Point>,
}

/// The base map a fresh install shows: the same geometry the demo's units move on (Manhattan's
/// grid, the Paris rings and radials inside the Périphérique) and the rivers, authored here
/// rather than fetched. Rooms import their real cartography with `vigie basemap import`.
pub fn sketch() -> Vec<Sketch> {
    let mut out = Vec::new();
    let line = |layer, label: &str, points| Sketch { layer, label: label.to_string(), points };
    // Manhattan: the grid's extent, its avenues and every fifth street.
    let corners = [(NYC_A.0, NYC_S.0), (NYC_A.1, NYC_S.0), (NYC_A.1, NYC_S.1), (NYC_A.0, NYC_S.1), (NYC_A.0, NYC_S.0)];
    out.push(line("outline", "Manhattan", corners.iter().map(|&g| grid_to_point(g)).collect()));
    let mut a = NYC_A.0;
    while a <= NYC_A.1 + 1.0 {
        out.push(line("streets", "", vec![grid_to_point((a, NYC_S.0)), grid_to_point((a, NYC_S.1))]));
        a += AVENUE_SPACING_M;
    }
    let mut s = NYC_S.0;
    while s <= NYC_S.1 + 1.0 {
        out.push(line("streets", "", vec![grid_to_point((NYC_A.0, s)), grid_to_point((NYC_A.1, s))]));
        s += STREET_SPACING_M * 5.0;
    }
    out.push(line("water", "Hudson", City::NewYork.river()));
    // Paris: the Périphérique, inner rings and radial avenues.
    let ring =
        |r: f64| (0..=72).map(|i| PARIS.to_point(from_polar(r, i as f64 * std::f64::consts::TAU / 72.0))).collect();
    out.push(line("outline", "Paris", ring(1.0)));
    for r in [0.25, 0.5, 0.75] {
        out.push(line("streets", "", ring(r)));
    }
    for i in 0..16 {
        let theta = i as f64 * std::f64::consts::TAU / 16.0;
        out.push(line(
            "streets",
            "",
            vec![PARIS.to_point(from_polar(0.08, theta)), PARIS.to_point(from_polar(1.0, theta))],
        ));
    }
    out.push(line("water", "Seine", City::Paris.river()));
    out
}

/// Distance in metres in the local frame (fast; good to a few metres at city scale).
pub fn flat_distance_m(a: Point, b: Point) -> f64 {
    let frame = Frame { lon0: a.lon, lat0: a.lat };
    let (x, y) = frame.to_xy(b);
    x.hypot(y)
}

/// Moves from `a` towards `b` by `metres`; returns the new point and the bearing (degrees from north).
pub fn step_towards(a: Point, b: Point, metres: f64) -> (Point, f64) {
    let frame = Frame { lon0: a.lon, lat0: a.lat };
    let (x, y) = frame.to_xy(b);
    let d = x.hypot(y);
    let bearing = x.atan2(y).to_degrees().rem_euclid(360.0);
    if d <= metres || d == 0.0 {
        return (b, bearing);
    }
    (frame.to_point((x * metres / d, y * metres / d)), bearing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn manhattan_routes_run_along_avenues_and_streets() {
        let times_square = Point { lon: -73.9855, lat: 40.7580 };
        let union_square = Point { lon: -73.9903, lat: 40.7359 };
        let route = City::NewYork.route(times_square, union_square);
        assert_eq!(route.last(), Some(&union_square));
        // The middle leg runs along one avenue: its cross-town coordinate does not change.
        let (a1, _) = point_to_grid(route[0]);
        let (a2, _) = point_to_grid(route[1]);
        assert!((a1 - a2).abs() < 1e-6);
        let (a, _) = point_to_grid(times_square);
        assert!((a1 - a).abs() <= AVENUE_SPACING_M / 2.0 + 1e-6, "starts at the nearest avenue");
    }

    #[test]
    fn paris_routes_stay_inside_the_city() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let (a, b) = (City::Paris.random_point(&mut rng), City::Paris.random_point(&mut rng));
            for p in City::Paris.route(a, b) {
                let (r, _) = to_polar(PARIS.to_xy(p));
                assert!(r <= 1.0, "{p:?} is outside the Périphérique");
            }
        }
    }

    #[test]
    fn stepping_moves_the_requested_distance_and_stops_at_the_target() {
        let a = Point { lon: 2.35, lat: 48.85 };
        let b = Point { lon: 2.36, lat: 48.85 };
        let (p, bearing) = step_towards(a, b, 100.0);
        assert!((flat_distance_m(a, p) - 100.0).abs() < 0.5);
        assert!((bearing - 90.0).abs() < 0.5, "due east");
        assert_eq!(step_towards(a, b, 10_000.0).0, b);
    }
}
