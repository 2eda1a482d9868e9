//! Vigie's server: the room's log behind an HTTP API and a WebSocket stream, plus the Leptos UI.
//!
//! Layout:
//! - [`sequencer`]: the single writer — decides commands, group-commits events, publishes them.
//! - [`store`]: the durable log (sqlx; SQLite by default) with compact position batches.
//! - [`stream`]: the stream engine, one for the live room and every replay session — a projection
//!   with its subscribers' audiences, a bounded outbox per client, and the socket loop.
//! - [`hub`]: the live room — the stream engine's projection of the log, and the typed feed of
//!   committed batches for in-process reactors.
//! - [`listener`]: the TCP front door — connection caps (total and per address), timers, a
//!   bounded graceful stop.
//! - [`http`]: the HTTP boundary — the error type, extractors, and what every request passes first
//!   (the room's own host names, no cross-site writes, a deadline, security headers).
//! - [`api`]: the HTTP API by feature (the live stream's endpoint included).
//! - [`replay`]: replay sessions (clock, pins, followers), past moments, scenario files.
//! - [`identity`]: accounts (argon2id) and the principals they sign in as; `vigie user`.
//! - [`jobs`]: long work (export, import) with progress.
//! - [`alerts`]: CAP feeds polled into the room, and `vigie cap import`.
//! - [`cot`]: Cursor-on-Target — TAK clients, and a partner's TAK server, in the room.
//! - [`search`]: the one search's index (SQLite FTS5 beside the log, kept from the hub's feed;
//!   the gazetteer of the base map's places); need-to-know is applied to each hit when asked.
//! - [`demo`]: the seeded joint Paris / New York exercise behind `vigie demo`.
//! - [`clock`], [`config`], [`token`]: injected time, run-time settings, random tokens.
//!
//! `main.rs` is a thin CLI over [`start`], so tests run the real server on port 0.

pub mod alerts;
pub mod api;
pub mod audit;
pub mod basemap;
pub mod clock;
pub mod config;
pub mod cot;
pub mod demo;
pub mod http;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod listener;
pub mod replay;
pub mod search;
pub mod sequencer;
pub mod store;
pub mod stream;
pub mod tls;
pub mod token;

use anyhow::Context;
use axum::extract::FromRef;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use vigie_domain::api::ErrorCode;
use vigie_domain::authority::Principal;
use vigie_domain::visibility::{view, Viewer};

use clock::Clock;
use config::Config;
use hub::Hub;
use sequencer::Sequencer;
use store::Store;

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub store: Store,
    pub hub: Arc<Hub>,
    pub sequencer: Sequencer,
    pub replays: Arc<replay::Replays>,
    pub jobs: Arc<jobs::Jobs>,
    /// One scenario import at a time (each is a large write and a blocking thread).
    pub importing: Arc<Semaphore>,
    /// Exports running at once (each reads the log and compresses on a blocking thread).
    pub exporting: Arc<Semaphore>,
    /// One slot per stream client, in all and per client address, so their number (and so
    /// memory) is bounded and one host cannot take them all.
    pub streams: Arc<listener::Slots>,
    /// Bytes of command bodies in flight (see `api::intake`), in all and per client address.
    pub intake: Arc<Semaphore>,
    pub intake_by_address: Arc<listener::Slots>,
    /// The room's own names and origins.
    pub origins: http::guard::Origins,
    /// Failed sign-ins, per login and per address, to slow guessing down.
    pub sign_ins: Arc<identity::throttle::Throttle>,
    /// The credentials of open streams, so a stream closes when its session or token ends.
    pub access: Arc<identity::watch::Watch>,
    /// Turns true when the server stops; long-lived tasks watch it.
    pub shutdown: watch::Receiver<bool>,
    /// The record for oversight: the log's key and the auditors' services.
    pub audit: Arc<audit::Audit>,
    /// What the CoT gateway did (all zero when CoT is off).
    pub cot_counters: Arc<cot::gateway::Counters>,
    /// The one search's index (`search`).
    pub search: Arc<search::Index>,
    /// CAP geocodes drawn with the room's layers.
    pub geocoder: basemap::geocodes::Geocoder,
    pub leptos_options: LeptosOptions,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Shared {
    /// How long a stream client may take to read, and when a quiet stream sends a heartbeat.
    pub fn stream_timing(&self) -> stream::Timing {
        let clock = self.clock.clone();
        stream::Timing {
            write_timeout: self.config.write_timeout(),
            heartbeat: self.config.heartbeat(),
            now_ms: Arc::new(move || clock.now_ms()),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: API, stream, UI and static files.
pub fn app(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let routes = ui_routes();
    let room = room_source(&state);
    let replay = replay_source(&state);
    Router::new()
        .merge(api::routes(&state).into_router())
        .route("/api/v1/{*rest}", axum::routing::any(api_not_found))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(room.clone());
                provide_context(replay.clone());
            },
            {
                let options = options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn(http::access::pages))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::access::authenticate))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::guard::guard))
        .with_state(state)
}

