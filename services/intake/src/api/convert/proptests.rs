//! Property tests of intake's input checks: whatever arrives — malformed, huge, hostile
//! Unicode, unknown enum numbers — the checks never panic, every refusal names a field of
//! the request, and what they accept checks again to the same result.

use super::registration::{RegistrationDraft, check_registration};
use super::request::{apply_mask, check_request, check_withdrawal};
use crate::domain::text;
use chrono::NaiveDate;
use hearth_county::County;
use hearth_domain::PersonalIdentityNumber;
use hearth_domain::{Invalid, Violations};
use hearth_proto::common::v1 as common;
use hearth_proto::intake::v1 as pb;
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// Text that is sometimes valid, sometimes hostile: names, digits, control characters,
/// combining marks, very long runs.
fn messy_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-zÅÄÖåäöéü' -]{1,30}",
        "[0-9+ -]{0,20}",
        "\\PC{0,50}",
        ".{0,10}",
        "[a-z]{1,10}@[a-z]{1,10}\\.se",
        (1_usize..5000).prop_map(|n| "å".repeat(n)),
        Just("\u{0000}\u{202E}\u{FEFF}".to_owned()),
        Just("A\u{030A}sa".to_owned()),
    ]
}

fn messy_pin() -> impl Strategy<Value = String> {
    prop_oneof![
        messy_text(),
        (
            1900_i32..2030,
            1_u32..13,
            1_u32..29,
            1_u16..1000,
            any::<bool>()
        )
            .prop_map(|(year, month, day, serial, coordination)| {
                let date = NaiveDate::from_ymd_opt(year, month, day).unwrap();
                PersonalIdentityNumber::from_parts(date, serial, coordination)
                    .map(|number| number.expose().to_owned())
                    .unwrap_or_default()
            }),
        "[0-9]{12}",
        "[0-9]{8}-[0-9]{4}",
    ]
}

fn enum_value() -> impl Strategy<Value = i32> {
    prop_oneof![0_i32..8, any::<i32>()]
}

fn municipality() -> impl Strategy<Value = Option<common::MunicipalityCode>> {
    prop_oneof![
        Just(None),
        prop::sample::select(vec![
            "2080", "2081", "2039", "0680", "9999", "", "20800", "abcd"
        ])
        .prop_map(|value| Some(common::MunicipalityCode {
            value: value.to_owned()
        })),
    ]
}

fn adult() -> impl Strategy<Value = pb::RegisteredAdult> {
    (
        messy_text(),
        messy_text(),
        messy_pin(),
        messy_text(),
        messy_text(),
    )
        .prop_map(
            |(given_name, family_name, personal_identity_number, email, phone)| {
                pb::RegisteredAdult {
                    given_name,
                    family_name,
                    personal_identity_number,
                    email,
                    phone,
                }
            },
        )
}

prop_compose! {
    fn registration()(
        adults in prop::collection::vec(adult(), 0..4),
        home_municipality in municipality(),
        address in prop::option::of((messy_text(), messy_text(), messy_text())),
        housing in enum_value(),
        ages in prop::collection::vec(any::<u32>(), 0..20),
        kinds in prop::collection::vec(enum_value(), 0..6),
        bands in prop::collection::vec(enum_value(), 0..5),
        channel in enum_value(),
        channel_other in messy_text(),
        message in messy_text(),
    ) -> pb::InterestRegistration {
        pb::InterestRegistration {
            adults,
            home_municipality,
            address: address.map(|(street_address, postal_code, locality)| common::PostalAddress { street_address, postal_code, locality }),
            housing,
            household_children_ages: ages,
            commission_kinds: kinds,
            age_bands: bands,
            channel,
            channel_other,
            message,
            ..Default::default()
        }
    }
}

fn valid_pin() -> impl Strategy<Value = String> {
    (
        1930_i32..2005,
        1_u32..13,
        1_u32..29,
        1_u16..1000,
        any::<bool>(),
    )
        .prop_map(|(year, month, day, serial, coordination)| {
            let date = NaiveDate::from_ymd_opt(year, month, day).unwrap();
            PersonalIdentityNumber::from_parts(date, serial, coordination)
                .unwrap()
                .expose()
                .to_owned()
        })
}

