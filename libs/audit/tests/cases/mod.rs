//! The cases, each a function of one test's [`Env`], run on every backend by `main.rs`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use hearth_audit::{
    AuditAccess, AuditAction, AuditEntry, AuditError, AuditQuery, AuditReader, AuditRecord,
    CorrelationId, MAX_PAGE_SIZE, MAX_ROWS_PER_STATEMENT, Purpose, ResourceId, ResourceType,
    require_audit_reader,
};
use hearth_auth::{AuthError, Principal, Role};
use hearth_domain::{Clock as _, CountySlug, MunicipalityCode};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::{Env, utc};

const GET_REGISTRATION: &str = "/hearth.intake.v1.IntakeService/GetInterestRegistration";
const LIST_REGISTRATIONS: &str = "/hearth.intake.v1.IntakeService/ListInterestRegistrations";

fn principal(subject: &str, roles: &[Role], municipality: Option<&str>) -> Principal {
    Principal::try_new(
        subject,
        CountySlug::parse("dalarna").unwrap(),
        roles.iter().copied(),
        municipality.map(|code| MunicipalityCode::parse(code).unwrap()),
    )
    .unwrap()
}

fn unit_staff() -> Principal {
    principal("staff-unit-1", &[Role::UnitStaff], None)
}

fn admin() -> AuditReader {
    require_audit_reader(&principal("admin-1", &[Role::Admin], None)).unwrap()
}

fn registration() -> ResourceType {
    ResourceType::parse("interest_registration").unwrap()
}

fn assessment() -> ResourceType {
    ResourceType::parse("assessment").unwrap()
}

fn purpose(name: &str) -> Purpose {
    Purpose::parse(name).unwrap()
}

fn id(n: u32) -> ResourceId {
    ResourceId::parse(&format!("res-{n:04}")).unwrap()
}

fn read(principal: &Principal, resource_type: ResourceType, resource_id: ResourceId) -> AuditEntry {
    AuditEntry::new(
        principal,
        AuditAction::Read,
        resource_type,
        resource_id,
        purpose(GET_REGISTRATION),
    )
}

/// Every record the query finds, following the pages.
async fn list_all(env: &Env, query: AuditQuery) -> Vec<AuditRecord> {
    let mut query = query;
    let mut records = Vec::new();
    loop {
        let page = env.log.list(&env.db, &admin(), &query).await.unwrap();
        records.extend(page.records);
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => return records,
        }
    }
}

fn everything() -> AuditQuery {
    AuditQuery {
        page_size: MAX_PAGE_SIZE,
        ..AuditQuery::default()
    }
}

fn resource_ids(records: &[AuditRecord]) -> Vec<&str> {
    records.iter().map(|r| r.resource_id.as_str()).collect()
}

pub async fn record_and_list_back(env: &Env) {
    let staff = unit_staff();
    let resource = ResourceId::from(hearth_domain::new_id());
    let entry = read(&staff, registration(), resource.clone())
        .with_correlation_id(CorrelationId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap());

    // The pattern: read and record in one transaction, commit, then return the data.
    let txn = env.db.begin().await.unwrap();
    env.log.record(&txn, &entry).await.unwrap();
    txn.commit().await.unwrap();

    let page = env
        .log
        .list(&env.db, &admin(), &everything())
        .await
        .unwrap();
    assert_eq!(page.next_page_token, None);
    let [record] = page.records.as_slice() else {
        panic!("one record expected, got {:?}", page.records);
    };
    assert!(record.id > 0);
    assert_eq!(record.occurred_at, utc("2026-03-01T08:00:00.000001Z"));
    assert_eq!(record.subject, "staff-unit-1");
    assert_eq!(record.roles, [Role::UnitStaff]);
    assert_eq!(record.municipality, None);
    assert_eq!(record.action, AuditAction::Read);
    assert_eq!(record.resource_type, registration());
    assert_eq!(record.resource_id, resource);
    assert_eq!(record.purpose.as_str(), GET_REGISTRATION);
    assert_eq!(
        record.correlation_id.as_ref().map(CorrelationId::as_str),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );

    // Without a transaction (a single statement) it works too, and every action round-trips.
    for action in AuditAction::ALL {
        env.clock.advance(TimeDelta::seconds(1));
        let entry = AuditEntry::new(&staff, action, assessment(), id(1), purpose("hearth.job"));
        env.log.record(&env.db, &entry).await.unwrap();
    }
    let records = list_all(env, everything()).await;
    let actions: Vec<AuditAction> = records.iter().map(|r| r.action).collect();
    let mut expected = AuditAction::ALL.to_vec();
    expected.reverse();
    expected.push(AuditAction::Read);
    assert_eq!(actions, expected, "newest first");
    assert_eq!(records[0].correlation_id, None);
}

