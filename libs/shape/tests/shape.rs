//! The checker on synthetic services written into a temp dir, and on the real workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hearth_shape::{Report, check_workspace};
use std::path::Path;

/// A workspace of the given files (paths relative to its root), checked.
fn check(files: &[(&str, &str)]) -> Report {
    let root = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    check_workspace(root.path())
}

/// `(file, line, path)` of every violation.
fn found(report: &Report) -> Vec<(String, usize, String)> {
    let shown =
        |v: &hearth_shape::Violation| (v.file.display().to_string(), v.line, v.path.clone());
    report.violations.iter().map(shown).collect()
}

const LIB: &str = "mod api;\nmod cases;\npub mod domain;\nmod events;\npub mod store;\n";
const RULES: &str = "services/svc/src/domain/rules.rs";

/// A clean service with `domain/rules.rs` replaced by `rules`.
fn service_with_rules(rules: &str) -> Report {
    check(&[
        ("services/svc/src/lib.rs", LIB),
        (
            "services/svc/src/api.rs",
            "pub fn serve() { crate::cases::create(); }\n",
        ),
        (
            "services/svc/src/cases.rs",
            "pub const KIND: &str = \"case.created\";\npub fn create() {}\n",
        ),
        ("services/svc/src/events.rs", "use crate::cases::KIND;\n"),
        (
            "services/svc/src/store.rs",
            "pub fn save(_: crate::domain::rules::Case) {}\n",
        ),
        (
            "services/svc/src/domain/mod.rs",
            "pub mod rules;\n#[cfg(test)]\nmod tests;\n",
        ),
        (
            "services/svc/src/domain/tests.rs",
            "use super::rules::Case;\n",
        ),
        (RULES, rules),
    ])
}

const CLEAN_RULES: &str = r#"//! Pure rules.
use hearth_domain::{Money, clock::Clock};
use std::fmt::{self, Display};
use super::tests as _;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Case { pub amount: Money }

pub(crate) fn check<T: Display>(case: &Case, clock: &dyn Clock, _: T) -> Result<(), fmt::Error> {
    assert!(matches!(case.amount, Money { .. }), "{}", self::inner::LIMIT);
    let _ = clock;
    Ok(())
}

mod inner { pub const LIMIT: u32 = super::super::rules::MAX; }
pub const MAX: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn checks() { let _ = crate::domain::rules::MAX; }
}
"#;

#[test]
fn a_clean_service_passes() {
    let report = service_with_rules(CLEAN_RULES);
    assert!(report.is_empty(), "{report}");
}

#[test]
fn a_domain_naming_an_adapter_crate_or_the_rest_of_its_crate_fails() {
    let cases = [
        (
            "use hearth_proto::intake::v1 as pb;\n",
            1,
            "hearth_proto::intake::v1",
        ),
        (
            "fn f() {\n    let _ = hearth_proto::common::v1::Date::default();\n}\n",
            2,
            "hearth_proto::common::v1::Date::default",
        ),
        (
            "pub fn f() -> Result<(), ::tonic::Status> { Ok(()) }\n",
            1,
            "::tonic::Status",
        ),
        ("use crate::api::support;\n", 1, "crate::api::support"),
        ("sea_orm::entity!();\n", 1, "sea_orm::entity"),
        (
            "fn f() { vec![tokio::spawn(async {})]; }\n",
            1,
            "tokio::spawn",
        ),
        (
            "#[derive(Debug, sea_orm::DeriveEntityModel)]\npub struct Row;\n",
            1,
            "sea_orm::DeriveEntityModel",
        ),
        ("extern crate prost;\n", 1, "prost"),
        (
            "use {\n    std::fmt,\n    ::tonic::{self as t, Status as S},\n};\n",
            3,
            "::tonic",
        ),
        (
            "use {std::fmt, hearth_bus::{Publisher as P}};\n",
            1,
            "hearth_bus::Publisher",
        ),
        ("fn f<T: prost::Message>(_: T) {}\n", 1, "prost::Message"),
        (
            "fn f() -> impl axum::response::IntoResponse { }\n",
            1,
            "axum::response::IntoResponse",
        ),
        (
            "fn f() { let _ = super::super::cases::create; }\n",
            1,
            "super::super::cases::create",
        ),
        (
            "mod inner { fn f() { let _ = super::super::super::events::KIND; } }\n",
            1,
            "super::super::super::events::KIND",
        ),
        (
            "#[cfg(test)]\nmod tests {\n    #[tokio::test]\n    async fn t() {}\n}\n",
            3,
            "tokio::test",
        ),
    ];
    for (rules, line, path) in cases {
        let report = service_with_rules(rules);
        assert_eq!(
            found(&report),
            [(RULES.to_owned(), line, path.to_owned())],
            "{rules}\n{report}"
        );
    }
}