prop_compose! {
    /// Registrations that follow every rule, in many shapes: all of them must be accepted.
    fn valid_registration()(
        names in prop::collection::vec(("[A-ZÅÄÖ][a-zåäöé]{1,12}( [A-Z][a-z]{1,8})?", "[A-ZÅÄÖ][a-zåäö]{1,12}(-[A-Z][a-z]{1,8})?"), 1..3),
        pins in (valid_pin(), valid_pin()),
        email in "[a-z]{1,10}@[a-z]{1,10}\\.se",
        phone in prop_oneof![Just(String::new()), "07[0-9]-[0-9]{3} [0-9]{2} [0-9]{2}"],
        home in prop::sample::select(vec!["2080", "2081", "2039", "2084"]),
        postal_code in "[1-9][0-9]{2} [0-9]{2}",
        housing in 1_i32..4,
        ages in prop::collection::vec(0_u32..30, 0..5),
        kinds in prop::sample::subsequence(vec![1, 2, 3], 1..=3),
        bands in prop::sample::subsequence(vec![1, 2, 3], 1..=3),
        channel in 1_i32..6,
        message in "[a-zåäö .,!]{0,200}",
    ) -> pb::InterestRegistration {
        let pins = [pins.0, pins.1];
        pb::InterestRegistration {
            adults: names.into_iter().zip(pins).enumerate().map(|(index, ((given_name, family_name), personal_identity_number))| pb::RegisteredAdult {
                given_name,
                family_name,
                personal_identity_number,
                email: if index == 0 { email.clone() } else { String::new() },
                phone: phone.clone(),
            }).collect(),
            home_municipality: Some(common::MunicipalityCode { value: home.to_owned() }),
            address: Some(common::PostalAddress { street_address: "Storgatan 1".to_owned(), postal_code, locality: "Falun".to_owned() }),
            housing,
            household_children_ages: ages,
            commission_kinds: kinds,
            age_bands: bands,
            channel,
            message,
            ..Default::default()
        }
    }
}

fn date() -> impl Strategy<Value = Option<common::Date>> {
    prop::option::of(
        (any::<i32>(), -2_i32..15, -2_i32..35).prop_map(|(year, month, day)| common::Date {
            year: if year % 3 == 0 {
                2020 + year.rem_euclid(10)
            } else {
                year
            },
            month,
            day,
        }),
    )
}

prop_compose! {
    fn placement_request()(
        unit in prop::option::of((municipality(), prop::sample::select(vec!["", "soder", "Söder", "x"]))),
        case_reference in messy_text(),
        birth_year in prop_oneof![2000_i32..2030, any::<i32>()],
        sex in enum_value(),
        needs in prop::collection::vec(enum_value(), 0..12),
        needs_description in messy_text(),
        siblings in prop::collection::vec(prop_oneof![2000_i32..2030, any::<i32>()], 0..12),
        commission_kind in enum_value(),
        acceptable in prop::collection::vec(municipality(), 0..4),
        max_distance_km in any::<u32>(),
        max_fee_level in prop::sample::select(vec!["", "1", "4", "5", " 2 "]),
        support in prop::collection::vec(enum_value(), 0..8),
        support_description in messy_text(),
        urgency in enum_value(),
        wanted_start_date in date(),
        follows in prop_oneof![Just(String::new()), messy_text(), Just("01990000-0000-7000-8000-000000000000".to_owned())],
        in_emergency_home in any::<bool>(),
        since in date(),
    ) -> pb::PlacementRequest {
        pb::PlacementRequest {
            requesting_unit: unit.map(|(municipality, district)| common::RequestingUnit { municipality, district: district.to_owned() }),
            case_reference,
            birth_year,
            sex,
            needs,
            needs_description,
            sibling_birth_years: siblings,
            commission_kind,
            proximity: Some(common::ProximityRequirement {
                acceptable_municipalities: acceptable.into_iter().flatten().collect(),
                max_distance_km,
            }),
            max_fee_level: max_fee_level.to_owned(),
            offered_support: support,
            offered_support_description: support_description,
            urgency,
            wanted_start_date,
            follows_placement_id: follows,
            in_emergency_home,
            emergency_home_since: since,
            ..Default::default()
        }
    }
}

/// Every violation names a field of the request (its path starts with one of `roots`).
fn fields_named(violations: Violations, roots: &[&str]) -> Result<(), TestCaseError> {
    match violations.finish() {
        Ok(()) => Ok(()),
        Err(Invalid(found)) => {
            prop_assert!(!found.is_empty());
            for violation in found {
                prop_assert!(
                    roots.iter().any(|root| violation.field == *root
                        || violation.field.starts_with(&format!("{root}.")))
                        || roots
                            .iter()
                            .any(|root| violation.field.starts_with(&format!("{root}["))),
                    "field {:?} is not under {:?}",
                    violation.field,
                    roots
                );
                prop_assert!(!violation.description.is_empty());
            }
            Ok(())
        }
    }
}

