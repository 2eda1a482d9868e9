//! How the log records who acted: `login@AGENCY/role` for a person or an integration's token (the
//! role that gave the command its right), a plain name for one of the room's own services.

use crate::AgencyCode;

/// The actor of a principal acting in `role`.
pub fn actor(login: &str, agency: &AgencyCode, role: &str) -> String {
    format!("{login}@{agency}/{role}")
}

/// The login of an actor (a service's name as is): the same person in another of their roles is
/// the same person.
pub fn login_of(actor: &str) -> &str {
    actor.split_once('@').map_or(actor, |(login, _)| login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_names_the_login_agency_and_role_and_reads_back_its_login() {
        let pp = AgencyCode::parse("PP").unwrap();
        assert_eq!(actor("pp.dispatcher", &pp, "dispatcher"), "pp.dispatcher@PP/dispatcher");
        assert_eq!(login_of("pp.dispatcher@PP/commander"), "pp.dispatcher");
        assert_eq!(login_of("exercise-director"), "exercise-director");
    }
}
