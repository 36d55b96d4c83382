//! Hearth's settings: one typed tree shared by every binary, layered as
//! built-in defaults → an optional TOML file → `HEARTH__SECTION__KEY` environment variables,
//! and validated once at start with messages that name the bad key.
//!
//! This is the only crate that reads the process environment for settings (the testkit reads
//! its own `HEARTH_TEST_*` variables). Secrets are wrapped in [`Secret`] so that printing the
//! settings (`hearth config`) never shows them.

mod origin;
mod secret;
mod settings;

pub use origin::{Origin, environment_variable, origin_of};
pub use secret::{Secret, mask_url_password};
pub use settings::{
    AuditSettings, AuthSettings, BusSettings, CountySettings, DataKeySetting, DatabaseSettings,
    LogFormat, OutboxSettings, PrivacySettings, Settings, TelemetrySettings, TrustedKey,
};

use std::path::{Path, PathBuf};

/// The prefix of environment variables that override settings: `HEARTH__DATABASE__URL`.
pub const ENV_PREFIX: &str = "HEARTH";
/// Separator between the prefix and the path, and between path segments.
pub const ENV_SEPARATOR: &str = "__";

/// What went wrong while loading settings. Every variant names the key or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Parse(String),
    /// A value that does not have the key's type: `telemetry.log_format = "xml" (from
    /// HEARTH__TELEMETRY__LOG_FORMAT): expected one of auto, pretty, json`.
    #[error("configuration: {key}{value} (from {origin}): {message}")]
    Value {
        key: String,
        /// ` = "xml"`, or empty for a secret (never printed).
        value: String,
        origin: Origin,
        message: String,
    },
    #[error("configuration key `{key}`{}: {message}", from_origin(origin.as_ref()))]
    Invalid {
        key: &'static str,
        message: String,
        /// Where the bad value came from; `None` until [`load`] knows.
        origin: Option<Origin>,
    },
}

fn from_origin(origin: Option<&Origin>) -> String {
    match origin {
        Some(origin) if origin.is_explicit() => format!(" (from {origin})"),
        _ => String::new(),
    }
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            message: message.into(),
            origin: None,
        }
    }
}

/// Where settings come from, in increasing precedence after the defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// An optional TOML file (`--config FILE` or `HEARTH_CONFIG`).
    pub file: Option<PathBuf>,
    /// Whether to apply `HEARTH__…` environment variables (off in tests that must be hermetic).
    pub environment: bool,
    /// Last-word overrides from command-line flags, as `(dotted key, value)` pairs.
    pub overrides: Vec<(String, String)>,
}

impl Sources {
    /// The usual sources of a binary: an optional file, then the environment.
    pub fn standard(file: Option<PathBuf>) -> Self {
        Self {
            file,
            environment: true,
            overrides: Vec::new(),
        }
    }

    /// Only the defaults and the given overrides: for tests.
    pub fn defaults_only() -> Self {
        Self::default()
    }

    pub fn with_override(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }
}

/// Load, layer and validate the settings.
pub fn load(sources: &Sources) -> Result<Settings, ConfigError> {
    let defaults = config::Config::try_from(&Settings::default())
        .map_err(|error| ConfigError::Parse(error.to_string()))?;
    let mut builder = config::Config::builder().add_source(defaults);
    if let Some(path) = &sources.file {
        builder = builder.add_source(file_source(path)?);
    }
    if sources.environment {
        // Values stay strings (no `try_parsing`): "06" must stay "06", and serde converts
        // numbers and booleans from strings where a field needs them.
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator(ENV_SEPARATOR)
                .separator(ENV_SEPARATOR),
        );
    }
    for (key, value) in &sources.overrides {
        builder = builder
            .set_override(key.as_str(), value.as_str())
            .map_err(|error| ConfigError::Parse(error.to_string()))?;
    }
    let layered = builder
        .build()
        .map_err(|error| ConfigError::Parse(error.to_string()))?;
    let settings: Settings = match layered.clone().try_deserialize() {
        Ok(settings) => settings,
        Err(error) => return Err(value_error(sources, &layered, error)),
    };
    settings.validate().map_err(|error| match error {
        ConfigError::Invalid { key, message, .. } => ConfigError::Invalid {
            key,
            message,
            origin: Some(origin_of(sources, key)),
        },
        other => other,
    })?;
    Ok(settings)
}

/// Keys whose values are never shown in an error (`database.url` is shown with its password
/// masked).
const SECRET_KEYS: [&str; 4] = [
    "bus.password",
    "bus.token",
    "privacy.data_keys",
    "privacy.blind_index_key",
];

/// A deserialisation error as the key, its value, where the value came from and what the key
/// takes, rather than the parser's words.
fn value_error(
    sources: &Sources,
    layered: &config::Config,
    error: config::ConfigError,
) -> ConfigError {
    let (key, message) = match &error {
        config::ConfigError::At {
            error,
            key: Some(key),
            ..
        } => (key.clone(), error.to_string()),
        config::ConfigError::Type {
            key: Some(key),
            unexpected,
            expected,
            ..
        } => (
            key.clone(),
            format!("expected {expected}, not {unexpected}"),
        ),
        _ => return ConfigError::Parse(error.to_string()),
    };
    let secret = SECRET_KEYS.iter().any(|secret| key.starts_with(secret));
    // The parser's words may quote the value: for a secret, keep only what was expected.
    let message = match message.split_once(", expected ") {
        Some((_, expected)) if secret => {
            format!("expected {expected} (the value is a secret: not shown)")
        }
        _ if secret => "not a valid value (the value is a secret: not shown)".to_owned(),
        _ => message,
    };
    let value = if secret {
        String::new()
    } else {
        match layered.get::<config::Value>(&key) {
            Ok(value) => match value.clone().into_string() {
                Ok(text) if key == "database.url" => format!(" = {:?}", mask_url_password(&text)),
                Ok(text) => format!(" = {text:?}"),
                Err(_) => format!(" = {value}"),
            },
            Err(_) => String::new(),
        }
    };
    let origin = origin_of(sources, &key);
    ConfigError::Value {
        message: hint(&key, message),
        key,
        value,
        origin,
    }
}

/// What a key takes, where the parser's message does not say it in a user's words.
fn hint(key: &str, message: String) -> String {
    match key {
        "listen" | "telemetry.metrics_listen" => {
            format!("expected an IP address and port such as 127.0.0.1:50051 ({message})")
        }
        _ => message,
    }
}

fn file_source(
    path: &Path,
) -> Result<config::File<config::FileSourceFile, config::FileFormat>, ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::File {
            path: path.to_path_buf(),
            message: "no such file".to_owned(),
        });
    }
    Ok(config::File::from(path)
        .format(config::FileFormat::Toml)
        .required(true))
}
