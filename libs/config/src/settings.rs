use crate::{ConfigError, Secret, mask_url_password};
use serde::{Deserialize, Serialize, Serializer};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Every setting of a Hearth instance. Each section documents its keys; the environment
/// variable for a key is `HEARTH__` + the dotted path in upper case with `__` between parts,
/// e.g. `database.url` → `HEARTH__DATABASE__URL`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The county this instance serves. One instance serves one county.
    pub county: CountySettings,
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Where embedded data lives: SQLite files, the embedded bus, development keys.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub bus: BusSettings,
    pub outbox: OutboxSettings,
    pub auth: AuthSettings,
    pub privacy: PrivacySettings,
    pub audit: AuditSettings,
    pub telemetry: TelemetrySettings,
    /// How long Ctrl-C / SIGTERM waits for in-flight calls and the outbox flush.
    pub shutdown_grace_seconds: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            county: CountySettings::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("hearth-data"),
            database: DatabaseSettings::default(),
            bus: BusSettings::default(),
            outbox: OutboxSettings::default(),
            auth: AuthSettings::default(),
            privacy: PrivacySettings::default(),
            audit: AuditSettings::default(),
            telemetry: TelemetrySettings::default(),
            shutdown_grace_seconds: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CountySettings {
    /// Lower-case slug: `dalarna`, `jonkoping`. Names streams, subjects and databases.
    pub slug: String,
    /// Two-digit SCB county code: `20` for Dalarna. Unset: the county file's. Set, it must
    /// agree with the county file.
    pub scb_code: Option<String>,
    /// Display name. Unset: the county file's. Set, it must agree with the county file.
    pub name: Option<String>,
    /// The county file: member municipalities, districts, sub-regions, fee levels (see
    /// `counties/dalarna.toml`). Unset means the built-in file of the slug (Dalarna, Jönköping).
    pub file: Option<PathBuf>,
}

