//! Interest registrations over gRPC: each RPC, roles, validation, idempotency, duplicates.

use super::*;
use sea_orm::{ConnectionTrait, Statement};

on_both_backends!(
    registration_lifecycle,
    retries_and_returning_families_are_not_duplicated,
    every_validation_rule_names_its_field,
    roles_are_enforced,
    lists_page_and_filter,
    county_pick_lists,
);

async fn create(
    fixture: &Fixture,
    registration: pb::InterestRegistration,
    key: &str,
) -> Result<pb::CreateInterestRegistrationResponse, tonic::Status> {
    fixture
        .client()
        .create_interest_registration(request(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(registration),
                idempotency_key: key.to_owned(),
            },
            &fixture.public(),
        ))
        .await
        .map(tonic::Response::into_inner)
}

pub(super) async fn get(fixture: &Fixture, id: &str) -> pb::InterestRegistration {
    fixture
        .client()
        .get_interest_registration(request(
            pb::GetInterestRegistrationRequest {
                interest_registration_id: id.to_owned(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner()
        .interest_registration
        .unwrap()
}

async fn audit_rows(fixture: &Fixture, id: &str) -> i64 {
    let db = hearth_rpc::backends::open_database(fixture.hearth.settings(), "intake")
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "SELECT COUNT(*) AS n FROM hearth_audit_log WHERE resource_id = $1"
                }
                _ => "SELECT COUNT(*) AS n FROM hearth_audit_log WHERE resource_id = ?",
            },
            [id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn registration_lifecycle(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let first = pin("1985-03-14", 123);
    let second = pin("1987-11-02", 456);
    let receipt = create(&fixture, registration(&first, &second), &new_key())
        .await
        .unwrap();
    assert_eq!(receipt.outcome(), pb::RegistrationOutcome::Created);
    let id = receipt.interest_registration_id;

    // The public form cannot read it back.
    let denied = fixture
        .client()
        .get_interest_registration(request(
            pb::GetInterestRegistrationRequest {
                interest_registration_id: id.clone(),
            },
            &fixture.public(),
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Unit staff see everything, normalised, and the read is audited.
    assert_eq!(audit_rows(&fixture, &id).await, 0);
    let stored = get(&fixture, &id).await;
    assert_eq!(audit_rows(&fixture, &id).await, 1);
    assert_eq!(stored.adults[0].personal_identity_number, first);
    assert_eq!(stored.adults[0].given_name, "Åsa-Märta");
    assert_eq!(stored.adults[0].phone, "+46701234567");
    assert_eq!(stored.adults[1].family_name, "O'Connor");
    assert_eq!(stored.address.as_ref().unwrap().postal_code, "79131");
    assert_eq!(stored.state(), pb::InterestRegistrationState::Open);
    assert_eq!(stored.household_children_ages, vec![4, 9]);

    // Update contact details with the etag; a stale etag is refused.
    let mut change = stored.clone();
    change.adults[1].email = "sean@example.se".to_owned();
    change.adults[1].personal_identity_number.clear();
    change.address.as_mut().unwrap().street_address = "Lillgatan 2".to_owned();
    let update = |etag: String, change: pb::InterestRegistration| {
        let fixture = &fixture;
        async move {
            fixture
                .client()
                .update_interest_registration(request(
                    pb::UpdateInterestRegistrationRequest {
                        interest_registration: Some(change),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["adults".to_owned(), "address".to_owned()],
                        }),
                        etag,
                    },
                    &fixture.staff(),
                ))
                .await
                .map(|response| response.into_inner().interest_registration.unwrap())
        }
    };
    let updated = update(stored.etag.clone(), change.clone()).await.unwrap();
    assert_eq!(updated.adults[1].email, "sean@example.se");
    assert_eq!(updated.adults[1].personal_identity_number, second);
    assert_eq!(updated.address.unwrap().street_address, "Lillgatan 2");
    assert_ne!(updated.etag, stored.etag);
    let stale = update(stored.etag.clone(), change.clone())
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(reason(&stale), "STALE_ETAG");
    let mut other_number = change.clone();
    other_number.adults[0].personal_identity_number = pin("1970-01-01", 1);
    let refused = update(updated.etag.clone(), other_number)
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused),
        ["interest_registration.adults[0].personal_identity_number"]
    );

    // Withdraw: a retry with the same key answers the same; then nothing can change.
    let key = new_key();
    let withdraw = |key: String| {
        let fixture = &fixture;
        let id = id.clone();
        async move {
            fixture
                .client()
                .withdraw_interest_registration(request(
                    pb::WithdrawInterestRegistrationRequest {
                        interest_registration_id: id,
                        idempotency_key: key,
                    },
                    &fixture.staff(),
                ))
                .await
                .map(|response| response.into_inner().interest_registration.unwrap())
        }
    };
    let withdrawn = withdraw(key.clone()).await.unwrap();
    assert_eq!(withdrawn.state(), pb::InterestRegistrationState::Withdrawn);
    assert!(
        withdrawn.adults[0].personal_identity_number.is_empty(),
        "basic view"
    );
    assert_eq!(withdraw(key).await.unwrap().etag, withdrawn.etag);
    let again = withdraw(new_key()).await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(reason(&again), "INTEREST_REGISTRATION_CLOSED");
    let closed = update(withdrawn.etag.clone(), change).await.unwrap_err();
    assert_eq!(reason(&closed), "INTEREST_REGISTRATION_CLOSED");

    let missing = fixture
        .client()
        .get_interest_registration(request(
            pb::GetInterestRegistrationRequest {
                interest_registration_id: new_key(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

async fn retries_and_returning_families_are_not_duplicated(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let first = pin("1980-05-05", 11);
    let second = pin("1982-06-06", 22);
    let key = new_key();
    let original = create(&fixture, registration(&first, &second), &key)
        .await
        .unwrap();
    let retry = create(&fixture, registration(&first, &second), &key)
        .await
        .unwrap();
    assert_eq!(retry, original, "a retry returns the first receipt");

    // The same key with another request is refused, naming the key.
    let mut other = registration(&pin("1990-01-01", 33), &pin("1991-01-01", 44));
    other.message = "Another household".to_owned();
    let misuse = create(&fixture, other, &key).await.unwrap_err();
    assert_eq!(violated_fields(&misuse), ["idempotency_key"]);

    // One adult registers again (alone, with a new key): linked, not duplicated.
    let mut alone = registration(&second, "");
    alone.adults.truncate(1);
    alone.adults[0].email = "other@example.se".to_owned();
    let linked = create(&fixture, alone.clone(), &new_key()).await.unwrap();
    assert_eq!(
        linked.outcome(),
        pb::RegistrationOutcome::LinkedToOpenRegistration
    );
    assert_eq!(
        linked.interest_registration_id,
        original.interest_registration_id
    );
    let stored = get(&fixture, &original.interest_registration_id).await;
    assert_eq!(stored.repeat_registration_count, 1);
    assert!(stored.last_repeat_time.is_some());

    let listed = fixture
        .client()
        .list_interest_registrations(request(
            pb::ListInterestRegistrationsRequest::default(),
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.interest_registrations.len(),
        1,
        "one registration, not two"
    );

    // Once withdrawn, the household may register anew.
    fixture
        .client()
        .withdraw_interest_registration(request(
            pb::WithdrawInterestRegistrationRequest {
                interest_registration_id: original.interest_registration_id.clone(),
                idempotency_key: new_key(),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap();
    let fresh = create(&fixture, alone, &new_key()).await.unwrap();
    assert_eq!(fresh.outcome(), pb::RegistrationOutcome::Created);
    assert_ne!(
        fresh.interest_registration_id,
        original.interest_registration_id
    );

    // Concurrent registrations of the same household: exactly one is created.
    let third = pin("1975-07-07", 55);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let client = fixture.client();
            let token = fixture.public();
            let registration = registration(&third, "");
            tokio::spawn(async move {
                let mut registration = registration;
                registration.adults.truncate(1);
                let mut client = client;
                client
                    .create_interest_registration(request(
                        pb::CreateInterestRegistrationRequest {
                            interest_registration: Some(registration),
                            idempotency_key: new_key(),
                        },
                        &token,
                    ))
                    .await
                    .map(tonic::Response::into_inner)
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(receipt) => {
                if receipt.outcome() == pb::RegistrationOutcome::Created {
                    created += 1;
                }
                ids.insert(receipt.interest_registration_id);
            }
            // A lost race may ask the caller to retry; it never stores a second registration.
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
}

async fn every_validation_rule_names_its_field(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let valid = || registration(&pin("1985-03-14", 123), &pin("1987-11-02", 456));
    type Change = fn(&mut pb::InterestRegistration);
    let cases: Vec<(&str, Change)> = vec![
        ("interest_registration.adults", |r| r.adults.clear()),
        ("interest_registration.adults", |r| {
            r.adults.push(r.adults[0].clone())
        }),
        ("interest_registration.adults[0].given_name", |r| {
            r.adults[0].given_name = "R2-D2".to_owned()
        }),
        ("interest_registration.adults[0].given_name", |r| {
            r.adults[0].given_name = " ".to_owned()
        }),
        ("interest_registration.adults[1].family_name", |r| {
            r.adults[1].family_name = "x".repeat(101)
        }),
        (
            "interest_registration.adults[0].personal_identity_number",
            |r| r.adults[0].personal_identity_number = "198503141234".to_owned(),
        ),
        (
            "interest_registration.adults[0].personal_identity_number",
            |r| r.adults[0].personal_identity_number = "19850230-1230".to_owned(),
        ),
        (
            "interest_registration.adults[0].personal_identity_number",
            |r| r.adults[0].personal_identity_number.clear(),
        ),
        (
            "interest_registration.adults[0].personal_identity_number",
            |r| r.adults[0].personal_identity_number = pin("2015-01-01", 5),
        ),
        (
            "interest_registration.adults[1].personal_identity_number",
            |r| r.adults[1].personal_identity_number = r.adults[0].personal_identity_number.clone(),
        ),
        ("interest_registration.adults[0].email", |r| {
            r.adults[0].email = "not-an-address".to_owned()
        }),
        ("interest_registration.adults[0].phone", |r| {
            r.adults[0].phone = "12".to_owned()
        }),
        ("interest_registration.adults[0].email", |r| {
            r.adults[0].email.clear();
            r.adults[0].phone.clear();
        }),
        ("interest_registration.home_municipality", |r| {
            r.home_municipality = None
        }),
        ("interest_registration.home_municipality.value", |r| {
            r.home_municipality = municipality("208")
        }),
        ("interest_registration.home_municipality.value", |r| {
            r.home_municipality = municipality("0680")
        }),
        ("interest_registration.address", |r| r.address = None),
        ("interest_registration.address.postal_code", |r| {
            r.address.as_mut().unwrap().postal_code = "7913".to_owned()
        }),
        ("interest_registration.address.street_address", |r| {
            r.address.as_mut().unwrap().street_address.clear()
        }),
        ("interest_registration.address.locality", |r| {
            r.address.as_mut().unwrap().locality = "\u{0007}".to_owned()
        }),
        ("interest_registration.housing", |r| r.housing = 0),
        ("interest_registration.housing", |r| r.housing = 42),
        ("interest_registration.household_children_ages[1]", |r| {
            r.household_children_ages[1] = 99
        }),
        ("interest_registration.commission_kinds", |r| {
            r.commission_kinds.clear()
        }),
        ("interest_registration.commission_kinds[0]", |r| {
            r.commission_kinds[0] = common::CommissionKind::NetworkHome as i32
        }),
        ("interest_registration.commission_kinds[1]", |r| {
            r.commission_kinds[1] = r.commission_kinds[0]
        }),
        ("interest_registration.commission_kinds[0]", |r| {
            r.commission_kinds[0] = 0
        }),
        ("interest_registration.age_bands", |r| r.age_bands.clear()),
        ("interest_registration.age_bands[0]", |r| {
            r.age_bands[0] = 17
        }),
        ("interest_registration.channel", |r| r.channel = 0),
        ("interest_registration.channel_other", |r| {
            r.channel = common::InterestChannel::Other as i32
        }),
        ("interest_registration.channel_other", |r| {
            r.channel_other = "a poster".to_owned()
        }),
        ("interest_registration.message", |r| {
            r.message = "x".repeat(2001)
        }),
    ];
    for (field, change) in cases {
        let mut invalid = valid();
        change(&mut invalid);
        let status = create(&fixture, invalid, &new_key()).await.unwrap_err();
        let fields = violated_fields(&status);
        assert!(
            fields.iter().any(|found| found == field),
            "expected {field}, got {fields:?}"
        );
    }
    // Errors never echo a personal identity number.
    let mut mistyped = valid();
    mistyped.adults[0].personal_identity_number = "198503141234".to_owned();
    let status = create(&fixture, mistyped, &new_key()).await.unwrap_err();
    assert!(
        !status.message().contains("198503141234"),
        "{}",
        status.message()
    );

    // Every violation at once; missing message and key too.
    let mut broken = valid();
    broken.adults[0].given_name.clear();
    broken.housing = 0;
    broken.age_bands.clear();
    let status = create(&fixture, broken, "not-a-uuid").await.unwrap_err();
    let fields = violated_fields(&status);
    for field in [
        "interest_registration.adults[0].given_name",
        "interest_registration.housing",
        "interest_registration.age_bands",
        "idempotency_key",
    ] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing from {fields:?}"
        );
    }
    let status = fixture
        .client()
        .create_interest_registration(request(
            pb::CreateInterestRegistrationRequest::default(),
            &fixture.public(),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["interest_registration", "idempotency_key"]
    );

    // Nothing was stored by any refused call.
    let listed = fixture
        .client()
        .list_interest_registrations(request(
            pb::ListInterestRegistrationsRequest::default(),
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.interest_registrations.is_empty());
}

async fn roles_are_enforced(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let municipality_staff = fixture.municipality("2080");
    let finance = fixture.token(&[Role::Finance], None);
    for token in [&municipality_staff, &finance] {
        let status = fixture
            .client()
            .create_interest_registration(request(
                pb::CreateInterestRegistrationRequest {
                    interest_registration: Some(registration(&pin("1985-03-14", 123), "")),
                    idempotency_key: new_key(),
                },
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let status = fixture
            .client()
            .list_interest_registrations(request(
                pb::ListInterestRegistrationsRequest::default(),
                token,
            ))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let status = fixture
        .client()
        .list_interest_registrations(request(
            pb::ListInterestRegistrationsRequest::default(),
            &fixture.public(),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = fixture
        .client()
        .list_interest_registrations(tonic::Request::new(
            pb::ListInterestRegistrationsRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

async fn lists_page_and_filter(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let mut ids = Vec::new();
    for serial in 1..=5_u16 {
        let mut household = registration(&pin("1980-01-01", serial), "");
        household.adults.truncate(1);
        if serial == 5 {
            household.home_municipality = municipality("2081");
            household.channel = common::InterestChannel::Event as i32;
        }
        ids.push(
            create(&fixture, household, &new_key())
                .await
                .unwrap()
                .interest_registration_id,
        );
    }
    let list =
        |page_token: String, page_size: i32, filter: pb::ListInterestRegistrationsRequest| {
            let fixture = &fixture;
            async move {
                fixture
                    .client()
                    .list_interest_registrations(request(
                        pb::ListInterestRegistrationsRequest {
                            page_token,
                            page_size,
                            ..filter
                        },
                        &fixture.staff(),
                    ))
                    .await
                    .map(tonic::Response::into_inner)
            }
        };
    // Newest first, two per page, every registration exactly once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(token, 2, Default::default()).await.unwrap();
        assert!(page.interest_registrations.len() <= 2);
        for found in &page.interest_registrations {
            assert!(
                found.adults[0].personal_identity_number.is_empty(),
                "basic view by default"
            );
            assert!(found.address.is_none());
            seen.push(found.id.clone());
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let full = list(
        String::new(),
        0,
        pb::ListInterestRegistrationsRequest {
            view: pb::InterestRegistrationView::Full as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        !full.interest_registrations[0].adults[0]
            .personal_identity_number
            .is_empty()
    );
    assert_eq!(
        audit_rows(&fixture, &ids[0]).await,
        2,
        "each list read is audited"
    );

    let borlange = list(
        String::new(),
        0,
        pb::ListInterestRegistrationsRequest {
            home_municipalities: vec![municipality("2081").unwrap()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(borlange.interest_registrations.len(), 1);
    assert_eq!(borlange.interest_registrations[0].id, ids[4]);
    let events = list(
        String::new(),
        0,
        pb::ListInterestRegistrationsRequest {
            channels: vec![common::InterestChannel::SocialMedia as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(events.interest_registrations.len(), 4);

    // A token is refused with other filters, and bad filters name their field.
    let first = list(String::new(), 2, Default::default()).await.unwrap();
    let status = list(
        first.next_page_token,
        2,
        pb::ListInterestRegistrationsRequest {
            channels: vec![common::InterestChannel::Event as i32],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&status), ["page_token"]);
    let status = list(
        String::new(),
        -1,
        pb::ListInterestRegistrationsRequest {
            channels: vec![99],
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&status), ["channels[0]", "page_size"]);
}

async fn county_pick_lists(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    // Any authenticated caller, the public form included.
    let members = fixture
        .client()
        .list_member_municipalities(request(
            pb::ListMemberMunicipalitiesRequest::default(),
            &fixture.public(),
        ))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(members.len(), 12);
    assert!(
        members.iter().any(
            |member| member.name == "Älvdalen" && member.code.as_ref().unwrap().value == "2039"
        )
    );
    let levels = fixture
        .client()
        .list_fee_levels(request(
            pb::ListFeeLevelsRequest::default(),
            &fixture.municipality("2080"),
        ))
        .await
        .unwrap()
        .into_inner()
        .fee_levels;
    assert_eq!(
        levels
            .iter()
            .map(|level| level.code.as_str())
            .collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    let status = fixture
        .client()
        .list_member_municipalities(request(
            pb::ListMemberMunicipalitiesRequest {
                membership_date: Some(common::Date {
                    year: 2026,
                    month: 2,
                    day: 30,
                }),
                ..Default::default()
            },
            &fixture.public(),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["membership_date"]);

    // Pages of five: 5 + 5 + 2.
    let mut token = String::new();
    let mut names = Vec::new();
    loop {
        let page = fixture
            .client()
            .list_member_municipalities(request(
                pb::ListMemberMunicipalitiesRequest {
                    page_size: 5,
                    page_token: token,
                    ..Default::default()
                },
                &fixture.public(),
            ))
            .await
            .unwrap()
            .into_inner();
        assert!(page.members.len() <= 5);
        names.extend(page.members.into_iter().map(|member| member.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names.len(), 12);
    assert_eq!(
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        12
    );
}
