//! Hearth's settings: one typed tree shared by every binary, layered as
//! built-in defaults → an optional TOML file → `HEARTH__SECTION__KEY` environment variables,
//! and validated once at start with messages that name the bad key.
//!
//! This is the only crate that reads the process environment for settings (the testkit reads
//! its own `HEARTH_TEST_*` variables). Secrets are wrapped in [`Secret`] so that printing the
//! settings (`hearth config`) never shows them.

mod secret;
mod settings;

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
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            message: message.into(),
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
    let settings: Settings = layered
        .try_deserialize()
        .map_err(|error| ConfigError::Parse(error.to_string()))?;
    settings.validate()?;
    Ok(settings)
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
