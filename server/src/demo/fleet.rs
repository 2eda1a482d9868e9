//! Who takes part in the demo exercise: the agencies of Paris and New York, their units, and the
//! places where things happen.

use vigie_domain::{AgencyKind, UnitKind};

use super::city::City;

pub struct AgencySpec {
    pub code: &'static str,
    pub short_name: &'static str,
    pub full_name: &'static str,
    pub kind: AgencyKind,
    pub country: &'static str,
    pub colour: &'static str,
    pub city: City,
    /// (kind, how many, callsign prefix)
    pub units: &'static [(UnitKind, usize, &'static str)],
}

use AgencyKind as A;
use City::{NewYork, Paris};
use UnitKind as U;

pub const AGENCIES: &[AgencySpec] = &[
    AgencySpec {
        code: "PP",
        short_name: "Préfecture de police",
        full_name: "Préfecture de police de Paris",
        kind: A::Police,
        country: "FR",
        colour: "#2f6bd8",
        city: Paris,
        units: &[
            (U::PatrolCar, 42, "PS"),
            (U::Motorcycle, 10, "MOTO"),
            (U::FootPatrol, 10, "PIED"),
            (U::TacticalTeam, 3, "BRI"),
            (U::CommandVehicle, 2, "PC-PP"),
            (U::Boat, 2, "FLUV"),
        ],
    },
    AgencySpec {
        code: "BSPP",
        short_name: "BSPP",
        full_name: "Brigade de sapeurs-pompiers de Paris",
        kind: A::FireRescue,
        country: "FR",
        colour: "#d7263d",
        city: Paris,
        units: &[
            (U::FireEngine, 20, "FPT"),
            (U::Ladder, 8, "EPA"),
            (U::Ambulance, 14, "VSAV"),
            (U::RescueUnit, 3, "CCH"),
            (U::CommandVehicle, 1, "PC-BSPP"),
        ],
    },
    AgencySpec {
        code: "SAMU",
        short_name: "SAMU 75",
        full_name: "SAMU de Paris",
        kind: A::Ems,
        country: "FR",
        colour: "#1fb5a5",
        city: Paris,
        units: &[(U::MedicalTeam, 18, "SMUR")],
    },
    AgencySpec {
        code: "GN",
        short_name: "Gendarmerie",
        full_name: "Gendarmerie nationale",
        kind: A::Gendarmerie,
        country: "FR",
        colour: "#5468a8",
        city: Paris,
        units: &[
            (U::PatrolCar, 12, "GD"),
            (U::Motorcycle, 4, "GD-MOTO"),
            (U::TacticalTeam, 2, "GIGN"),
            (U::Helicopter, 2, "DRAGON"),
        ],
    },
    AgencySpec {
        code: "BKA",
        short_name: "BKA liaison",
        full_name: "Bundeskriminalamt, liaison officers",
        kind: A::Liaison,
        country: "DE",
        colour: "#e0b000",
        city: Paris,
        units: &[(U::LiaisonOfficer, 3, "BKA-LO")],
    },
    AgencySpec {
        code: "FBI",
        short_name: "FBI liaison",
        full_name: "Federal Bureau of Investigation, legal attaché and liaison officers",
        kind: A::Liaison,
        country: "US",
        colour: "#5c6f82",
        city: NewYork,
        units: &[(U::LiaisonOfficer, 2, "FBI-LO")],
    },
    AgencySpec {
        code: "NYPD",
        short_name: "NYPD",
        full_name: "New York City Police Department",
        kind: A::Police,
        country: "US",
        colour: "#3d7cf5",
        city: NewYork,
        units: &[
            (U::PatrolCar, 55, "RMP"),
            (U::FootPatrol, 10, "FOOT"),
            (U::Motorcycle, 4, "HWY"),
            (U::TacticalTeam, 6, "ESU"),
            (U::Helicopter, 2, "AVN"),
            (U::Boat, 3, "HARBOR"),
            (U::CommandVehicle, 1, "TARU"),
        ],
    },
    AgencySpec {
        code: "FDNY",
        short_name: "FDNY",
        full_name: "Fire Department of the City of New York",
        kind: A::FireRescue,
        country: "US",
        colour: "#e4572e",
        city: NewYork,
        units: &[(U::FireEngine, 26, "E"), (U::Ladder, 16, "L"), (U::RescueUnit, 4, "R"), (U::Hazmat, 2, "HM")],
    },
    AgencySpec {
        code: "NYCEMS",
        short_name: "FDNY EMS",
        full_name: "FDNY Emergency Medical Services",
        kind: A::Ems,
        country: "US",
        colour: "#43aa8b",
        city: NewYork,
        units: &[(U::Ambulance, 40, "EMS")],
    },
];