pub async fn a_record_rolled_back_with_its_read_is_gone(env: &Env) {
    let txn = env.db.begin().await.unwrap();
    env.log
        .record(&txn, &read(&unit_staff(), registration(), id(1)))
        .await
        .unwrap();
    // The handler failed after recording: nothing was returned, and nothing stays recorded.
    txn.rollback().await.unwrap();
    assert!(list_all(env, everything()).await.is_empty());
}

pub async fn record_many_writes_one_row_per_resource_in_one_statement(env: &Env) {
    let statements = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut counted = env.db.clone();
    let seen = Arc::clone(&statements);
    counted.set_metric_callback(move |info| {
        seen.lock().unwrap().push(info.statement.sql.clone());
    });
    let taken = || std::mem::take(&mut *statements.lock().unwrap());

    let access = AuditAccess::new(
        &unit_staff(),
        AuditAction::List,
        registration(),
        purpose(LIST_REGISTRATIONS),
    );
    // A page of 200 (intake's largest page): one INSERT.
    let written = env
        .log
        .record_many(&counted, &access, (0..200).map(id))
        .await
        .unwrap();
    assert_eq!(written, 200);
    let sql = taken();
    assert_eq!(sql.len(), 1, "{sql:?}");
    assert!(sql[0].trim_start().starts_with("INSERT"), "{}", sql[0]);

    let records = list_all(env, everything()).await;
    assert_eq!(records.len(), 200);
    let ids: HashSet<&str> = resource_ids(&records).into_iter().collect();
    let expected: Vec<ResourceId> = (0..200).map(id).collect();
    assert_eq!(ids, expected.iter().map(ResourceId::as_str).collect());
    let first = &records[0];
    assert!(records.iter().all(|r| r.occurred_at == first.occurred_at
        && r.action == AuditAction::List
        && r.subject == "staff-unit-1"
        && r.purpose.as_str() == LIST_REGISTRATIONS));

    // Nothing to record: no statement.
    assert_eq!(
        env.log
            .record_many(&counted, &access, std::iter::empty())
            .await
            .unwrap(),
        0
    );
    assert!(taken().is_empty());

    // Far beyond any page: still a bounded number of statements.
    env.clock.advance(TimeDelta::seconds(1));
    let many = 2 * MAX_ROWS_PER_STATEMENT + 1;
    let written = env
        .log
        .record_many(&counted, &access, (0..many as u32).map(id))
        .await
        .unwrap();
    assert_eq!(written, many as u64);
    assert_eq!(taken().len(), 3);
}

