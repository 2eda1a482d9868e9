//! Run-time configuration, from flags or `VIGIE_*` environment variables (see the README).

use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The log's name in its key and checkpoints unless `VIGIE_LOG_NAME` says otherwise.
pub const DEFAULT_LOG_NAME: &str = "vigie.room";

/// `VIGIE_SNAPSHOT_EVERY`'s default, also used by tools that write a log (the replay benchmark).
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 200_000;

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Set by `vigie demo`: the sign-in page offers the demo's accounts for one click.
    #[arg(skip)]
    pub demo: bool,

    /// A PEM certificate chain: with `VIGIE_TLS_KEY`, Vigie serves HTTPS and WSS itself.
    #[arg(long, env = "VIGIE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `VIGIE_TLS_CERT`.
    #[arg(long, env = "VIGIE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// The log's Ed25519 signing key, created at first start if missing (default: beside the
    /// database, `<name>-audit.key`). Never inside the database; keep it as a secret.
    #[arg(long, env = "VIGIE_AUDIT_KEY")]
    pub audit_key: Option<PathBuf>,

    /// The log's name in its key and checkpoints (no spaces or '+'), e.g. `vigie.paris.pp`.
    #[arg(long, env = "VIGIE_LOG_NAME", default_value = DEFAULT_LOG_NAME)]
    pub log_name: String,

    /// Purge the fixes of position reports older than this many days (the tree still verifies).
    #[arg(long, env = "VIGIE_RETAIN_POSITIONS_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retain_positions_days: Option<u32>,

    /// Purge the bodies of messages older than this many days (the tree still verifies).
    #[arg(long, env = "VIGIE_RETAIN_MESSAGES_DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retain_messages_days: Option<u32>,

    /// Cursor-on-Target over plain TCP (TAK's 8087), e.g. `0.0.0.0:8087`: TAK clients connect and
    /// act as the principal of `VIGIE_COT_TOKEN` (the plain protocol has no handshake; keep it on a
    /// trusted network). Off unless set; `vigie demo` listens on 127.0.0.1:8087.
    #[arg(long, env = "VIGIE_COT_ADDR")]
    pub cot_addr: Option<SocketAddr>,

    /// The API token whose account's agency and roles, and whose scopes, the plain CoT listener's
    /// clients and the upstream link act with.
    #[arg(long, env = "VIGIE_COT_TOKEN", hide_env_values = true)]
    pub cot_token: Option<String>,

    /// Cursor-on-Target over TLS with client certificates (TAK's 8089): each client acts as the
    /// account its certificate's common name names.
    #[arg(long, env = "VIGIE_COT_TLS_ADDR", requires_all = ["cot_tls_cert", "cot_tls_key", "cot_tls_client_ca"])]
    pub cot_tls_addr: Option<SocketAddr>,

    /// The CoT TLS listener's PEM certificate chain.
    #[arg(long, env = "VIGIE_COT_TLS_CERT")]
    pub cot_tls_cert: Option<PathBuf>,

    /// The CoT TLS listener's PEM private key.
    #[arg(long, env = "VIGIE_COT_TLS_KEY")]
    pub cot_tls_key: Option<PathBuf>,

    /// The PEM CA whose client certificates the CoT TLS listener accepts.
    #[arg(long, env = "VIGIE_COT_TLS_CLIENT_CA")]
    pub cot_tls_client_ca: Option<PathBuf>,

    /// A partner's TAK server (`host:port`, plain CoT) Vigie connects to as `VIGIE_COT_TOKEN`'s
    /// principal: it receives the partner's picture and shares the room's own units and incidents.
    #[arg(long, env = "VIGIE_COT_UPSTREAM")]
    pub cot_upstream: Option<String>,

    /// CAP 1.2 feeds (Atom or RSS, comma-separated URLs on the room's network) whose alerts come
    /// into the room by themselves.
    #[arg(long, env = "VIGIE_CAP_FEEDS", value_delimiter = ',')]
    pub cap_feeds: Vec<String>,

    /// How often the CAP feeds are read, in seconds.
    #[arg(long, env = "VIGIE_CAP_POLL_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    pub cap_poll_s: u64,

    /// With it, the upstream link is TLS, and the partner's server must present a certificate
    /// from this PEM CA (TAK servers' 8089).
    #[arg(long, env = "VIGIE_COT_UPSTREAM_CA")]
    pub cot_upstream_ca: Option<PathBuf>,

    /// Vigie's client certificate (PEM) on a TLS upstream link, where the partner asks for one.
    #[arg(long, env = "VIGIE_COT_UPSTREAM_CERT")]
    pub cot_upstream_cert: Option<PathBuf>,

    /// The private key (PEM) of `VIGIE_COT_UPSTREAM_CERT`.
    #[arg(long, env = "VIGIE_COT_UPSTREAM_KEY")]
    pub cot_upstream_key: Option<PathBuf>,

    /// Most CoT connections at once, both listeners together; past it a connection is closed.
    #[arg(long, env = "VIGIE_COT_MAX_CLIENTS", default_value_t = 5_000)]
    pub cot_max_clients: usize,

    /// Most events a second sent to one CoT connection (what waits is sent next, newest then):
    /// each client costs the room a bounded rate however many units move.
    #[arg(long, env = "VIGIE_COT_EGRESS_PER_SECOND", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub cot_egress_per_second: u32,

    /// The principal CoT clients act as when no token is given (the demo's partner agency).
    #[arg(skip)]
    pub cot_identity:
        Option<(vigie_domain::authority::Principal, std::collections::BTreeSet<vigie_domain::authority::Scope>)>,

    /// Address to listen on.
    #[arg(long, env = "VIGIE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,

    /// Where the log lives: `sqlite://PATH` (created if missing).
    #[arg(long, env = "VIGIE_DATABASE_URL", default_value = "sqlite://data/vigie.db")]
    pub database_url: String,

    /// Folder with the compiled site (`pkg/` with wasm, JS and CSS, and the public assets).
    #[arg(long, env = "VIGIE_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// A unit with no report for this many seconds is shown as stale.
    #[arg(long, env = "VIGIE_STALE_AFTER_S", default_value_t = 60)]
    pub stale_after_s: u64,

    /// The room's address as its users type it (`https://vigie.example:8443`): its host is
    /// answered and its origin may use the API, besides loopback and the listen address.
    #[arg(long, env = "VIGIE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// More names the room answers to (`host` on any port, or `host:port`), comma-separated.
    /// Requests naming any other host are refused (DNS rebinding).
    #[arg(long, env = "VIGIE_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Origins (scheme://host:port) allowed to open the stream and send commands besides the
    /// room's own names.
    #[arg(long, env = "VIGIE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Most open connections; past it a connection is answered 503 and closed.
    #[arg(long, env = "VIGIE_MAX_CONNECTIONS", default_value_t = 4_096)]
    pub max_connections: usize,

    /// Most open connections from one client address (an IPv6 /64 counts as one).
    #[arg(long, env = "VIGIE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256)]
    pub max_connections_per_address: usize,

    /// A connection must send a whole request head within this many ms (also the most a kept-alive
    /// connection may sit idle between requests).
    #[arg(long, env = "VIGIE_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// A request's body and handling must finish within this many ms (408 otherwise); scenario
    /// uploads have ten minutes.
    #[arg(long, env = "VIGIE_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// A connection on which no byte moves either way for this many ms is closed.
    #[arg(long, env = "VIGIE_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,

    /// On stop, connections still open after this many ms are dropped (the log is closed cleanly
    /// either way).
    #[arg(long, env = "VIGIE_SHUTDOWN_GRACE_MS", default_value_t = 5_000)]
    pub shutdown_grace_ms: u64,

    /// Most concurrent stream clients; further upgrades get 503.
    #[arg(long, env = "VIGIE_MAX_STREAM_CLIENTS", default_value_t = 2_000)]
    pub max_stream_clients: usize,

    /// Most concurrent stream clients from one client address.
    #[arg(long, env = "VIGIE_MAX_STREAMS_PER_ADDRESS", default_value_t = 128)]
    pub max_streams_per_address: usize,

    /// Bytes queued for one stream client before it is resynced from the log. With the socket's
    /// own buffers this bounds a client's memory; see the README for the total.
    #[arg(long, env = "VIGIE_OUTBOX_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub outbox_bytes: usize,

    /// Bytes of command bodies (position batches included) being received or waiting for the
    /// writer at once; past it a command waits up to 2 s, then gets 503 with Retry-After.
    #[arg(long, env = "VIGIE_INTAKE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub intake_bytes: usize,

    /// A stream client that does not take a write within this many milliseconds is disconnected.
    #[arg(long, env = "VIGIE_WRITE_TIMEOUT_MS", default_value_t = 10_000)]
    pub write_timeout_ms: u64,

    /// Idle stream clients get a heartbeat this often.
    #[arg(long, env = "VIGIE_HEARTBEAT_MS", default_value_t = 15_000)]
    pub heartbeat_ms: u64,

    /// A client resuming further back than this many events gets a snapshot instead of the tail.
    #[arg(long, env = "VIGIE_MAX_CATCH_UP", default_value_t = 50_000)]
    pub max_catch_up_events: u64,

    /// A snapshot of the state is stored every this many events, a position batch counting one
    /// per fix: replay's seeks fold at most this much after the nearest snapshot.
    #[arg(long, env = "VIGIE_SNAPSHOT_EVERY", default_value_t = DEFAULT_SNAPSHOT_EVERY)]
    pub snapshot_every_events: u64,
}

impl Config {
    /// Defaults for a server on `addr` with the log at `database_url` (used by tests and tools).
    pub fn new(addr: SocketAddr, database_url: impl Into<String>) -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            config: Config,
        }
        let mut config = Defaults::parse_from(["vigie"]).config;
        config.addr = addr;
        config.database_url = database_url.into();
        config
    }

    pub fn stale_after_ms(&self) -> i64 {
        self.stale_after_s as i64 * 1000
    }

    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
}