/// Inter-agency channels of the exercise: (slug, name, members).
pub const CHANNELS: &[(&str, &str, &[&str])] = &[
    ("paris-joint", "Paris joint command", &["PP", "BSPP", "SAMU", "GN", "BKA"]),
    ("nyc-joint", "NYC joint command", &["NYPD", "FDNY", "NYCEMS", "FBI"]),
    ("transatlantic", "Paris / New York liaison", &["PP", "NYPD", "BKA", "FBI"]),
];

/// Units registered hidden from some agencies (callsign prefix, hidden from): the PP's BRI (its
/// intervention teams) from the foreign liaisons and New York; the NYPD's ESU from the liaisons.
pub const HIDDEN: &[(&str, &[&str])] = &[("BRI", &["BKA", "FBI", "NYPD", "FDNY", "NYCEMS"]), ("ESU", &["BKA", "FBI"])];

/// Incidents of these kinds are opened restricted to the lead agency: the city's other services see
/// them by the sharing rules between them, the city's foreign liaison when (half the time) the lead
/// shares one with it.
pub fn restricted(kind: vigie_domain::IncidentKind) -> bool {
    use vigie_domain::IncidentKind::*;
    matches!(kind, TerroristAttack | Hostage | SuspiciousPackage)
}

/// The city's services, which share their restricted incidents among themselves, and its liaison.
pub fn sharing(city: City) -> (&'static [&'static str], &'static str) {
    match city {
        Paris => (&["PP", "BSPP", "SAMU", "GN"], "BKA"),
        NewYork => (&["NYPD", "FDNY", "NYCEMS"], "FBI"),
    }
}

/// The demo's accounts (login, agency, roles), all with the password `demo`.
/// The account the demo's TAK clients act as: the German federal police's gateway, so devices
/// that join show as BKA units.
pub const COT_GATEWAY: &str = "bka.tak";

pub const ACCOUNTS: &[(&str, &str, &[vigie_domain::authority::Role])] = {
    use vigie_domain::authority::Role::*;
    &[
        ("pp.dispatcher", "PP", &[Dispatcher]),
        ("pp.commander", "PP", &[Commander]),
        ("bspp.dispatcher", "BSPP", &[Dispatcher]),
        ("samu.dispatcher", "SAMU", &[Dispatcher]),
        ("gn.dispatcher", "GN", &[Dispatcher]),
        ("nypd.dispatcher", "NYPD", &[Dispatcher]),
        ("nypd.commander", "NYPD", &[Commander]),
        ("fdny.dispatcher", "FDNY", &[Dispatcher]),
        ("nycems.dispatcher", "NYCEMS", &[Dispatcher]),
        ("bka.liaison", "BKA", &[Liaison]),
        ("fbi.liaison", "FBI", &[Liaison]),
        (COT_GATEWAY, "BKA", &[Dispatcher]),
        ("trainer", "PP", &[Trainer]),
        ("trainee", "PP", &[Trainee]),
        ("auditor", "PP", &[Auditor]),
        ("admin", "PP", &[Admin]),
    ]
};

pub struct Place {
    pub name: &'static str,
    pub lon: f64,
    pub lat: f64,
}

const fn place(name: &'static str, lon: f64, lat: f64) -> Place {
    Place { name, lon, lat }
}

