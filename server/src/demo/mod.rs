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