pub async fn pages_return_every_entry_once_newest_first(env: &Env) {
    let staff = unit_staff();
    let access = AuditAccess::new(
        &staff,
        AuditAction::List,
        registration(),
        purpose(LIST_REGISTRATIONS),
    );
    // 20 entries over 12 instants; four instants hold three entries each (a list result).
    // The steps give instants with no, three and six fraction digits (SQLite keeps instants as
    // RFC 3339 text and must still order them by time).
    env.clock.set(utc("2026-03-01T09:00:00Z"));
    let steps = [1_000_000, 500_000, 1, 499_999];
    let mut next = 0;
    for step in 0..12 {
        env.clock
            .advance(TimeDelta::microseconds(steps[step % steps.len()]));
        if step % 3 == 0 {
            env.log
                .record_many(&env.db, &access, (next..next + 3).map(id))
                .await
                .unwrap();
            next += 3;
        } else {
            env.log
                .record(&env.db, &read(&staff, registration(), id(next)))
                .await
                .unwrap();
            next += 1;
        }
    }
    assert_eq!(next, 20);

    let all = list_all(env, everything()).await;
    assert_eq!(all.len(), 20);
    for pair in all.windows(2) {
        assert!(
            (pair[0].occurred_at, pair[0].id) > (pair[1].occurred_at, pair[1].id),
            "newest first: {pair:?}"
        );
    }
    assert_eq!(all[0].resource_id, id(19));

    for page_size in [1, 3, 4, 7, 19, 20, 21] {
        let mut query = AuditQuery {
            page_size,
            ..AuditQuery::default()
        };
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = env.log.list(&env.db, &admin(), &query).await.unwrap();
            pages += 1;
            assert!(
                !page.records.is_empty(),
                "no empty pages (size {page_size})"
            );
            assert!(page.records.len() <= page_size as usize);
            seen.extend(page.records);
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => break,
            }
        }
        assert_eq!(seen, all, "page size {page_size}");
        assert_eq!(pages, 20_u32.div_ceil(page_size), "page size {page_size}");
    }

    // Entries written while an admin pages through are newer: they do not enter the listing
    // being paged, and nothing is returned twice or skipped.
    let first = env
        .log
        .list(
            &env.db,
            &admin(),
            &AuditQuery {
                page_size: 6,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap();
    env.clock.advance(TimeDelta::seconds(1));
    env.log
        .record_many(&env.db, &access, (100..104).map(id))
        .await
        .unwrap();
    let rest = list_all(
        env,
        AuditQuery {
            page_size: 6,
            page_token: first.next_page_token.clone(),
            ..AuditQuery::default()
        },
    )
    .await;
    let mut paged = first.records;
    paged.extend(rest);
    assert_eq!(paged, all);
}

pub async fn page_tokens_are_stable_and_bound_to_their_filters(env: &Env) {
    let staff = unit_staff();
    for n in 0..5 {
        env.clock.advance(TimeDelta::milliseconds(250));
        env.log
            .record(&env.db, &read(&staff, registration(), id(n)))
            .await
            .unwrap();
    }
    let query = AuditQuery {
        resource_type: Some(registration()),
        page_size: 2,
        ..AuditQuery::default()
    };
    let first = env.log.list(&env.db, &admin(), &query).await.unwrap();
    let again = env.log.list(&env.db, &admin(), &query).await.unwrap();
    assert_eq!(first, again, "same query, same page and token");
    let token = first.next_page_token.clone().unwrap();

    let next = AuditQuery {
        page_token: Some(token.clone()),
        ..query.clone()
    };
    let second = env.log.list(&env.db, &admin(), &next).await.unwrap();
    assert_eq!(
        second,
        env.log.list(&env.db, &admin(), &next).await.unwrap()
    );
    assert_eq!(resource_ids(&second.records), ["res-0002", "res-0001"]);
    // The page size may change between pages.
    let bigger = AuditQuery {
        page_size: 10,
        ..next.clone()
    };
    let rest = env.log.list(&env.db, &admin(), &bigger).await.unwrap();
    assert_eq!(
        resource_ids(&rest.records),
        ["res-0002", "res-0001", "res-0000"]
    );
    assert_eq!(rest.next_page_token, None);

    // Other filters with the token, or a token that was never issued: INVALID_ARGUMENT-like.
    let other_filters = AuditQuery {
        subject: Some("someone-else".into()),
        ..next.clone()
    };
    let garbage = AuditQuery {
        page_token: Some("not-a-token".into()),
        ..query.clone()
    };
    let mut tampered = token.into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'0' { b'1' } else { b'0' };
    let tampered = AuditQuery {
        page_token: Some(String::from_utf8(tampered).unwrap()),
        ..query.clone()
    };
    for bad in [other_filters, garbage, tampered] {
        let error = env.log.list(&env.db, &admin(), &bad).await.unwrap_err();
        assert!(
            matches!(
                error,
                AuditError::InvalidQuery {
                    field: "page_token",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}

pub async fn filters(env: &Env) {
    let staff = unit_staff();
    let falun = principal("staff-falun-1", &[Role::MunicipalityStaff], Some("2080"));
    let start = env.clock.now_utc();
    // t0: staff reads registration 1; t1: falun reads assessment 1; t2: staff reads
    // assessment 2; t3: falun reads registration 1.
    let plan = [
        (&staff, registration(), id(1)),
        (&falun, assessment(), id(1)),
        (&staff, assessment(), id(2)),
        (&falun, registration(), id(1)),
    ];
    let mut times = Vec::new();
    for (who, resource_type, resource_id) in plan {
        env.clock.advance(TimeDelta::minutes(10));
        times.push(env.clock.now_utc());
        env.log
            .record(&env.db, &read(who, resource_type, resource_id))
            .await
            .unwrap();
    }
    let find = |query: AuditQuery| async move {
        list_all(env, query)
            .await
            .into_iter()
            .map(|r| {
                (
                    r.subject,
                    r.resource_type.as_str().to_owned(),
                    r.resource_id.as_str().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let row = |subject: &str, resource_type: &str, resource_id: ResourceId| {
        (
            subject.to_owned(),
            resource_type.to_owned(),
            resource_id.as_str().to_owned(),
        )
    };

    assert_eq!(
        find(AuditQuery {
            subject: Some("staff-falun-1".into()),
            ..AuditQuery::default()
        })
        .await,
        [
            row("staff-falun-1", "interest_registration", id(1)),
            row("staff-falun-1", "assessment", id(1)),
        ]
    );
    assert_eq!(
        find(AuditQuery {
            resource_type: Some(assessment()),
            ..AuditQuery::default()
        })
        .await,
        [
            row("staff-unit-1", "assessment", id(2)),
            row("staff-falun-1", "assessment", id(1)),
        ]
    );
    // Who accessed registration 1?
    assert_eq!(
        find(AuditQuery {
            resource_type: Some(registration()),
            resource_id: Some(id(1)),
            ..AuditQuery::default()
        })
        .await,
        [
            row("staff-falun-1", "interest_registration", id(1)),
            row("staff-unit-1", "interest_registration", id(1)),
        ]
    );
    // The id alone matches it under every type.
    assert_eq!(
        find(AuditQuery {
            resource_id: Some(id(1)),
            ..AuditQuery::default()
        })
        .await
        .len(),
        3
    );
    // `from` is inclusive, `to` exclusive.
    assert_eq!(
        find(AuditQuery {
            from: Some(times[1]),
            to: Some(times[3]),
            ..AuditQuery::default()
        })
        .await,
        [
            row("staff-unit-1", "assessment", id(2)),
            row("staff-falun-1", "assessment", id(1)),
        ]
    );
    assert_eq!(
        find(AuditQuery {
            subject: Some("staff-unit-1".into()),
            from: Some(times[1]),
            ..AuditQuery::default()
        })
        .await,
        [row("staff-unit-1", "assessment", id(2))]
    );
    assert!(
        find(AuditQuery {
            to: Some(start),
            ..AuditQuery::default()
        })
        .await
        .is_empty()
    );
    assert!(
        find(AuditQuery {
            subject: Some("nobody".into()),
            ..AuditQuery::default()
        })
        .await
        .is_empty()
    );
    // An empty or reversed window is the caller's mistake.
    let error = env
        .log
        .list(
            &env.db,
            &admin(),
            &AuditQuery {
                from: Some(times[2]),
                to: Some(times[1]),
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuditError::InvalidQuery { field: "to", .. }),
        "{error:?}"
    );
}

pub async fn purge_removes_what_is_older_than_the_cutoff(env: &Env) {
    let staff = unit_staff();
    let mut times = Vec::new();
    for n in 0..4 {
        times.push(env.clock.now_utc());
        env.log
            .record(&env.db, &read(&staff, registration(), id(n)))
            .await
            .unwrap();
        env.clock.advance(TimeDelta::days(100));
    }
    // Strictly older than the cutoff: the entry at the cutoff stays.
    assert_eq!(
        env.log.purge_older_than(&env.db, times[2]).await.unwrap(),
        2
    );
    assert_eq!(
        resource_ids(&list_all(env, everything()).await),
        ["res-0003", "res-0002"]
    );
    assert_eq!(
        env.log.purge_older_than(&env.db, times[2]).await.unwrap(),
        0
    );

    // The clock is now 100 days after the last entry: a 150-day retention keeps only it.
    let retention = Duration::from_secs(150 * 24 * 60 * 60);
    assert_eq!(env.log.purge_expired(&env.db, retention).await.unwrap(), 1);
    assert_eq!(
        resource_ids(&list_all(env, everything()).await),
        ["res-0003"]
    );
    // Inside a transaction, like every other write.
    let txn = env.db.begin().await.unwrap();
    assert_eq!(
        env.log
            .purge_older_than(&txn, env.clock.now_utc())
            .await
            .unwrap(),
        1
    );
    txn.commit().await.unwrap();
    assert!(list_all(env, everything()).await.is_empty());
}

pub async fn only_admins_may_read(env: &Env) {
    env.log
        .record(&env.db, &read(&unit_staff(), registration(), id(1)))
        .await
        .unwrap();
    let refused = [
        principal("u", &[Role::UnitStaff], None),
        principal("m", &[Role::MunicipalityStaff], Some("2080")),
        principal("f", &[Role::Finance], None),
        principal("p", &[Role::PublicIntake], None),
        principal(
            "um",
            &[Role::UnitStaff, Role::MunicipalityStaff],
            Some("2080"),
        ),
        principal("none", &[], None),
    ];
    for caller in &refused {
        let error = require_audit_reader(caller).unwrap_err();
        assert_eq!(
            error,
            AuthError::MissingRole {
                needed: vec![Role::Admin]
            },
            "{caller:?}"
        );
        assert_eq!(format!("{:?}", error.code()), "PermissionDenied");
    }
    for caller in [
        principal("a", &[Role::Admin], None),
        principal("au", &[Role::Admin, Role::UnitStaff], None),
    ] {
        let reader = require_audit_reader(&caller).unwrap();
        let page = env.log.list(&env.db, &reader, &everything()).await.unwrap();
        assert_eq!(page.records.len(), 1);
    }
}

pub async fn municipality_staff_entries_carry_their_municipality(env: &Env) {
    let falun = principal("staff-falun-1", &[Role::MunicipalityStaff], Some("2080"));
    let access = AuditAccess::new(
        &falun,
        AuditAction::Export,
        ResourceType::parse("placement_request").unwrap(),
        purpose("/hearth.intake.v1.IntakeService/ExportPlacementRequests"),
    );
    env.log
        .record_many(&env.db, &access, [id(1), id(2)])
        .await
        .unwrap();
    env.clock.advance(TimeDelta::seconds(1));
    env.log
        .record(&env.db, &read(&unit_staff(), registration(), id(3)))
        .await
        .unwrap();

    let records = list_all(env, everything()).await;
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].subject, "staff-unit-1");
    assert_eq!(records[0].municipality, None);
    for record in &records[1..] {
        assert_eq!(record.subject, "staff-falun-1");
        assert_eq!(record.roles, [Role::MunicipalityStaff]);
        assert_eq!(
            record.municipality,
            Some(MunicipalityCode::parse("2080").unwrap())
        );
        assert_eq!(record.action, AuditAction::Export);
    }
}

pub async fn migrating_again_changes_nothing(env: &Env) {
    env.log
        .record(&env.db, &read(&unit_staff(), registration(), id(1)))
        .await
        .unwrap();
    assert_eq!(env.migrate_again().await, 0);
    assert_eq!(list_all(env, everything()).await.len(), 1);
    // The table is where the service's connection looks (its schema on PostgreSQL).
    let backend = env.db.get_database_backend();
    let count = env
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM hearth_audit_log",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(count, 1);
}
