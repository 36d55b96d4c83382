//! Layering and validation of settings, through the public API.

use hearth_config::{ConfigError, LogFormat, Sources, load};
use std::io::Write;

/// Sources with `text` as the settings file (kept alive by the returned handle) and no
/// environment, so the test sees only what it wrote.
fn file_sources(text: &str) -> (tempfile::NamedTempFile, Sources) {
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    writeln!(file, "{text}").expect("write");
    let sources = Sources {
        file: Some(file.path().to_path_buf()),
        environment: false,
        overrides: Vec::new(),
    };
    (file, sources)
}

#[test]
fn defaults_are_valid_and_embedded() {
    let settings = load(&Sources::defaults_only()).expect("defaults load");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:50051");
    assert!(settings.database.is_embedded());
    assert!(settings.bus.is_embedded());
    assert!(settings.database.migrate_on_start());
    assert_eq!(settings.telemetry.log_format, LogFormat::Auto);
}

#[test]
fn file_then_overrides_layer_in_order() {
    let (_file, mut sources) = file_sources(
        "listen = \"0.0.0.0:6000\"\n[county]\nslug = \"jonkoping\"\nscb_code = \"06\"\n[database]\nurl = \"postgres://hearth:pw@db/hearth_jonkoping\"\nmax_connections = 4",
    );
    sources.overrides = vec![("database.max_connections".into(), "7".into())];
    let settings = load(&sources).expect("layered settings load");
    assert_eq!(settings.county.slug, "jonkoping");
    assert_eq!(settings.listen.port(), 6000);
    assert_eq!(settings.database.max_connections, 7, "override beats file");
    assert!(
        !settings.database.migrate_on_start(),
        "PostgreSQL migrates through `hearth migrate`"
    );
    let printed = settings.to_masked_toml();
    assert!(
        printed.contains("postgres://hearth:********@db/hearth_jonkoping"),
        "{printed}"
    );
    assert!(!printed.contains(":pw@"), "{printed}");
}

#[test]
fn secrets_are_masked_when_printed() {
    let sources = Sources::defaults_only()
        .with_override("bus.password", "very-secret")
        .with_override("bus.nats_url", "nats://hearth:other-secret@nats:4222");
    let settings = load(&sources).expect("load");
    assert_eq!(
        settings.bus.password.as_ref().map(|p| p.expose().as_str()),
        Some("very-secret")
    );
    let printed = settings.to_masked_toml();
    assert!(!printed.contains("very-secret"), "{printed}");
    assert!(!format!("{settings:?}").contains("very-secret"));
}

fn invalid_key(sources: Sources) -> String {
    match load(&sources) {
        Err(ConfigError::Invalid { key, .. }) => key.to_owned(),
        Err(other) => other.to_string(),
        Ok(_) => "loaded".to_owned(),
    }
}

#[test]
fn validation_names_the_bad_key() {
    let base = Sources::defaults_only;
    assert_eq!(
        invalid_key(base().with_override("county.slug", "Dalarna")),
        "county.slug"
    );
    assert_eq!(
        invalid_key(base().with_override("county.scb_code", "2")),
        "county.scb_code"
    );
    assert_eq!(
        invalid_key(base().with_override("database.url", "mysql://x")),
        "database.url"
    );
    assert_eq!(
        invalid_key(base().with_override("telemetry.sample_ratio", "1.5")),
        "telemetry.sample_ratio"
    );
    assert_eq!(
        invalid_key(base().with_override("bus.nats_url", "http://x")),
        "bus.nats_url"
    );
    assert_eq!(
        invalid_key(base().with_override("bus.max_attempts", "0")),
        "bus.max_attempts"
    );
}

#[test]
fn type_errors_and_unknown_keys_name_the_key() {
    let error = load(&Sources::defaults_only().with_override("database.max_connections", "many"))
        .expect_err("not a number");
    assert!(error.to_string().contains("max_connections"), "{error}");
    let error = load(&Sources::defaults_only().with_override("databse.url", "x"))
        .expect_err("unknown section");
    assert!(error.to_string().contains("databse"), "{error}");
}

