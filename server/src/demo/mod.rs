//! `vigie demo`: a live, seeded joint exercise in Paris and New York. It drives the real
//! sequencer with the same commands an AVL gateway, dispatchers and unit terminals would send,
//! so everything the room shows goes through the log like real traffic.

pub mod city;
mod fleet;
mod sim;

use std::time::Duration;
use tokio::task::JoinHandle;

use crate::AppState;

#[derive(Clone, Debug, clap::Args)]
pub struct DemoOptions {
    /// Seed of the scenario: the same seed on an empty log plays the same exercise.
    #[arg(long, env = "VIGIE_DEMO_SEED", default_value_t = 2026)]
    pub seed: u64,
    /// Length of one simulation step.
    #[arg(long, env = "VIGIE_DEMO_TICK_MS", default_value_t = 1_000)]
    pub tick_ms: u64,
    /// Steps between two position reports of the same unit.
    #[arg(long, env = "VIGIE_DEMO_REPORT_EVERY", default_value_t = 2)]
    pub report_every: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { seed: 2026, tick_ms: 1_000, report_every: 2 }
    }
}

/// The demo's accounts ([`fleet::ACCOUNTS`], password `demo`), created where missing. A demo
/// password is far below the policy a real room's accounts meet (`vigie user add` enforces it):
/// these accounts exist only in `vigie demo`, whose sign-in page offers them for one click.
pub async fn ensure_accounts(store: &crate::store::Store, now_ms: i64) -> anyhow::Result<()> {
    let mut hash = None;
    for (login, agency, roles) in fleet::ACCOUNTS {
        if store.user(login).await?.is_some() {
            continue;
        }
        let hash = match &hash {
            Some(h) => h,
            None => hash.insert(crate::identity::password::hash("demo")?),
        };
        let user = crate::identity::users::User {
            login: (*login).into(),
            display_name: (*login).into(),
            agency: vigie_domain::AgencyCode::parse(agency)?,
            roles: roles.iter().copied().collect(),
            disabled: false,
            created_at_ms: now_ms,
        };
        store.add_user(&user, hash).await?;
    }
    Ok(())
}

/// Where `vigie demo` listens for TAK clients unless `VIGIE_COT_ADDR` says otherwise.
pub const COT_ADDR: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8087);

/// Who the demo's TAK clients act as: the partner agency's gateway account ([`fleet::COT_GATEWAY`],
/// a BKA dispatcher), with the scopes a CoT client has.
pub fn cot_identity(
) -> anyhow::Result<(vigie_domain::authority::Principal, std::collections::BTreeSet<vigie_domain::authority::Scope>)> {
    let (login, agency, roles) =
        fleet::ACCOUNTS.iter().find(|(login, ..)| *login == fleet::COT_GATEWAY).expect("the gateway account is listed");
    let principal = vigie_domain::authority::Principal {
        user: (*login).into(),
        agency: vigie_domain::AgencyCode::parse(agency)?,
        roles: roles.iter().copied().collect(),
    };
    Ok((principal, crate::cot::listen::COT_SCOPES.into_iter().collect()))
}

/// Starts the exercise in the background on a running server.
pub fn spawn(state: AppState, options: DemoOptions) -> JoinHandle<()> {
    tokio::spawn(async move {
        let tick = Duration::from_millis(options.tick_ms.max(10));
        let mut sim = match sim::Sim::set_up(state, options).await {
            Ok(sim) => sim,
            Err(e) => {
                tracing::error!(error = %e, "the demo could not be set up");
                return;
            }
        };
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            sim.step().await;
        }
    })
}

pub use sim::Sim;