/// The UI's routes, generated once per process. Generating them runs the app with every resource
/// suppressed process-wide (leptos_router's `SuppressResourceLoad` is a global flag, and a resource
/// first polled while it is set waits forever): a page another server of the same process was
/// rendering then would never finish. The test suite runs many servers in one process; once, before
/// any of them serves, nothing can be rendering.
fn ui_routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

async fn api_not_found() -> http::error::ApiError {
    http::error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        ErrorCode::NoSuchEndpoint,
        "no such endpoint; see /api/v1/openapi.json",
    )
}

/// How the UI's server functions read the room on the server.
fn room_source(state: &AppState) -> app::ssr::RoomSource {
    let state = state.clone();
    app::ssr::RoomSource(Arc::new(move |principal: &Principal| {
        let now_ms = state.clock.now_ms();
        let viewer = principal.viewer();
        let (room, recent) = state.hub.read_with_recent(|s, recent| {
            // The latest events the page shows, as this viewer may read them (folded from the room
            // before them: `recent` ends at the room's head).
            let recent = match &viewer {
                Viewer::Room => recent.to_vec(),
                viewer => recent_for(s, viewer, recent),
            };
            (view(s, &viewer), recent)
        });
        app::live::InitialRoom {
            me: Some(principal.clone()),
            state: room,
            recent,
            now_ms,
            stale_after_ms: state.config.stale_after_ms(),
            lang: Default::default(),
            replay: None,
        }
    }))
}

/// How the replay page's server function reads a session's room: at its clock's moment.
fn replay_source(state: &AppState) -> app::ssr::ReplaySource {
    let state = state.clone();
    app::ssr::ReplaySource(Arc::new(move |id: String, principal: Principal| {
        let state = state.clone();
        Box::pin(async move {
            let session = state.replays.get(&id).ok_or_else(|| format!("no replay session {id}"))?;
            let info = session.info();
            let at_ms = info.clock.at(state.clock.now_ms());
            let room =
                replay::seek::state_at(&state.store, session.log, at_ms, None, |_, _| {}).await.map_err(|e| {
                    tracing::error!(error = %format!("{e:#}"), session = %id, "materialising a replay page");
                    "the log could not be read; the server's log says why".to_owned()
                })?;
            // The session shows its trainer's picture.
            let room = view(&room, &info.viewer());
            Ok(app::live::InitialRoom {
                me: Some(principal),
                state: room,
                recent: Vec::new(),
                now_ms: at_ms,
                stale_after_ms: state.config.stale_after_ms(),
                lang: Default::default(),
                replay: Some(info),
            })
        })
    }))
}

/// The latest events as `viewer` may read them, judged on the room as it is
/// ([`vigie_domain::visibility::readable_now`]): a short list for a page's first paint.
fn recent_for(
    room: &vigie_domain::State,
    viewer: &Viewer,
    recent: &[vigie_domain::LoggedEvent],
) -> Vec<vigie_domain::LoggedEvent> {
    recent.iter().filter(|e| vigie_domain::visibility::readable_now(room, viewer, &e.event)).cloned().collect()
}

/// A running server. Dropping it does not stop it; call [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    http: JoinHandle<()>,
    sequencer: JoinHandle<()>,
    checkpoints: JoinHandle<()>,
    search: JoinHandle<()>,
    /// The CoT listeners and upstream link, when configured.
    pub cot: Option<cot::Running>,
}