impl Default for CountySettings {
    fn default() -> Self {
        Self {
            slug: "dalarna".to_owned(),
            // The county file of the slug says them: `HEARTH__COUNTY__SLUG=jonkoping` alone is
            // Jönköping, county 06.
            scb_code: None,
            name: None,
            file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` for production (one database per county; each service uses its own
    /// schema in it). Unset: embedded SQLite, one file per service under `data_dir/db/`.
    #[serde(serialize_with = "serialize_masked_url")]
    pub url: Option<String>,
    /// Pool size per service (PostgreSQL). SQLite always uses one connection per file, since
    /// SQLite serialises writes anyway (docs/design.md#pitfalls).
    pub max_connections: u32,
    pub connect_timeout_seconds: u64,
    /// Run migrations when a service starts. Unset: yes on SQLite, no on PostgreSQL (there,
    /// `hearth migrate` runs them, as a Kubernetes job before the rollout).
    pub migrate_on_start: Option<bool>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 10,
            connect_timeout_seconds: 10,
            migrate_on_start: None,
        }
    }
}

impl DatabaseSettings {
    pub fn is_embedded(&self) -> bool {
        self.url.is_none()
    }

    pub fn migrate_on_start(&self) -> bool {
        self.migrate_on_start.unwrap_or(self.is_embedded())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// `nats://host:4222` for NATS JetStream. Unset: the embedded bus (a durable log in
    /// `data_dir/bus.sqlite3`), which only works when all services run in one process.
    pub nats_url: Option<String>,
    /// A NATS credentials file (`.creds`) for the county's NATS user.
    pub credentials_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<Secret<String>>,
    pub token: Option<Secret<String>>,
    /// How long events stay in the stream (and dead letters in theirs): the replay window.
    pub replay_window_days: u32,
    /// How long a delivered event may go unacknowledged before it is delivered again.
    pub ack_wait_seconds: u64,
    /// Deliveries of one event before it goes to the dead letters.
    pub max_attempts: u32,
    /// Back-off after a failed delivery: doubles from the initial value up to the maximum.
    pub retry_initial_millis: u64,
    pub retry_max_millis: u64,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self {
            nats_url: None,
            credentials_file: None,
            user: None,
            password: None,
            token: None,
            replay_window_days: 30,
            ack_wait_seconds: 30,
            max_attempts: 5,
            retry_initial_millis: 500,
            retry_max_millis: 60_000,
        }
    }
}

impl BusSettings {
    pub fn is_embedded(&self) -> bool {
        self.nats_url.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Sent outbox rows are kept this long so that `hearth replay` can publish them again.
    pub retention_days: u32,
    /// Rows a relay publishes per round.
    pub batch_size: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            retention_days: 30,
            batch_size: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Required `iss` of every token: the county's identity provider.
    pub issuer: String,
    /// Required `aud` of every token.
    pub audience: String,
    /// Public keys (ES256, PEM) that tokens may be signed with, by `kid`.
    pub trusted_keys: Vec<TrustedKey>,
    /// Also trust the development key in `data_dir` (generated on first use). `hearth serve`
    /// turns this on; the standalone service binaries refuse it unless set explicitly.
    pub allow_development_key: bool,
    /// Lifetime of tokens minted by `hearth token`.
    pub development_token_minutes: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "hearth-development".to_owned(),
            audience: "hearth".to_owned(),
            trusted_keys: Vec::new(),
            allow_development_key: false,
            development_token_minutes: 8 * 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// The `kid` header of tokens signed with this key; unset matches tokens without a `kid`.
    pub kid: Option<String>,
    pub public_key_file: PathBuf,
}

/// The county's data keys: personal data is encrypted with them at rest and in events, and
/// looked up through a keyed "blind index". Losing them loses the data: back them up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacySettings {
    /// Versioned AES-256 keys, `[{id, key}]` with `key` 32 bytes in base64. Older keys stay
    /// listed so that data sealed with them can still be opened.
    pub data_keys: Vec<DataKeySetting>,
    /// The id of the key new data is sealed with.
    pub current_data_key: Option<String>,
    /// The HMAC key of the blind index (32 bytes, base64).
    pub blind_index_key: Option<Secret<String>>,
    /// Generate and use development keys in `data_dir/keys` when none are configured.
    /// `hearth serve` turns this on; the standalone binaries refuse it unless set explicitly.
    pub allow_development_keys: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataKeySetting {
    pub id: String,
    pub key: Secret<String>,
}

impl PrivacySettings {
    pub fn has_configured_keys(&self) -> bool {
        !self.data_keys.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// How long records of who read personal data are kept.
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 730,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum LogFormat {
    /// Human-readable on a terminal, JSON otherwise.
    #[default]
    Auto,
    Pretty,
    Json,
}

impl LogFormat {
    /// Every value, as written in settings.
    pub const NAMES: [&'static str; 3] = ["auto", "pretty", "json"];
}

/// From a string, so that a wrong value is told what the key takes (the `config` crate's own
/// enum error names the Rust type).
impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(format!("expected one of {}", Self::NAMES.join(", "))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,hearth_bus=debug`.
    pub log_filter: String,
    /// OTLP/gRPC collector, e.g. `http://otel-collector:4317`. Unset: no trace export.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces to sample (head sampling), 0.0 to 1.0.
    pub sample_ratio: f64,
    /// Address of the Prometheus scrape endpoint (`GET /metrics`), a plain HTTP port beside
    /// gRPC. `0.0.0.0:9464` in a pod; unset: no endpoint (metrics still go to `otlp_endpoint`).
    pub metrics_listen: Option<SocketAddr>,
    /// Trace each database statement inside a call or event as a span of its own (with its SQL,
    /// never its values). Measured on intake at full load: about 0.14 ms of CPU per
    /// registration, 12 % of its throughput (bench/README.md); turn off if CPU-bound.
    pub database_spans: bool,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Auto,
            // sea-orm-migration logs every step at info (Hearth logs one line per service), and
            // async-nats every reconnect attempt (hearth-bus reports connection changes).
            log_filter: "info,sea_orm_migration=warn,async_nats=warn".to_owned(),
            otlp_endpoint: None,
            sample_ratio: 1.0,
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
            database_spans: true,
        }
    }
}

fn serialize_masked_url<S: Serializer>(
    url: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => serializer.serialize_some(&mask_url_password(url)),
        None => serializer.serialize_none(),
    }
}

impl Settings {
    /// Checks that serde cannot express. Each error names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(error) = hearth_domain::CountySlug::parse(&self.county.slug) {
            return Err(ConfigError::invalid(
                "county.slug",
                format!("{error}, e.g. `dalarna` (got `{}`)", self.county.slug),
            ));
        }
        if let Some(code) = &self.county.scb_code
            && let Err(error) = hearth_domain::CountyCode::parse(code)
        {
            return Err(ConfigError::invalid(
                "county.scb_code",
                format!(
                    "{error}, e.g. `20` for Dalarna, or unset for the county file's (got `{code}`)"
                ),
            ));
        }
        // The same parse as the telemetry's (an empty filter means `info` there).
        if !self.telemetry.log_filter.trim().is_empty()
            && let Err(error) =
                tracing_subscriber::EnvFilter::builder().parse(&self.telemetry.log_filter)
        {
            return Err(ConfigError::invalid(
                "telemetry.log_filter",
                format!(
                    "`{}` is not a log filter ({error}): expected comma-separated directives \
                     such as `info` or `info,hearth_bus=debug` (LEVEL, TARGET=LEVEL; levels \
                     error, warn, info, debug, trace, off)",
                    self.telemetry.log_filter
                ),
            ));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "database.url",
                format!(
                    "must be a postgres:// URL, or unset for embedded SQLite (got `{}`)",
                    mask_url_password(url)
                ),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::invalid(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if let Some(url) = &self.bus.nats_url
            && !["nats://", "tls://", "ws://", "wss://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        {
            return Err(ConfigError::invalid(
                "bus.nats_url",
                format!(
                    "must be a nats:// or tls:// URL, or unset for the embedded bus (got `{}`)",
                    mask_url_password(url)
                ),
            ));
        }
        if self.bus.max_attempts == 0 {
            return Err(ConfigError::invalid(
                "bus.max_attempts",
                "must be at least 1",
            ));
        }
        if self.bus.replay_window_days == 0 {
            return Err(ConfigError::invalid(
                "bus.replay_window_days",
                "must be at least 1",
            ));
        }
        if self.bus.retry_initial_millis > self.bus.retry_max_millis {
            return Err(ConfigError::invalid(
                "bus.retry_initial_millis",
                "must not exceed bus.retry_max_millis",
            ));
        }
        if self.auth.issuer.trim().is_empty() {
            return Err(ConfigError::invalid("auth.issuer", "must not be empty"));
        }
        if self.auth.audience.trim().is_empty() {
            return Err(ConfigError::invalid("auth.audience", "must not be empty"));
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            return Err(ConfigError::invalid(
                "telemetry.sample_ratio",
                format!(
                    "must be between 0.0 and 1.0 (got {})",
                    self.telemetry.sample_ratio
                ),
            ));
        }
        if let Some(endpoint) = &self.telemetry.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(ConfigError::invalid(
                "telemetry.otlp_endpoint",
                format!("must be an http:// or https:// URL (got `{endpoint}`)"),
            ));
        }
        if self.privacy.has_configured_keys() {
            let Some(current) = &self.privacy.current_data_key else {
                return Err(ConfigError::invalid(
                    "privacy.current_data_key",
                    "must name one of privacy.data_keys when data keys are configured",
                ));
            };
            if !self.privacy.data_keys.iter().any(|key| &key.id == current) {
                return Err(ConfigError::invalid(
                    "privacy.current_data_key",
                    format!("`{current}` is not the id of any key in privacy.data_keys"),
                ));
            }
            if self.privacy.blind_index_key.is_none() {
                return Err(ConfigError::invalid(
                    "privacy.blind_index_key",
                    "is required when data keys are configured",
                ));
            }
        }
        if self.audit.retention_days == 0 {
            return Err(ConfigError::invalid(
                "audit.retention_days",
                "must be at least 1",
            ));
        }
        if self.outbox.batch_size == 0 {
            return Err(ConfigError::invalid(
                "outbox.batch_size",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The settings as TOML with every secret masked: what `hearth config` prints.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|error| format!("# cannot render settings: {error}\n"))
    }

    /// Checks for a standalone service binary, which runs beside the others in production:
    /// it needs the shared database and NATS, and refuses the development key unless told.
    pub fn validate_standalone(&self) -> Result<(), ConfigError> {
        if self.database.url.is_none() {
            return Err(ConfigError::invalid(
                "database.url",
                "a standalone service needs PostgreSQL (set HEARTH__DATABASE__URL); use `hearth serve` for the embedded mode",
            ));
        }
        if self.bus.nats_url.is_none() {
            return Err(ConfigError::invalid(
                "bus.nats_url",
                "a standalone service needs NATS (set HEARTH__BUS__NATS_URL); the embedded bus only works inside `hearth serve`",
            ));
        }
        if !self.privacy.has_configured_keys() && !self.privacy.allow_development_keys {
            return Err(ConfigError::invalid(
                "privacy.data_keys",
                "no data keys are configured; mount the county's keys from a Secret (privacy.allow_development_keys is for development only)",
            ));
        }
        if self.auth.trusted_keys.is_empty() && !self.auth.allow_development_key {
            return Err(ConfigError::invalid(
                "auth.trusted_keys",
                "no token signing keys are trusted; configure the identity provider's keys (auth.allow_development_key is for development only)",
            ));
        }
        Ok(())
    }
}
