//! Personal identity numbers over gRPC in every form people write them, read on the day of the
//! request from the service's clock: the same person in two forms is one registration, the
//! century of a ten-digit form follows the day, a refused form names its field.

use super::registrations::get;
use super::*;
use hearth_domain::FixedClock;
use hearth_testkit::TestHearth;
use std::sync::Arc;

on_both_backends!(
    every_form_of_one_number_is_the_same_adult,
    the_century_follows_the_day_of_the_request,
    a_leap_day_and_a_coordination_number,
    refused_forms_name_the_field,
    the_shared_vectors_over_the_api,
);

const FIELD: &str = "interest_registration.adults[0].personal_identity_number";

/// Intake alone on `storage`, its clock at 10:00 UTC on `today` (noon in Stockholm).
async fn start_on(storage: Storage, today: &str) -> Option<Fixture> {
    let clock = FixedClock::new(format!("{today}T10:00:00Z").parse().unwrap());
    let hearth = TestHearth::builder(vec![Box::new(Intake)])
        .storage(storage)
        .clock(Arc::new(clock))
        .start()
        .await?;
    let channel = hearth.channel().await;
    Some(Fixture { hearth, channel })
}

/// A one-adult household whose adult's number is written `number`.
async fn register(
    fixture: &Fixture,
    number: &str,
) -> Result<pb::CreateInterestRegistrationResponse, tonic::Status> {
    let mut alone = registration(number, "");
    alone.adults.truncate(1);
    fixture
        .client()
        .create_interest_registration(request(
            pb::CreateInterestRegistrationRequest {
                interest_registration: Some(alone),
                idempotency_key: new_key(),
            },
            &fixture.public(),
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Registers `first`, then each of `same` (the same person written otherwise): one
/// registration, the others linked to it, stored as `twelve`.
async fn one_registration(fixture: &Fixture, first: &str, same: &[&str], twelve: &str) {
    let created = register(fixture, first).await.unwrap();
    assert_eq!(
        created.outcome(),
        pb::RegistrationOutcome::Created,
        "{first}"
    );
    for form in same {
        let linked = register(fixture, form).await.unwrap();
        assert_eq!(
            linked.outcome(),
            pb::RegistrationOutcome::LinkedToOpenRegistration,
            "{form} is the same adult as {first}"
        );
        assert_eq!(
            linked.interest_registration_id,
            created.interest_registration_id
        );
    }
    let stored = get(fixture, &created.interest_registration_id).await;
    assert_eq!(stored.adults[0].personal_identity_number, twelve);
}

/// The description of the one violation on the adult's number.
fn number_violation(status: &tonic::Status) -> String {
    assert_eq!(violated_fields(status), [FIELD], "{status:?}");
    status.get_details_bad_request().unwrap().field_violations[0]
        .description
        .clone()
}

/// `number` written with `separator` after its date, in 12 digits or 10.
fn written(twelve: &str, separator: &str, short: bool) -> String {
    let start = if short { 2 } else { 0 };
    format!("{}{separator}{}", &twelve[start..8], &twelve[8..])
}

async fn every_form_of_one_number_is_the_same_adult(storage: Storage) {
    let Some(fixture) = start_on(storage, "2026-06-15").await else {
        return;
    };
    let twelve = pin("1985-03-14", 123);
    let forms = [
        written(&twelve, "", true),
        written(&twelve, "-", false),
        twelve.clone(),
        format!("  {}\t", written(&twelve, "-", true)),
    ];
    let same: Vec<&str> = forms.iter().map(String::as_str).collect();
    one_registration(&fixture, &written(&twelve, "-", true), &same, &twelve).await;

    // An update may send the stored number in a ten-digit form: it is the same number.
    let id = register(&fixture, &twelve)
        .await
        .unwrap()
        .interest_registration_id;
    let mut change = get(&fixture, &id).await;
    change.adults[0].personal_identity_number = written(&twelve, "", true);
    change.adults[0].phone = "070-765 43 21".to_owned();
    let updated = fixture
        .client()
        .update_interest_registration(request(
            pb::UpdateInterestRegistrationRequest {
                etag: change.etag.clone(),
                interest_registration: Some(change),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["adults".to_owned()],
                }),
            },
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner()
        .interest_registration
        .unwrap();
    assert_eq!(updated.adults[0].phone, "+46707654321");
    assert_eq!(updated.adults[0].personal_identity_number, twelve);
}

async fn the_century_follows_the_day_of_the_request(storage: Storage) {
    let Some(fixture) = start_on(storage, "2026-06-15").await else {
        return;
    };
    // 100 today: the plus means them, and so does the twelve-digit dash.
    let hundred = pin("1926-06-15", 71);
    one_registration(
        &fixture,
        &written(&hundred, "+", true),
        &[
            &written(&hundred, "+", false),
            &written(&hundred, "-", false),
        ],
        &hundred,
    )
    .await;
    // The same ten digits with a dash mean a child born today: not an adult.
    let refused = register(&fixture, &written(&hundred, "-", true))
        .await
        .unwrap_err();
    assert!(number_violation(&refused).contains("adult"));

    // 99, turning 100 later this year: the Tax Agency already writes a plus; a dash means them
    // too, as nobody with that date is younger.
    let ninety_nine = pin("1926-09-01", 72);
    one_registration(
        &fixture,
        &written(&ninety_nine, "+", true),
        &[&written(&ninety_nine, "-", true), &ninety_nine],
        &ninety_nine,
    )
    .await;

    // 18 today is an adult; tomorrow's 18th birthday is not yet.
    let eighteen = pin("2008-06-15", 73);
    let created = register(&fixture, &written(&eighteen, "", true))
        .await
        .unwrap();
    assert_eq!(created.outcome(), pb::RegistrationOutcome::Created);
    let seventeen = pin("2008-06-16", 74);
    let refused = register(&fixture, &written(&seventeen, "-", true))
        .await
        .unwrap_err();
    assert!(number_violation(&refused).contains("adult"));

    // A twelve-digit plus for someone who turns 100 next year contradicts the date.
    let younger = pin("1927-01-01", 75);
    let refused = register(&fixture, &written(&younger, "+", false))
        .await
        .unwrap_err();
    let message = number_violation(&refused);
    assert!(message.contains("+"), "{message}");
    assert!(!message.contains(&younger[2..8]), "{message}");
}

async fn a_leap_day_and_a_coordination_number(storage: Storage) {
    let Some(fixture) = start_on(storage, "2026-06-15").await else {
        return;
    };
    // 000229: only 2000 has a 29 February among 1900, 2000 and 2100.
    let leap = pin("2000-02-29", 229);
    assert!(written(&leap, "-", true).starts_with("000229-"));
    one_registration(
        &fixture,
        &written(&leap, "-", true),
        &[&written(&leap, "", true), &leap],
        &leap,
    )
    .await;
    let refused = register(&fixture, &written(&leap, "+", true))
        .await
        .unwrap_err();
    assert!(number_violation(&refused).contains("not a valid date"));

    // A coordination number (day + 60), 99 and turning 100 in December.
    let coordination = PersonalIdentityNumber::from_parts(
        NaiveDate::from_ymd_opt(1926, 12, 24).unwrap(),
        381,
        true,
    )
    .unwrap()
    .expose()
    .to_owned();
    assert_eq!(&coordination[6..8], "84");
    one_registration(
        &fixture,
        &written(&coordination, "-", true),
        &[
            &written(&coordination, "+", true),
            &written(&coordination, "-", false),
            &coordination,
        ],
        &coordination,
    )
    .await;
}

async fn refused_forms_name_the_field(storage: Storage) {
    let Some(fixture) = start_on(storage, "2026-06-15").await else {
        return;
    };
    let twelve = pin("1985-03-14", 123);
    let (date, last) = (&twelve[2..8], &twelve[8..]);
    for bad in [
        written(&twelve, " ", false),
        written(&twelve, " ", true),
        written(&twelve, "/", true),
        written(&twelve, ".", true),
        written(&twelve, "_", true),
        written(&twelve, "--", true),
        written(&twelve, "-+", false),
        format!("{}-{}-{}", &date[..2], &date[2..], last),
        format!("{}-{}", &twelve[..7], &twelve[7..]),
    ] {
        let refused = register(&fixture, &bad).await.unwrap_err();
        let message = number_violation(&refused);
        for form in ["YYYYMMDD-NNNC", "YYMMDD-NNNC", "YYMMDDNNNC"] {
            assert!(message.contains(form), "{bad:?}: {message}");
        }
        assert!(!message.contains(last), "{message}");
        assert!(!format!("{refused:?}").contains(last), "{refused:?}");
    }
}

async fn the_shared_vectors_over_the_api(storage: Storage) {
    let file: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../libs/domain/tests/data/personnummer-vectors.json"
    ))
    .unwrap();
    let Some(fixture) = start_on(storage, file["today"].as_str().unwrap()).await else {
        return;
    };
    let text = |vector: &serde_json::Value, name: &str| vector[name].as_str().unwrap().to_owned();
    let vectors = file["vectors"].as_array().unwrap();
    let mut accepted = 0;
    for vector in vectors.iter().filter(|v| v["valid"] == true) {
        let long = text(vector, "long_format");
        one_registration(
            &fixture,
            &text(vector, "separated_format"),
            &[&text(vector, "separated_long"), &long],
            &long,
        )
        .await;
        accepted += 1;
    }
    assert_eq!(accepted, 19);
    let mut refused = 0;
    for vector in vectors.iter().filter(|v| v["valid"] == false) {
        for name in ["separated_format", "long_format"] {
            let status = register(&fixture, &text(vector, name)).await.unwrap_err();
            assert_eq!(violated_fields(&status), [FIELD], "{name}");
            refused += 1;
        }
    }
    assert_eq!(refused, 2 * 27);
}