/// Opens the log, rebuilds the room from it and starts serving on `config.addr` (port 0 picks one).
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let store = Store::open(&config.database_url).await?;
    let loaded = store.load_state().await.context("rebuilding the room from the log")?;
    let room = loaded.state;
    let recent = store.recent_events(hub::RECENT_EVENTS as i64).await?;
    store.drop_unfinished_scenarios().await.context("removing unfinished scenario imports")?;
    let replays = Arc::new(
        replay::Replays::load(&store, clock.now_ms(), config.outbox_bytes).await.context("loading replay sessions")?,
    );
    let jobs = jobs::Jobs::open(store.jobs_dir()).context("preparing the jobs' folder")?;
    let search = search::Index::open(&store).await.context("opening the search index")?;
    let key_path = config.audit_key.clone().unwrap_or_else(|| audit::default_key_path(store.path()));
    let audit = Arc::new(audit::Audit::new(
        audit::key::LogKey::load_or_create(&key_path, &config.log_name).context("the log's signing key")?,
    ));
    tracing::info!(seq = room.seq, units = room.units.len(), incidents = room.incidents.len(), "room loaded");
    let hub = Arc::new(Hub::new(room.clone(), config.outbox_bytes).with_recent(recent));
    let (stop, shutdown) = watch::channel(false);
    let (sequencer, sequencer_task) = Sequencer::start(
        store.clone(),
        hub.clone(),
        clock.clone(),
        room,
        loaded.weight_since_snapshot,
        config.snapshot_every_events,
        shutdown.clone(),
    );
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("give both VIGIE_TLS_CERT and VIGIE_TLS_KEY, or neither"),
    };
    let listener =
        tokio::net::TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    let leptos_options = LeptosOptions::builder()
        .output_name("vigie")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let state = AppState(Arc::new(Shared {
        streams: listener::Slots::new(config.max_stream_clients, config.max_streams_per_address),
        intake: Arc::new(Semaphore::new(config.intake_bytes)),
        intake_by_address: listener::Slots::new(usize::MAX, (config.intake_bytes / 4).max(api::POSITIONS_BODY_LIMIT)),
        origins: http::guard::Origins::new(&config, addr),
        sign_ins: Arc::default(),
        access: Arc::default(),
        config: config.clone(),
        clock,
        store,
        hub,
        sequencer,
        replays,
        jobs: Arc::new(jobs),
        importing: Arc::new(Semaphore::new(1)),
        exporting: Arc::new(Semaphore::new(api::replay::MAX_EXPORTS)),
        shutdown: shutdown.clone(),
        audit,
        cot_counters: Arc::default(),
        search,
        geocoder: Default::default(),
        leptos_options,
    }));
    let now_ms = {
        let clock = state.clock.clone();
        Arc::new(move || clock.now_ms())
    };
    tokio::spawn(identity::watch::run(state.access.clone(), state.store.clone(), now_ms, shutdown.clone()));
    let checkpoints = tokio::spawn(audit::checkpoint::run(
        state.store.writer.clone(),
        state.audit.key.clone(),
        state.clock.clone(),
        state.store.tree_heads(),
        shutdown.clone(),
    ));
    tokio::spawn(audit::pending::run(state.store.writer.clone(), state.sequencer.clone(), shutdown.clone()));
    tokio::spawn(audit::retention::run(state.clone(), shutdown.clone()));
    let search =
        tokio::spawn(search::follow(state.search.clone(), state.hub.clone(), state.store.clone(), shutdown.clone()));
    tokio::spawn(audit::verify::run(state.clone(), shutdown.clone()));
    if !state.config.cap_feeds.is_empty() {
        let every = std::time::Duration::from_secs(state.config.cap_poll_s);
        tokio::spawn(alerts::run(state.clone(), state.config.cap_feeds.clone(), every));
    }
    let cot = match cot::start(&state).await {
        Ok(cot) => cot,
        // The demo room opens even when its CoT port is taken (another demo, a TAK server).
        Err(e) if state.config.demo => {
            tracing::warn!(error = %format!("{e:#}"), "the demo runs without its CoT listener");
            None
        }
        Err(e) => return Err(e.context("starting Cursor-on-Target")),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let http = tokio::spawn(listener::serve(listener, tls, app(state.clone()), config, shutdown));
    tracing::info!(%addr, scheme, "Vigie is listening");
    warn_if_streams_outgrow(&state.config);
    Ok(Running { addr, state, stop, http, sequencer: sequencer_task, checkpoints, search, cot })
}

impl Running {
    /// Stops taking requests, commits what was accepted, writes a snapshot and closes the log.
    pub async fn stop(self) -> anyhow::Result<()> {
        // Positions CoT clients sent are committed before the writer stops.
        if let Some(cot) = &self.cot {
            cot.gateway.flush().await;
        }
        let _ = self.stop.send(true);
        self.http.await.context("the HTTP task panicked")?;
        self.sequencer.await.context("the sequencer panicked")?;
        self.checkpoints.await.context("the checkpoint signer panicked")?;
        self.search.await.context("the search indexer panicked")?;
        // A last checkpoint covers everything committed before the stop.
        let state = &self.state;
        if let Err(e) = audit::checkpoint::sign_head(
            &state.store.writer,
            &state.audit.key,
            state.store.tree_head(),
            state.clock.now_ms(),
        )
        .await
        {
            tracing::warn!(error = %e, "could not sign the shutdown checkpoint");
        }
        self.state.store.close().await;
        // Its files settle before the stop returns (a copy of the stopped room's folder is whole).
        self.state.search.close().await;
        Ok(())
    }

    /// Runs until Ctrl-C or SIGTERM, then stops cleanly.
    pub async fn until_signalled(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("stopping");
        self.stop().await
    }
}

/// Logs the worst-case memory of the stream clients (every one stalled with a full queue) and
/// warns when it would not fit beside the room in this machine's memory.
fn warn_if_streams_outgrow(config: &Config) {
    let per_client = config.outbox_bytes as u64 + stream::socket::MAX_SOCKET_BYTES as u64;
    let worst = config.max_stream_clients as u64 * per_client;
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kib| kib * 1024);
    tracing::info!(
        worst_case_mib = worst >> 20,
        clients = config.max_stream_clients,
        "stream clients' memory is bounded"
    );
    if total.is_some_and(|t| worst > t / 2) {
        tracing::warn!(
            worst_case_mib = worst >> 20,
            machine_mib = total.unwrap_or(0) >> 20,
            "stream clients could use over half this machine's memory: lower VIGIE_MAX_STREAM_CLIENTS or VIGIE_OUTBOX_BYTES"
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