#[test]
fn the_domain_crate_depends_on_no_adapter_crate_and_names_none() {
    let manifest = "[package]\nname = \"hearth-domain\"\n\n[dependencies]\nserde.workspace = true\nhearth-proto.workspace = true\nbus = { package = \"hearth-bus\", path = \"../bus\" }\n";
    let report = check(&[
        ("libs/domain/Cargo.toml", manifest),
        (
            "libs/domain/src/lib.rs",
            "pub mod money;\nuse crate::money::Money;\n",
        ),
        (
            "libs/domain/src/money.rs",
            "pub struct Money;\nimpl From<Money> for tonic::Status { }\n",
        ),
    ]);
    assert_eq!(
        found(&report),
        [
            (
                "libs/domain/Cargo.toml".to_owned(),
                6,
                "hearth-proto".to_owned()
            ),
            ("libs/domain/Cargo.toml".to_owned(), 7, "bus".to_owned()),
            (
                "libs/domain/src/money.rs".to_owned(),
                2,
                "tonic::Status".to_owned()
            ),
        ],
        "{report}"
    );
}

#[test]
fn events_and_api_naming_each_other_are_a_cycle_and_break_the_layers() {
    let report = check(&[
        ("services/svc/src/lib.rs", "mod api;\nmod events;\n"),
        ("services/svc/src/api/mod.rs", "pub mod x;\n"),
        (
            "services/svc/src/api/x.rs",
            "pub fn f() {\n    let _ = crate::events::KIND;\n}\n",
        ),
        (
            "services/svc/src/events.rs",
            "pub const KIND: &str = \"k\";\nfn handle() {\n    crate::api::x::f();\n}\n",
        ),
    ]);
    let text = report.to_string();
    let cycle = report
        .violations
        .iter()
        .find(|v| v.what == "modules in a cycle")
        .expect("a cycle");
    assert_eq!(cycle.path, "api::x, events", "{text}");
    assert!(
        cycle
            .why
            .contains("api::x → events (services/svc/src/api/x.rs:2 `crate::events::KIND`)"),
        "{text}"
    );
    assert!(
        cycle
            .why
            .contains("events → api::x (services/svc/src/events.rs:3 `crate::api::x::f`)"),
        "{text}"
    );
    let layers: Vec<_> = found(&report)
        .into_iter()
        .filter(|(_, _, p)| !p.contains(", "))
        .collect();
    assert_eq!(
        layers,
        [
            (
                "services/svc/src/api/x.rs".to_owned(),
                2,
                "crate::events::KIND".to_owned()
            ),
            (
                "services/svc/src/events.rs".to_owned(),
                3,
                "crate::api::x::f".to_owned()
            ),
        ],
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn siblings_naming_each_other_are_a_cycle() {
    let report = check(&[
        ("services/svc/src/lib.rs", "mod api;\n"),
        ("services/svc/src/api/mod.rs", "mod a;\nmod b;\n"),
        (
            "services/svc/src/api/a.rs",
            "pub fn g() {}\nfn x() { super::b::f(); }\n",
        ),
        (
            "services/svc/src/api/b.rs",
            "pub fn f() { super::a::g(); }\n",
        ),
    ]);
    assert_eq!(
        found(&report),
        [(
            "services/svc/src/api/a.rs".to_owned(),
            2,
            "api::a, api::b".to_owned()
        )],
        "{report}"
    );
}

#[test]
fn a_parent_routing_to_its_children_is_no_cycle() {
    let parent = "mod cases;\nmod support;\npub struct Api;\nfn serve() { cases::create(); }\n";
    let routing = |case: &'static str| {
        check(&[
            ("services/svc/src/lib.rs", "mod api;\n"),
            ("services/svc/src/api/mod.rs", parent),
            ("services/svc/src/api/cases.rs", case),
            ("services/svc/src/api/support.rs", "pub fn caller() {}\n"),
        ])
    };
    let report = routing("use super::support::caller;\npub fn create() { caller() }\n");
    assert!(report.is_empty(), "{report}");
    // A child using what its parent declares for the children is no cycle either.
    let report = routing("pub fn create() { let _ = super::Api; }\n");
    assert!(report.is_empty(), "{report}");
    // Siblings naming each other are.
    let report = routing("pub fn create() { super::support::caller() }\n");
    assert!(report.is_empty(), "{report}");
    let report = check(&[
        ("services/svc/src/lib.rs", "mod api;\n"),
        ("services/svc/src/api/mod.rs", "mod a;\nmod b;\n"),
        (
            "services/svc/src/api/a.rs",
            "pub fn f() { super::b::g() }\n",
        ),
        (
            "services/svc/src/api/b.rs",
            "pub fn g() { super::a::f() }\n",
        ),
    ]);
    assert_eq!(
        found(&report)
            .into_iter()
            .map(|(_, _, what)| what)
            .collect::<Vec<_>>(),
        ["api::a, api::b".to_owned()],
        "{report}"
    );
}

#[test]
fn test_modules_and_the_mod_item_itself_are_no_edges() {
    let report = check(&[
        ("services/svc/src/lib.rs", "mod api;\npub mod store;\n"),
        ("services/svc/src/api.rs", "pub fn f() {}\n"),
        (
            "services/svc/src/store/mod.rs",
            "mod rows;\n#[cfg(test)]\nmod tests { use crate::api::f; }\n#[cfg(test)]\nmod more;\n",
        ),
        ("services/svc/src/store/rows.rs", "pub struct Row;\n"),
        ("services/svc/src/store/more.rs", "use crate::api::f;\n"),
    ]);
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_workspace_has_one_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let report = check_workspace(&root);
    assert!(
        report.is_empty(),
        "the services break the one shape:\n{report}"
    );
}

#[test]
fn each_layer_names_only_what_it_may() {
    let report = check(&[
        (
            "services/svc/src/lib.rs",
            "mod api;\nmod domain;\nmod events;\nmod retention;\nmod store;\npub struct Svc;\n",
        ),
        ("services/svc/src/api.rs", "pub fn f() {}\n"),
        (
            "services/svc/src/events.rs",
            "pub const KIND: &str = \"k\";\n",
        ),
        (
            "services/svc/src/domain.rs",
            "pub fn rule() -> crate::Svc { crate::Svc }\nuse tokio::time;\n",
        ),
        (
            "services/svc/src/store/mod.rs",
            "mod rows { pub fn f() { let _ = crate::events::KIND; } }\n",
        ),
        (
            "services/svc/src/retention.rs",
            "fn sweep() {\n    crate::api::f();\n}\n",
        ),
    ]);
    let rules: Vec<(String, usize, &str)> = report
        .violations
        .iter()
        .map(|v| (v.file.display().to_string(), v.line, v.why.as_str()))
        .collect();
    assert_eq!(
        rules,
        [
            (
                "services/svc/src/domain.rs".to_owned(),
                1,
                "domain modules name nothing else of the crate"
            ),
            (
                "services/svc/src/domain.rs".to_owned(),
                2,
                "domain is pure: no I/O, no gRPC, no storage, no bus"
            ),
            (
                "services/svc/src/retention.rs".to_owned(),
                2,
                "only api's own modules and the crate root name api"
            ),
            (
                "services/svc/src/store/mod.rs".to_owned(),
                1,
                "store names neither api nor events"
            ),
        ],
        "{report}"
    );
}