/// The household of an accepted registration, sent again, is accepted to the same draft.
fn resend(
    draft: &RegistrationDraft,
    original: &pb::InterestRegistration,
) -> pb::InterestRegistration {
    pb::InterestRegistration {
        adults: draft
            .household
            .adults
            .iter()
            .map(|adult| pb::RegisteredAdult {
                given_name: adult.given_name.clone(),
                family_name: adult.family_name.clone(),
                personal_identity_number: adult.personal_identity_number.clone(),
                email: adult.email.clone(),
                phone: adult.phone.clone(),
            })
            .collect(),
        address: draft.household.address.clone(),
        channel_other: draft.household.channel_other.clone(),
        message: draft.household.message.clone(),
        ..original.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn registrations_never_panic_and_name_their_fields(input in registration(), missing in any::<bool>()) {
        let county = County::dalarna();
        let mut violations = Violations::new();
        let draft = check_registration((!missing).then_some(&input), "interest_registration", &county, today(), &mut violations);
        let accepted = violations.is_empty();
        prop_assert_eq!(accepted, draft.is_some(), "a draft exactly when nothing was refused");
        if let Some(draft) = &draft {
            let mut again = Violations::new();
            let second = check_registration(Some(&resend(draft, &input)), "interest_registration", &county, today(), &mut again);
            prop_assert!(again.is_empty());
            prop_assert_eq!(second.as_ref(), Some(draft), "normalising twice changes nothing");
        }
        fields_named(violations, &["interest_registration"])?;
    }

    #[test]
    fn well_formed_registrations_are_accepted_and_stable(input in valid_registration()) {
        let county = County::dalarna();
        let mut violations = Violations::new();
        let draft = check_registration(Some(&input), "interest_registration", &county, today(), &mut violations);
        prop_assert!(violations.is_empty(), "{:?}", violations.finish());
        let draft = draft.unwrap();
        let mut again = Violations::new();
        let second = check_registration(Some(&resend(&draft, &input)), "interest_registration", &county, today(), &mut again);
        prop_assert_eq!(second.as_ref(), Some(&draft));
    }

    #[test]
    fn placement_requests_never_panic_and_name_their_fields(input in placement_request()) {
        let county = County::dalarna();
        let mut violations = Violations::new();
        let draft = check_request(&input, "placement_request", &county, today(), &mut violations);
        prop_assert_eq!(violations.is_empty(), draft.is_some());
        if let Some(draft) = &draft {
            let mut again = Violations::new();
            let second = check_request(&draft.content, "placement_request", &county, today(), &mut again);
            prop_assert!(again.is_empty());
            prop_assert_eq!(second.map(|second| second.content), Some(draft.content.clone()));
        }
        fields_named(violations, &["placement_request"])?;
    }

    #[test]
    fn updates_never_panic_and_name_their_fields(
        stored in placement_request(),
        incoming in placement_request(),
        paths in prop::collection::vec(prop_oneof![
            prop::sample::select(crate::domain::request::UPDATABLE_FIELDS.to_vec()).prop_map(str::to_owned),
            "\\PC{0,20}",
        ], 0..6),
    ) {
        let mut violations = Violations::new();
        let merged = apply_mask(&stored, &incoming, &paths, &mut violations);
        check_request(&merged, "placement_request", &County::dalarna(), today(), &mut violations);
        fields_named(violations, &["placement_request", "update_mask"])?;
    }

    #[test]
    fn withdrawals_never_panic_and_name_their_fields(reason in enum_value(), note in messy_text()) {
        let mut violations = Violations::new();
        let checked = check_withdrawal(reason, &note, &mut violations);
        prop_assert_eq!(violations.is_empty(), checked.is_some());
        fields_named(violations, &["reason", "note"])?;
    }

    #[test]
    fn text_checks_never_panic(value in messy_text()) {
        let _ = text::person_name(&value);
        let _ = text::email(&value);
        let _ = text::phone(&value);
        let _ = text::postal_code(&value);
        let _ = text::free_text(&value, 100, true);
        let _ = text::looks_like_personal_identity_number(&value);
        if let Ok(Some(phone)) = text::phone(&value) {
            prop_assert_eq!(text::phone(&phone), Ok(Some(phone.clone())), "normalised phone numbers are stable");
        }
    }
}

#[test]
fn a_valid_registration_is_accepted() {
    let first = PersonalIdentityNumber::from_parts(
        NaiveDate::from_ymd_opt(1985, 3, 14).unwrap(),
        123,
        false,
    )
    .unwrap();
    let input = pb::InterestRegistration {
        adults: vec![pb::RegisteredAdult {
            given_name: "Åsa".to_owned(),
            family_name: "Öberg-Ek".to_owned(),
            personal_identity_number: first.expose().to_owned(),
            email: "asa@example.se".to_owned(),
            phone: String::new(),
        }],
        home_municipality: Some(common::MunicipalityCode {
            value: "2080".to_owned(),
        }),
        address: Some(common::PostalAddress {
            street_address: "Storgatan 1".to_owned(),
            postal_code: "79131".to_owned(),
            locality: "Falun".to_owned(),
        }),
        housing: common::Housing::Apartment as i32,
        commission_kinds: vec![common::CommissionKind::ContactFamily as i32],
        age_bands: vec![
            common::AgeBand::AgeBand1320 as i32,
            common::AgeBand::AgeBand06 as i32,
        ],
        channel: common::InterestChannel::Other as i32,
        channel_other: "Radio".to_owned(),
        ..Default::default()
    };
    let mut violations = Violations::new();
    let draft = check_registration(
        Some(&input),
        "interest_registration",
        &County::dalarna(),
        today(),
        &mut violations,
    )
    .unwrap();
    assert!(violations.is_empty());
    assert_eq!(
        draft.age_bands,
        [
            hearth_domain::AgeBand::Age0To6,
            hearth_domain::AgeBand::Age13To20
        ],
        "sorted"
    );
    assert!(
        !format!("{draft:?}").contains(first.expose()),
        "Debug never shows the number"
    );
}