#[test]
fn a_missing_file_is_named() {
    let sources = Sources::standard(Some("/nonexistent/hearth.toml".into()));
    let error = load(&sources).expect_err("missing file");
    assert!(
        error.to_string().contains("/nonexistent/hearth.toml"),
        "{error}"
    );
}

#[test]
fn standalone_needs_postgres_and_nats() {
    let settings = load(&Sources::defaults_only()).expect("load");
    let error = settings
        .validate_standalone()
        .expect_err("embedded is not standalone");
    assert!(error.to_string().contains("database.url"), "{error}");
}

#[test]
fn data_keys_must_name_a_current_key_and_a_blind_index_key() {
    let (_file, sources) = file_sources(
        "[privacy]\ncurrent_data_key = \"k2\"\n[[privacy.data_keys]]\nid = \"k1\"\nkey = \"c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcy1sb25nIQ==\"",
    );
    assert_eq!(invalid_key(sources), "privacy.current_data_key");
}

#[test]
fn data_keys_never_print() {
    let (_file, sources) = file_sources(
        "[privacy]\ncurrent_data_key = \"k1\"\nblind_index_key = \"YmxpbmQtaW5kZXgta2V5\"\n[[privacy.data_keys]]\nid = \"k1\"\nkey = \"c2VjcmV0LWtleS1tYXRlcmlhbA==\"",
    );
    let settings = load(&sources).expect("valid keys load");
    let printed = settings.to_masked_toml();
    assert!(
        !printed.contains("c2VjcmV0") && !printed.contains("YmxpbmQ"),
        "{printed}"
    );
    assert!(printed.contains("id = \"k1\""), "{printed}");
}

/// Every key of the settings, as dotted paths (`telemetry.metrics_listen`); lists and tables of
/// lists (`auth.trusted_keys`) are one key.
fn setting_keys(
    prefix: &str,
    value: &serde_json::Value,
    keys: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (name, inner) in map {
                let key = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                setting_keys(&key, inner, keys);
            }
        }
        _ => {
            keys.insert(prefix.to_owned());
        }
    }
}

#[test]
fn the_readme_configuration_table_lists_every_setting_and_no_other() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has a Configuration section");
    let mut documented = std::collections::BTreeSet::new();
    for row in section.lines().filter(|line| line.starts_with("| `")) {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        // Every `code span` of the first cell is a key.
        for key in first_cell.split('`').skip(1).step_by(2) {
            documented.insert(key.to_owned());
        }
    }
    let defaults = serde_json::to_value(hearth_config::Settings::default()).expect("serialises");
    let mut keys = std::collections::BTreeSet::new();
    setting_keys("", &defaults, &mut keys);
    let missing: Vec<_> = keys.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&keys).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "README.md's configuration table: missing {missing:?}, not settings {stale:?}"
    );
}

#[test]
fn value_errors_name_the_key_the_file_and_what_is_allowed() {
    let (file, sources) = file_sources("[telemetry]\nlog_format = \"xml\"");
    let error = load(&sources).expect_err("not a log format").to_string();
    assert_eq!(
        error,
        format!(
            "configuration: telemetry.log_format = \"xml\" (from {}): expected one of auto, pretty, json",
            file.path().display()
        )
    );
    let error = load(&Sources::defaults_only().with_override("listen", "localhost"))
        .expect_err("not an address")
        .to_string();
    assert!(
        error.starts_with("configuration: listen = \"localhost\" (from the command line): expected an IP address and port"),
        "{error}"
    );
    // A secret's value is never shown, even when it is wrong.
    let error = load(&Sources::defaults_only().with_override("privacy.data_keys", "hunter2"))
        .expect_err("not a list")
        .to_string();
    assert!(error.contains("privacy.data_keys"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn the_county_code_and_name_are_left_to_the_county_file() {
    let settings = load(&Sources::defaults_only().with_override("county.slug", "jonkoping"))
        .expect("a slug alone loads");
    assert_eq!(settings.county.scb_code, None);
    assert_eq!(settings.county.name, None);
    assert_eq!(
        invalid_key(Sources::defaults_only().with_override("telemetry.log_filter", "info,[")),
        "telemetry.log_filter"
    );
}
