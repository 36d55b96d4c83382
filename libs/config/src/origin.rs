//! Where a setting's value came from: the defaults, the settings file, an environment variable
//! or the command line. Error messages name it (so that a user knows what to change), and a
//! command can tell a default from a choice (`hearth serve` moves off a taken default metrics
//! port, but not off one that was asked for).

use crate::{ENV_PREFIX, ENV_SEPARATOR, Sources};
use std::fmt;
use std::path::PathBuf;

/// The layer that set a key's effective value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Nobody set it: the built-in default.
    Default,
    /// The settings file (`--config FILE`).
    File(PathBuf),
    /// This environment variable, e.g. `HEARTH__TELEMETRY__LOG_FORMAT`.
    Environment(String),
    /// A command-line flag (`--listen`, `--data-dir`, …).
    CommandLine,
}

impl Origin {
    /// Whether someone chose the value (anything but the default).
    pub fn is_explicit(&self) -> bool {
        *self != Origin::Default
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Environment(name) => f.write_str(name),
            Origin::CommandLine => f.write_str("the command line"),
        }
    }
}

/// The environment variable that sets `key`: `telemetry.log_format` →
/// `HEARTH__TELEMETRY__LOG_FORMAT`.
pub fn environment_variable(key: &str) -> String {
    let path = key.split('.').collect::<Vec<_>>().join(ENV_SEPARATOR);
    format!("{ENV_PREFIX}{ENV_SEPARATOR}{}", path.to_uppercase())
}

/// Where the effective value of `key` (a dotted path such as `telemetry.metrics_listen`) comes
/// from, in the same precedence as [`crate::load`]: command line, environment, file, default. A
/// key counts as set when it or a section above it is (`HEARTH__COUNTY` would set `county.slug`).
pub fn origin_of(sources: &Sources, key: &str) -> Origin {
    let covers = |set: &str| {
        let set = set.to_lowercase();
        key == set || key.starts_with(&format!("{set}.")) || key.starts_with(&format!("{set}["))
    };
    if sources.overrides.iter().any(|(set, _)| covers(set)) {
        return Origin::CommandLine;
    }
    if sources.environment {
        let prefix = format!("{ENV_PREFIX}{ENV_SEPARATOR}").to_lowercase();
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            // The `config` crate matches the prefix and the path case-insensitively.
            let lower = name.to_lowercase();
            if let Some(path) = lower.strip_prefix(&prefix)
                && covers(&path.replace(ENV_SEPARATOR, "."))
            {
                return Origin::Environment(name.to_owned());
            }
        }
    }
    if let Some(path) = &sources.file
        && file_sets(path, key)
    {
        return Origin::File(path.clone());
    }
    Origin::Default
}

/// Whether the TOML file at `path` sets `key` (an unreadable file sets nothing: loading it
/// reports that).
fn file_sets(path: &std::path::Path, key: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    let mut value: Option<&toml::Value> = None;
    let mut current = &table;
    // `auth.trusted_keys[0].kid`: the file sets it if it sets `auth.trusted_keys`.
    for segment in key.split('.') {
        let name = segment.split('[').next().unwrap_or(segment);
        let Some(found) = current.get(name) else {
            return false;
        };
        value = Some(found);
        match found {
            toml::Value::Table(inner) => current = inner,
            _ => break,
        }
    }
    value.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_are_named_as_documented() {
        assert_eq!(
            environment_variable("telemetry.log_format"),
            "HEARTH__TELEMETRY__LOG_FORMAT"
        );
        assert_eq!(environment_variable("listen"), "HEARTH__LISTEN");
    }

    #[test]
    fn overrides_and_files_are_found_and_defaults_are_defaults() {
        let dir = std::env::temp_dir().join(format!("hearth-origin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let file = dir.join("hearth.toml");
        std::fs::write(&file, "[telemetry]\nlog_format = \"json\"\n").ok();
        let sources = Sources {
            file: Some(file.clone()),
            environment: false,
            overrides: vec![("listen".to_owned(), "127.0.0.1:1".to_owned())],
        };
        assert_eq!(origin_of(&sources, "listen"), Origin::CommandLine);
        assert_eq!(
            origin_of(&sources, "telemetry.log_format"),
            Origin::File(file.clone())
        );
        assert_eq!(
            origin_of(&sources, "telemetry.metrics_listen"),
            Origin::Default
        );
        assert!(!Origin::Default.is_explicit());
        std::fs::remove_dir_all(&dir).ok();
    }
}
