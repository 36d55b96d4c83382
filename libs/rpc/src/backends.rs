//! Settings → backends: the database of a service, the bus, and the token verifier.
//! The one place that decides between embedded and production backends.

use hearth_auth::{DevelopmentKey, TokenVerifier, VerifierOptions};
use hearth_bus::{EventBus, InProcessBus, InProcessConfig, NatsAuth, NatsBus, NatsConfig};
use hearth_config::Settings;
use hearth_county::County;
use hearth_domain::{CountyCode, CountySlug};
use hearth_privacy::{DevelopmentKeys, Keyring, KeyringOptions};
use hearth_store::{Db, StoreTarget};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("event bus: {0}")]
    Bus(String),
    /// The I/O error is said in the message, not also a `source()`: a report says it once.
    #[error("cannot create data directory {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("auth key `{path}`: {message}")]
    Key { path: PathBuf, message: String },
    #[error("auth: {0}")]
    Auth(String),
    #[error("data keys: {0}")]
    Privacy(String),
    #[error(transparent)]
    County(#[from] hearth_county::CountyError),
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
}

pub struct Backends {
    pub county: Arc<County>,
    pub bus: Arc<dyn EventBus>,
    pub verifier: Arc<TokenVerifier>,
    pub keyring: Arc<Keyring>,
}

/// Where a service's database is, from `database.*` and `data_dir`.
pub fn store_target(settings: &Settings) -> StoreTarget {
    match &settings.database.url {
        None => StoreTarget::Sqlite {
            dir: settings.data_dir.join("db"),
        },
        Some(url) => StoreTarget::Postgres {
            url: url.clone(),
            max_connections: settings.database.max_connections,
            connect_timeout: Duration::from_secs(settings.database.connect_timeout_seconds),
        },
    }
}

pub async fn open_database(settings: &Settings, service: &str) -> Result<Db, BackendError> {
    Ok(hearth_store::connect(&store_target(settings), service).await?)
}

/// The development signing key's directory under `data_dir`.
pub fn development_key_dir(settings: &Settings) -> PathBuf {
    settings.data_dir.join("keys")
}

pub async fn open_bus(settings: &Settings) -> Result<Arc<dyn EventBus>, BackendError> {
    let replay_window = Duration::from_secs(u64::from(settings.bus.replay_window_days) * 86_400);
    let county = &settings.county.slug;
    let bus_error = |error: hearth_bus::BusError| BackendError::Bus(error.to_string());
    let bus: Arc<dyn EventBus> = match &settings.bus.nats_url {
        None => {
            // The embedded log lives in the data directory, which a command that opens only the
            // bus (`hearth dlq list` in a fresh directory) may be the first to need.
            std::fs::create_dir_all(&settings.data_dir).map_err(|source| {
                BackendError::DataDir {
                    path: settings.data_dir.clone(),
                    error: source,
                }
            })?;
            let config = InProcessConfig::file(county, settings.data_dir.join("bus.sqlite3"))
                .with_max_age(replay_window);
            Arc::new(InProcessBus::open(config).await.map_err(bus_error)?)
        }
        Some(url) => {
            let auth = if let Some(file) = &settings.bus.credentials_file {
                NatsAuth::CredentialsFile(file.clone())
            } else if let (Some(user), Some(password)) =
                (&settings.bus.user, &settings.bus.password)
            {
                NatsAuth::UserPassword {
                    user: user.clone(),
                    password: password.expose().clone(),
                }
            } else if let Some(token) = &settings.bus.token {
                NatsAuth::Token(token.expose().clone())
            } else {
                NatsAuth::None
            };
            let config = NatsConfig {
                auth,
                connection_name: Some(format!("hearth-{county}")),
                replay_window,
                ..NatsConfig::new(url.clone(), county.clone())
            };
            Arc::new(NatsBus::connect(config).await.map_err(bus_error)?)
        }
    };
    match bus.ensure_streams().await {
        Ok(()) => {}
        // The database is the source of truth: a service starts while NATS is away, its events
        // wait in the outbox, and publishing re-creates missing streams once NATS is back.
        Err(error) if error.is_unavailable() => {
            tracing::warn!(%error, "the event bus is unavailable at start; events wait in the outbox until it returns");
        }
        Err(error) => return Err(bus_error(error)),
    }
    Ok(bus)
}

