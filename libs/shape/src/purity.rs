//! Domain modules are pure: no I/O crates, no adapters, nothing of the crate outside `domain`.

use crate::paths::{Collector, absolute};
use crate::{Report, Violation};
use std::path::Path;

const PURE: &str = "domain is pure: no I/O, no gRPC, no storage, no bus";
pub(crate) const NOTHING_ELSE: &str = "domain modules name nothing else of the crate";

/// Crates a domain module may not name (by the first segment of a path).
pub const FORBIDDEN: &[&str] = &[
    "hearth_proto",
    "hearth_rpc",
    "tonic",
    "tonic_types",
    "prost",
    "prost_types",
    "sea_orm",
    "sea_orm_migration",
    "async_nats",
    "hearth_bus",
    "hearth_store",
    "hearth_audit",
    "hearth_auth",
    "hearth_privacy",
    "hearth_telemetry",
    "hearth_config",
    "axum",
    "tokio",
];

/// Checks one domain file. `module` is the file's module path in its crate (`domain::stage`),
/// `domain` the prefix everything it names of its crate must stay under (`domain`, or nothing
/// for a crate that is all domain).
pub fn check_file(
    report: &mut Report,
    shown: &Path,
    file: &syn::File,
    module: &[String],
    domain: &[String],
) {
    for named in Collector::collect(file, false).named {
        let path = named.text();
        let violation = |what: &str, why: &str| Violation::new(shown, named.line, what, &path, why);
        if FORBIDDEN.contains(&named.segments[0].as_str()) {
            report.push(violation("domain names", PURE));
            continue;
        }
        let here = [module, &named.scope[..]].concat();
        let target = absolute(&named, &here, |_| false);
        if target.is_some_and(|target| !target.starts_with(domain)) {
            report.push(violation(
                "domain reaches out of crate::domain with",
                NOTHING_ELSE,
            ));
        }
    }
}

/// A domain crate's `[dependencies]` name none of the forbidden crates.
pub fn check_manifest(report: &mut Report, shown: &Path, text: &str) {
    let manifest: toml::Table = match text.parse() {
        Ok(manifest) => manifest,
        Err(error) => {
            return report.push(Violation::new(
                shown,
                1,
                "cannot parse",
                "Cargo.toml",
                &error.to_string(),
            ));
        }
    };
    let Some(dependencies) = manifest.get("dependencies").and_then(toml::Value::as_table) else {
        return;
    };
    for (key, value) in dependencies {
        let package = value
            .get("package")
            .and_then(toml::Value::as_str)
            .unwrap_or(key);
        if FORBIDDEN.contains(&package.replace('-', "_").as_str()) {
            let line = text
                .lines()
                .position(|l| {
                    l.trim_start()
                        .strip_prefix(key.as_str())
                        .is_some_and(|r| r.starts_with([' ', '=', '.']))
                })
                .map_or(1, |at| at + 1);
            report.push(Violation::new(shown, line, "domain depends on", key, PURE));
        }
    }
}
