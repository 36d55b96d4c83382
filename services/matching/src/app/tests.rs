//! The read models' order tolerance, on an in-memory SQLite database with the service's
//! migrations: redeliveries and overtaken events change nothing, tombstones are final.

#![allow(clippy::unwrap_used)]

use super::pool;
use super::requests::{self, Change};
use crate::store::Migrator;
use chrono::{DateTime, Utc};
use hearth_county::County;
use hearth_proto::common::v1 as common;
use hearth_proto::events::v1::{
    FamilyApproved, FamilyAvailabilityChanged, FamilyProfileFacts, FamilyUpdated,
    PlacementRequestFacts, TrainingCompleted,
};
use hearth_rpc::ServiceError;
use sea_orm::{Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

const FAMILY: &str = "0190a1b2-0000-7000-8000-000000000001";
const REQUEST: &str = "0190a1b2-0000-7000-8000-000000000002";

async fn database() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    db
}

fn now() -> DateTime<Utc> {
    "2026-02-02T09:00:00Z".parse().unwrap()
}

fn facts(capacity: u32) -> FamilyProfileFacts {
    FamilyProfileFacts {
        location: Some(common::Location {
            municipality: Some(common::MunicipalityCode {
                value: "2080".to_owned(),
            }),
            position: None,
        }),
        capacity,
        age_bands: vec![common::AgeBand::AgeBand712 as i32],
        commission_kinds: vec![common::CommissionKind::LongTermFosterHome as i32],
        fee_level: "1".to_owned(),
        availability: vec![common::AvailabilityPeriod {
            period: Some(common::DatePeriod {
                start: Some(common::Date {
                    year: 2026,
                    month: 1,
                    day: 1,
                }),
                end: None,
            }),
            kind: common::AvailabilityKind::Available as i32,
        }],
        ..Default::default()
    }
}

async fn approve(db: &DatabaseConnection) {
    let approved = FamilyApproved {
        family_profile_id: FAMILY.to_owned(),
        approved_on: Some(common::Date {
            year: 2026,
            month: 1,
            day: 10,
        }),
        profile: Some(facts(1)),
        ..Default::default()
    };
    pool::approved(now(), db, &approved, 1).await.unwrap();
}

async fn update(db: &DatabaseConnection, capacity: u32, version: i64) {
    let updated = FamilyUpdated {
        family_profile_id: FAMILY.to_owned(),
        profile: Some(facts(capacity)),
        contact: None,
    };
    pool::updated(now(), db, &updated, version).await.unwrap();
}

async fn the_pool(db: &DatabaseConnection) -> Vec<crate::domain::PoolFamily> {
    let county = County::dalarna();
    pool::load(db)
        .await
        .unwrap()
        .iter()
        .filter_map(|stored| super::convert::pool_family(&county, stored))
        .collect()
}

#[tokio::test]
async fn an_older_family_update_after_a_newer_one_changes_nothing() {
    let db = database().await;
    approve(&db).await;
    update(&db, 3, 3).await;
    update(&db, 2, 2).await;
    update(&db, 2, 3).await;
    let pool = the_pool(&db).await;
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0].capacity, 3);
    assert_eq!(pool[0].waiting_since, "2026-01-10".parse().ok());
    // The availability is its own part: an older `family.updated` does not hold it back.
    let left = FamilyAvailabilityChanged {
        family_profile_id: FAMILY.to_owned(),
        availability: Vec::new(),
        state: common::FamilyProfileState::Left as i32,
        left_on: None,
    };
    pool::availability_changed(now(), &db, &left, 2)
        .await
        .unwrap();
    let pool = the_pool(&db).await;
    assert!(pool[0].left_pool);
    assert!(pool[0].availability.is_empty());
    assert_eq!(pool[0].capacity, 3);
}

#[tokio::test]
async fn events_before_the_approval_are_kept_and_the_approval_does_not_undo_them() {
    let db = database().await;
    update(&db, 4, 2).await;
    let completed = TrainingCompleted {
        family_profile_id: FAMILY.to_owned(),
        course_kind: common::CourseKind::Basic as i32,
        ..Default::default()
    };
    pool::training_completed(now(), &db, &completed)
        .await
        .unwrap();
    approve(&db).await;
    let pool = the_pool(&db).await;
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0].capacity, 4, "the approval (version 1) is older");
    assert!(pool[0].basic_course_done);
    assert_eq!(
        pool[0].availability.len(),
        1,
        "the approval set the availability"
    );
    assert_eq!(pool[0].waiting_since, "2026-01-10".parse().ok());
}

#[tokio::test]
async fn an_erased_family_leaves_the_pool_for_good() {
    let db = database().await;
    approve(&db).await;
    pool::erased(now(), &db, FAMILY).await.unwrap();
    assert!(the_pool(&db).await.is_empty());
    update(&db, 2, 5).await;
    approve(&db).await;
    assert!(the_pool(&db).await.is_empty());
    // Erasing an aggregate matching never knew (a case) is applied and names nothing.
    pool::erased(now(), &db, REQUEST).await.unwrap();
    assert!(the_pool(&db).await.is_empty());
}

fn request_facts(band: common::AgeBand) -> PlacementRequestFacts {
    PlacementRequestFacts {
        age_band: band as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_withdrawn_request_is_closed_and_stays_closed() {
    let db = database().await;
    let opened = request_facts(common::AgeBand::AgeBand06);
    let updated = request_facts(common::AgeBand::AgeBand712);
    requests::apply(now(), &db, REQUEST, 1, Change::Open(&opened))
        .await
        .unwrap();
    requests::apply(now(), &db, REQUEST, 2, Change::Open(&updated))
        .await
        .unwrap();
    requests::apply(now(), &db, REQUEST, 1, Change::Open(&opened))
        .await
        .unwrap();
    let stored = requests::open_facts(&db, REQUEST).await.unwrap();
    assert_eq!(stored.age_band(), common::AgeBand::AgeBand712);

    requests::apply(now(), &db, REQUEST, 3, Change::Closed)
        .await
        .unwrap();
    requests::apply(now(), &db, REQUEST, 2, Change::Open(&updated))
        .await
        .unwrap();
    let closed = requests::open_facts(&db, REQUEST).await.unwrap_err();
    assert!(
        matches!(
            closed,
            ServiceError::FailedPrecondition {
                reason: "PLACEMENT_REQUEST_CLOSED",
                ..
            }
        ),
        "{closed:?}"
    );
    let unknown = requests::open_facts(&db, FAMILY).await.unwrap_err();
    assert!(
        matches!(unknown, ServiceError::NotFound { .. }),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn a_gap_in_the_versions_still_applies_the_newer_state() {
    let db = database().await;
    let updated = request_facts(common::AgeBand::AgeBand1320);
    requests::apply(now(), &db, REQUEST, 4, Change::Open(&updated))
        .await
        .unwrap();
    let stored = requests::open_facts(&db, REQUEST).await.unwrap();
    assert_eq!(stored.age_band(), common::AgeBand::AgeBand1320);
}