pub fn open_verifier(settings: &Settings) -> Result<TokenVerifier, BackendError> {
    let mut keys = Vec::new();
    for trusted in &settings.auth.trusted_keys {
        let pem = std::fs::read_to_string(&trusted.public_key_file).map_err(|error| {
            BackendError::Key {
                path: trusted.public_key_file.clone(),
                message: error.to_string(),
            }
        })?;
        keys.push((trusted.kid.clone(), pem));
    }
    if settings.auth.allow_development_key {
        let key = DevelopmentKey::load_or_generate(&development_key_dir(settings))
            .map_err(|error| BackendError::Auth(error.to_string()))?;
        keys.push((Some(key.kid().to_owned()), key.public_key_pem().to_owned()));
    }
    let county = CountySlug::parse(&settings.county.slug)
        .map_err(|error| BackendError::Auth(error.to_string()))?;
    TokenVerifier::new(VerifierOptions {
        county,
        issuer: settings.auth.issuer.clone(),
        audience: settings.auth.audience.clone(),
        keys,
    })
    .map_err(|error| BackendError::Auth(error.to_string()))
}

/// The county's data keys: configured ones (from a Secret), or development keys generated in
/// `data_dir/keys` when allowed and none are configured.
pub fn open_keyring(settings: &Settings) -> Result<Keyring, BackendError> {
    let privacy = &settings.privacy;
    if privacy.has_configured_keys() {
        let options = KeyringOptions {
            keys: privacy
                .data_keys
                .iter()
                .map(|key| (key.id.clone(), key.key.expose().clone()))
                .collect(),
            current: privacy.current_data_key.clone().unwrap_or_default(),
            blind_index_key: privacy
                .blind_index_key
                .as_ref()
                .map(|key| key.expose().clone())
                .unwrap_or_default(),
        };
        return Keyring::new(&options)
            .map_err(|error| BackendError::Privacy(format!("privacy.data_keys: {error}")));
    }
    if privacy.allow_development_keys {
        return DevelopmentKeys::load_or_generate(&development_key_dir(settings))
            .map(DevelopmentKeys::into_keyring)
            .map_err(|error| BackendError::Privacy(error.to_string()));
    }
    Err(BackendError::Privacy(
        "privacy.data_keys: no data keys are configured".to_owned(),
    ))
}

/// The county's shape, from `county.file` or the slug's built-in file. The code and name are
/// the file's unless the settings say them (then they must agree with it).
pub fn open_county(settings: &Settings) -> Result<County, BackendError> {
    // `Settings::validate` has checked the slug and the code already.
    let slug = CountySlug::parse(&settings.county.slug).map_err(|error| {
        hearth_county::CountyError::NoFile {
            slug: format!("{} ({error})", settings.county.slug),
        }
    })?;
    let code = settings
        .county
        .scb_code
        .as_deref()
        .map(CountyCode::parse)
        .transpose()
        .map_err(|error| hearth_county::CountyError::Invalid {
            file: "settings".to_owned(),
            key: "county.scb_code".to_owned(),
            message: error.to_string(),
        })?;
    Ok(County::resolve(
        &slug,
        code,
        settings.county.name.as_deref(),
        settings.county.file.as_deref(),
    )?)
}

pub async fn open(settings: &Settings) -> Result<Backends, BackendError> {
    let county = Arc::new(open_county(settings)?);
    let verifier = Arc::new(open_verifier(settings)?);
    let keyring = Arc::new(open_keyring(settings)?);
    let bus = open_bus(settings).await?;
    Ok(Backends {
        county,
        bus,
        verifier,
        keyring,
    })
}
