//! The `vigie` command: a thin shim over the library.

use clap::{Parser, Subcommand};
use std::sync::Arc;

use vigie::clock::SystemClock;
use vigie::config::Config;

#[derive(Parser)]
#[command(name = "vigie", version, about = "Vigie: the shared picture of a multi-agency operations room")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the room on the configured log.
    Serve {
        #[command(flatten)]
        config: Config,
    },
    /// Serve the room with the live, seeded joint Paris / New York exercise running in it.
    Demo {
        #[command(flatten)]
        config: Config,
        #[command(flatten)]
        demo: vigie::demo::DemoOptions,
    },
    /// Manage the room's accounts.
    User {
        #[command(subcommand)]
        action: vigie::identity::cli::Action,
        #[arg(long, global = true, env = "VIGIE_DATABASE_URL", default_value = "sqlite://data/vigie.db")]
        database_url: String,
    },
    /// The record for oversight: the log's key, verification, exports, witnessing.
    Audit {
        #[command(subcommand)]
        action: vigie::audit::cli::Action,
        #[arg(long, global = true, env = "VIGIE_DATABASE_URL", default_value = "sqlite://data/vigie.db")]
        database_url: String,
        /// The log's signing key (default: beside the database, `<name>-audit.key`).
        #[arg(long, global = true, env = "VIGIE_AUDIT_KEY")]
        audit_key: Option<std::path::PathBuf>,
        /// The log's name, when its key is created.
        #[arg(long, global = true, env = "VIGIE_LOG_NAME", default_value = vigie::config::DEFAULT_LOG_NAME)]
        log_name: String,
    },
    /// CAP 1.2 alerts: bring alert files into a running room.
    Cap {
        #[command(subcommand)]
        action: vigie::alerts::cli::Action,
    },
    /// Manage the room's cartography (GeoJSON base and jurisdiction layers).
    Basemap {
        #[command(subcommand)]
        action: vigie::basemap::cli::Action,
        #[arg(long, global = true, env = "VIGIE_DATABASE_URL", default_value = "sqlite://data/vigie.db")]
        database_url: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to standard error: standard output is the commands' answer (a token, a listing), which
    // scripts capture.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let command = Cli::parse()
        .command
        .unwrap_or_else(|| Cmd::Serve { config: Cli::parse_from(["vigie", "serve"]).serve_config() });
    match command {
        Cmd::Serve { config } => {
            if !vigie::identity::cli::has_accounts(&config.database_url).await? {
                eprintln!("{}", vigie::identity::cli::FIRST_ADMIN);
                std::process::exit(2);
            }
            vigie::start(config, Arc::new(SystemClock)).await?.until_signalled().await
        }
        Cmd::Demo { mut config, demo } => {
            config.demo = true;
            // TAK devices can join the demo room at once: the plain CoT listener, on loopback,
            // acting as the partner agency's gateway account.
            config.cot_addr.get_or_insert(vigie::demo::COT_ADDR);
            if config.cot_token.is_none() {
                config.cot_identity = Some(vigie::demo::cot_identity()?);
            }
            // The accounts exist before the room answers, so its sign-in page offers them at once.
            let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
            let store = vigie::store::Store::open(&config.database_url).await?;
            vigie::demo::ensure_accounts(&store, now_ms).await?;
            store.close().await;
            let running = vigie::start(config, Arc::new(SystemClock)).await?;
            let sim = vigie::demo::spawn(running.state.clone(), demo);
            let result = running.until_signalled().await;
            sim.abort();
            result
        }
        Cmd::Audit { action, database_url, audit_key, log_name } => {
            let (said, ok) = vigie::audit::cli::run(action, &database_url, audit_key.as_deref(), &log_name).await?;
            println!("{said}");
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Cap { action } => {
            let (said, ok) = vigie::alerts::cli::run(action).await?;
            println!("{said}");
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Basemap { action, database_url } => vigie::basemap::cli::run(action, &database_url).await,
        Cmd::User { action, database_url } => {
            println!(
                "{}",
                vigie::identity::cli::run(action, &database_url, vigie::identity::cli::read_password).await?
            );
            Ok(())
        }
    }
}

impl Cli {
    fn serve_config(self) -> Config {
        match self.command {
            Some(Cmd::Serve { config }) => config,
            _ => unreachable!("parsed from `vigie serve`"),
        }
    }
}