pub const PARIS_PLACES: &[Place] = &[
    place("Place de la Concorde", 2.3212, 48.8656),
    place("Gare du Nord", 2.3553, 48.8809),
    place("Châtelet-Les Halles", 2.3470, 48.8620),
    place("Place de la République", 2.3631, 48.8674),
    place("Place de la Bastille", 2.3691, 48.8532),
    place("Champ de Mars", 2.2985, 48.8556),
    place("Gare Montparnasse", 2.3212, 48.8421),
    place("Gare de Lyon", 2.3731, 48.8443),
    place("Opéra Garnier", 2.3316, 48.8719),
    place("Trocadéro", 2.2877, 48.8616),
    place("Place d'Italie", 2.3556, 48.8313),
    place("Montmartre", 2.3431, 48.8867),
    place("Porte Maillot", 2.2826, 48.8780),
    place("Parc de la Villette", 2.3906, 48.8938),
    place("Place de la Nation", 2.3959, 48.8483),
    place("Hôtel de Ville", 2.3522, 48.8566),
];

pub const NYC_PLACES: &[Place] = &[
    place("Times Square", -73.9855, 40.7580),
    place("Grand Central Terminal", -73.9772, 40.7527),
    place("Penn Station", -73.9935, 40.7506),
    place("Union Square", -73.9903, 40.7359),
    place("Columbus Circle", -73.9819, 40.7681),
    place("Rockefeller Center", -73.9787, 40.7587),
    place("Bryant Park", -73.9832, 40.7536),
    place("Herald Square", -73.9880, 40.7497),
    place("United Nations HQ", -73.9680, 40.7489),
    place("Lincoln Center", -73.9832, 40.7725),
    place("The Met", -73.9632, 40.7794),
    place("Chelsea Market", -74.0061, 40.7424),
    place("Hudson Yards", -74.0020, 40.7539),
    place("Port Authority Bus Terminal", -73.9903, 40.7570),
];

pub const PARIS_HOSPITALS: &[Place] = &[
    place("Hôtel-Dieu", 2.3488, 48.8546),
    place("Pitié-Salpêtrière", 2.3650, 48.8380),
    place("Lariboisière", 2.3527, 48.8822),
    place("Hôpital européen Georges-Pompidou", 2.2735, 48.8392),
    place("Bichat", 2.3325, 48.8990),
    place("Necker", 2.3159, 48.8466),
];

pub const NYC_HOSPITALS: &[Place] = &[
    place("Bellevue", -73.9754, 40.7392),
    place("Mount Sinai West", -73.9865, 40.7699),
    place("NewYork-Presbyterian Weill Cornell", -73.9537, 40.7644),
    place("Mount Sinai", -73.9529, 40.7900),
    place("NYU Langone", -73.9740, 40.7420),
];

impl City {
    pub fn places(self) -> &'static [Place] {
        match self {
            City::Paris => PARIS_PLACES,
            City::NewYork => NYC_PLACES,
        }
    }

    pub fn hospitals(self) -> &'static [Place] {
        match self {
            City::Paris => PARIS_HOSPITALS,
            City::NewYork => NYC_HOSPITALS,
        }
    }
}

/// How fast a unit moves, patrolling and responding, in m/s.
pub fn speeds_mps(kind: UnitKind) -> (f64, f64) {
    match kind {
        U::FootPatrol => (1.3, 2.5),
        U::Helicopter => (45.0, 60.0),
        U::Boat => (5.0, 12.0),
        U::Motorcycle => (9.0, 17.0),
        U::PatrolCar | U::TacticalTeam => (8.0, 15.0),
        _ => (7.0, 13.0),
    }
}

/// Whether an available unit of this kind moves about (patrols) or waits at its station.
pub fn patrols(kind: UnitKind) -> bool {
    matches!(kind, U::PatrolCar | U::Motorcycle | U::FootPatrol | U::Ambulance | U::Helicopter | U::Boat)
}

#[cfg(test)]
pub fn total_units() -> usize {
    AGENCIES.iter().flat_map(|a| a.units.iter()).map(|(_, n, _)| n).sum()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exercise_has_at_least_300_units() {
        assert!(super::total_units() >= 300, "{}", super::total_units());
    }
}
