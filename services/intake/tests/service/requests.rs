//! Placement requests over gRPC: each RPC, municipality scoping, versions, withdrawal reasons,
//! validation and idempotency.

use super::*;

on_both_backends!(
    request_lifecycle_with_versions,
    municipalities_see_and_change_only_their_own,
    every_withdrawal_reason,
    request_validation_names_fields,
    siblings_over_twenty_on_the_start_date_are_refused,
);

fn placement_request(code: &str) -> pb::PlacementRequest {
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap();
    pb::PlacementRequest {
        requesting_unit: Some(common::RequestingUnit {
            municipality: municipality(code),
            district: String::new(),
        }),
        case_reference: "IFO-2026-0042".to_owned(),
        birth_year: year - 9,
        sex: pb::Sex::Female as i32,
        needs: vec![
            common::Need::Trauma as i32,
            common::Need::SchoolProblems as i32,
        ],
        needs_description: "Behöver lugn miljö.".to_owned(),
        sibling_birth_years: vec![year - 6],
        commission_kind: common::CommissionKind::LongTermFosterHome as i32,
        proximity: Some(common::ProximityRequirement {
            acceptable_municipalities: vec![
                municipality("2080").unwrap(),
                municipality("2081").unwrap(),
            ],
            max_distance_km: 0,
        }),
        max_fee_level: "2".to_owned(),
        offered_support: vec![common::SupportKind::ExtraSupervision as i32],
        urgency: common::Urgency::Soon as i32,
        wanted_start_date: Some(common::Date {
            year: year + 1,
            month: 1,
            day: 15,
        }),
        in_emergency_home: true,
        emergency_home_since: Some(common::Date {
            year: year - 1,
            month: 3,
            day: 1,
        }),
        ..Default::default()
    }
}

async fn open(
    fixture: &Fixture,
    token: &str,
    content: pb::PlacementRequest,
    key: &str,
) -> Result<pb::PlacementRequest, tonic::Status> {
    fixture
        .client()
        .create_placement_request(request(
            pb::CreatePlacementRequestRequest {
                placement_request: Some(content),
                idempotency_key: key.to_owned(),
            },
            token,
        ))
        .await
        .map(|response| response.into_inner().placement_request.unwrap())
}

async fn update(
    fixture: &Fixture,
    token: &str,
    change: pb::PlacementRequest,
    paths: &[&str],
    etag: &str,
) -> Result<pb::PlacementRequest, tonic::Status> {
    fixture
        .client()
        .update_placement_request(request(
            pb::UpdatePlacementRequestRequest {
                placement_request: Some(change),
                update_mask: Some(prost_types::FieldMask {
                    paths: paths.iter().map(|path| (*path).to_owned()).collect(),
                }),
                etag: etag.to_owned(),
            },
            token,
        ))
        .await
        .map(|response| response.into_inner().placement_request.unwrap())
}

async fn withdraw(
    fixture: &Fixture,
    token: &str,
    id: &str,
    reason: common::WithdrawalReason,
    note: &str,
    key: &str,
) -> Result<pb::PlacementRequest, tonic::Status> {
    fixture
        .client()
        .withdraw_placement_request(request(
            pb::WithdrawPlacementRequestRequest {
                placement_request_id: id.to_owned(),
                reason: reason as i32,
                note: note.to_owned(),
                etag: String::new(),
                idempotency_key: key.to_owned(),
            },
            token,
        ))
        .await
        .map(|response| response.into_inner().placement_request.unwrap())
}

async fn request_lifecycle_with_versions(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let falun = fixture.municipality("2080");
    let key = new_key();
    let opened = open(&fixture, &falun, placement_request("2080"), &key)
        .await
        .unwrap();
    assert_eq!(opened.state(), pb::PlacementRequestState::Open);
    assert_eq!(
        opened.age_band(),
        common::AgeBand::AgeBand712,
        "9 or 10 on the start date"
    );
    assert_eq!(opened.version, 1);
    // An idempotent retry returns the first request; the same key with another request is refused.
    assert_eq!(
        open(&fixture, &falun, placement_request("2080"), &key)
            .await
            .unwrap(),
        opened
    );
    let mut other = placement_request("2080");
    other.case_reference = "IFO-2026-0043".to_owned();
    let misuse = open(&fixture, &falun, other, &key).await.unwrap_err();
    assert_eq!(violated_fields(&misuse), ["idempotency_key"]);

    // Update the needs: a new version, the old one kept.
    let mut change = pb::PlacementRequest {
        id: opened.id.clone(),
        ..Default::default()
    };
    change.needs = vec![
        common::Need::Trauma as i32,
        common::Need::SubstanceUse as i32,
    ];
    change.urgency = common::Urgency::Acute as i32;
    let updated = update(
        &fixture,
        &falun,
        change.clone(),
        &["needs", "urgency"],
        &opened.etag,
    )
    .await
    .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.urgency(), common::Urgency::Acute);
    assert_eq!(
        updated.case_reference, opened.case_reference,
        "fields outside the mask are kept"
    );
    let stale = update(&fixture, &falun, change.clone(), &["needs"], &opened.etag)
        .await
        .unwrap_err();
    assert_eq!(reason(&stale), "STALE_ETAG");
    let read_only = update(
        &fixture,
        &falun,
        change.clone(),
        &["requesting_unit", "state"],
        &updated.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(
        violated_fields(&read_only),
        ["update_mask.paths[0]", "update_mask.paths[1]"]
    );
    let invalid = update(
        &fixture,
        &falun,
        pb::PlacementRequest {
            id: opened.id.clone(),
            max_fee_level: "9".to_owned(),
            ..Default::default()
        },
        &["max_fee_level"],
        &updated.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(
        violated_fields(&invalid),
        ["placement_request.max_fee_level"]
    );

    let versions = fixture
        .client()
        .list_placement_request_versions(request(
            pb::ListPlacementRequestVersionsRequest {
                placement_request_id: opened.id.clone(),
                page_size: 1,
                page_token: String::new(),
            },
            &falun,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(versions.versions.len(), 1);
    assert_eq!(
        versions.versions[0]
            .placement_request
            .as_ref()
            .unwrap()
            .urgency(),
        common::Urgency::Soon
    );
    let rest = fixture
        .client()
        .list_placement_request_versions(request(
            pb::ListPlacementRequestVersionsRequest {
                placement_request_id: opened.id.clone(),
                page_size: 1,
                page_token: versions.next_page_token,
            },
            &falun,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.versions[0].version, 2);
    assert_eq!(rest.versions[0].changed_fields, ["needs", "urgency"]);
    assert!(rest.next_page_token.is_empty());

    // Withdraw, then nothing changes any more.
    let withdrawn = withdraw(
        &fixture,
        &falun,
        &opened.id,
        common::WithdrawalReason::AgencySupportedHome,
        "",
        &new_key(),
    )
    .await
    .unwrap();
    assert_eq!(withdrawn.state(), pb::PlacementRequestState::Withdrawn);
    assert_eq!(
        withdrawn.withdrawal.as_ref().unwrap().reason(),
        common::WithdrawalReason::AgencySupportedHome
    );
    let closed = update(&fixture, &falun, change, &["needs"], &withdrawn.etag)
        .await
        .unwrap_err();
    assert_eq!(closed.code(), Code::FailedPrecondition);
    assert_eq!(reason(&closed), "PLACEMENT_REQUEST_CLOSED");
    let again = withdraw(
        &fixture,
        &falun,
        &opened.id,
        common::WithdrawalReason::Other,
        "late",
        &new_key(),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&again), "PLACEMENT_REQUEST_CLOSED");

    // Filters: the withdrawn one is not open.
    let open_ones = fixture
        .client()
        .list_placement_requests(request(
            pb::ListPlacementRequestsRequest {
                states: vec![pb::PlacementRequestState::Open as i32],
                ..Default::default()
            },
            &fixture.staff(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(open_ones.placement_requests.is_empty());
}

async fn municipalities_see_and_change_only_their_own(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let falun = fixture.municipality("2080");
    let borlange = fixture.municipality("2081");
    let ours = open(&fixture, &falun, placement_request("2080"), &new_key())
        .await
        .unwrap();
    let theirs = open(&fixture, &borlange, placement_request("2081"), &new_key())
        .await
        .unwrap();
    // Unit staff may open a request for any member.
    open(
        &fixture,
        &fixture.staff(),
        placement_request("2082"),
        &new_key(),
    )
    .await
    .unwrap();

    // Opening for another municipality is refused.
    let status = open(&fixture, &falun, placement_request("2081"), &new_key())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Borlänge cannot read, change, withdraw or see the versions of Falun's request.
    let status = fixture
        .client()
        .get_placement_request(request(
            pb::GetPlacementRequestRequest {
                placement_request_id: ours.id.clone(),
            },
            &borlange,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = update(
        &fixture,
        &borlange,
        pb::PlacementRequest {
            id: ours.id.clone(),
            urgency: 1,
            ..Default::default()
        },
        &["urgency"],
        &ours.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = withdraw(
        &fixture,
        &borlange,
        &ours.id,
        common::WithdrawalReason::ChildStaysHome,
        "",
        &new_key(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = fixture
        .client()
        .list_placement_request_versions(request(
            pb::ListPlacementRequestVersionsRequest {
                placement_request_id: ours.id.clone(),
                ..Default::default()
            },
            &borlange,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // Lists: each municipality sees its own; asking for another's is refused; staff see all.
    let list = |token: String, municipalities: Vec<&'static str>| {
        let fixture = &fixture;
        async move {
            fixture
                .client()
                .list_placement_requests(request(
                    pb::ListPlacementRequestsRequest {
                        municipalities: municipalities
                            .into_iter()
                            .map(|code| municipality(code).unwrap())
                            .collect(),
                        ..Default::default()
                    },
                    &token,
                ))
                .await
                .map(|response| response.into_inner().placement_requests)
        }
    };
    let seen = list(borlange.clone(), vec![]).await.unwrap();
    assert_eq!(
        seen.iter()
            .map(|found| found.id.as_str())
            .collect::<Vec<_>>(),
        [theirs.id.as_str()]
    );
    let status = list(borlange.clone(), vec!["2080"]).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(list(fixture.staff(), vec![]).await.unwrap().len(), 3);
    assert_eq!(
        list(fixture.staff(), vec!["2080", "2081"])
            .await
            .unwrap()
            .len(),
        2
    );

    // Roles without access to requests.
    for token in [fixture.public(), fixture.token(&[Role::Finance], None)] {
        let status = list(token, vec![]).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    // Falun reads its own.
    let read = fixture
        .client()
        .get_placement_request(request(
            pb::GetPlacementRequestRequest {
                placement_request_id: ours.id.clone(),
            },
            &falun,
        ))
        .await
        .unwrap()
        .into_inner()
        .placement_request
        .unwrap();
    assert_eq!(read, ours);
}

async fn every_withdrawal_reason(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let falun = fixture.municipality("2080");
    for reason in [
        common::WithdrawalReason::ChildStaysHome,
        common::WithdrawalReason::ResidentialHome,
        common::WithdrawalReason::CompulsoryCareNotGranted,
        common::WithdrawalReason::AgencySupportedHome,
        common::WithdrawalReason::NetworkPlacement,
        common::WithdrawalReason::Other,
    ] {
        let opened = open(&fixture, &falun, placement_request("2080"), &new_key())
            .await
            .unwrap();
        if reason == common::WithdrawalReason::Other {
            let status = withdraw(&fixture, &falun, &opened.id, reason, "", &new_key())
                .await
                .unwrap_err();
            assert_eq!(violated_fields(&status), ["note"]);
        }
        let key = new_key();
        let withdrawn = withdraw(
            &fixture,
            &falun,
            &opened.id,
            reason,
            "Placed with relatives abroad",
            &key,
        )
        .await
        .unwrap();
        let withdrawal = withdrawn.withdrawal.clone().unwrap();
        assert_eq!(withdrawal.reason(), reason);
        assert_eq!(withdrawal.note, "Placed with relatives abroad");
        // A retry with the same key returns the withdrawn request.
        assert_eq!(
            withdraw(
                &fixture,
                &falun,
                &opened.id,
                reason,
                "Placed with relatives abroad",
                &key
            )
            .await
            .unwrap(),
            withdrawn
        );
    }
    let opened = open(&fixture, &falun, placement_request("2080"), &new_key())
        .await
        .unwrap();
    let status = withdraw(
        &fixture,
        &falun,
        &opened.id,
        common::WithdrawalReason::Unspecified,
        "",
        &new_key(),
    )
    .await
    .unwrap_err();
    assert_eq!(violated_fields(&status), ["reason"]);
    let status = withdraw(
        &fixture,
        &falun,
        "not-an-id",
        common::WithdrawalReason::Other,
        "121212-1212",
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request_id", "note", "idempotency_key"]
    );
}

async fn request_validation_names_fields(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let staff = fixture.staff();
    type Change = fn(&mut pb::PlacementRequest);
    let cases: Vec<(&str, Change)> = vec![
        ("placement_request.requesting_unit", |r| {
            r.requesting_unit = None
        }),
        (
            "placement_request.requesting_unit.municipality.value",
            |r| r.requesting_unit.as_mut().unwrap().municipality = municipality("0680"),
        ),
        ("placement_request.requesting_unit.district", |r| {
            r.requesting_unit.as_mut().unwrap().district = "soder".to_owned()
        }),
        ("placement_request.case_reference", |r| {
            r.case_reference.clear()
        }),
        ("placement_request.case_reference", |r| {
            r.case_reference = "Barn 20150101-1234".to_owned()
        }),
        ("placement_request.case_reference", |r| {
            r.case_reference = "x".repeat(65)
        }),
        ("placement_request.birth_year", |r| r.birth_year = 0),
        ("placement_request.birth_year", |r| r.birth_year = 1990),
        ("placement_request.birth_year", |r| r.birth_year = 3000),
        ("placement_request.sex", |r| r.sex = 0),
        ("placement_request.needs[1]", |r| r.needs[1] = 99),
        ("placement_request.needs[1]", |r| r.needs[1] = r.needs[0]),
        ("placement_request.needs_description", |r| {
            r.needs_description = "x".repeat(2001)
        }),
        ("placement_request.needs_description", |r| {
            r.needs_description = "pnr 201501011234".to_owned()
        }),
        ("placement_request.sibling_birth_years[0]", |r| {
            r.sibling_birth_years[0] = 1900
        }),
        ("placement_request.commission_kind", |r| {
            r.commission_kind = 0
        }),
        (
            "placement_request.proximity.acceptable_municipalities[0].value",
            |r| {
                r.proximity.as_mut().unwrap().acceptable_municipalities[0].value = "9999".to_owned()
            },
        ),
        (
            "placement_request.proximity.acceptable_municipalities[1].value",
            |r| {
                let first = r.proximity.as_ref().unwrap().acceptable_municipalities[0].clone();
                r.proximity.as_mut().unwrap().acceptable_municipalities[1] = first;
            },
        ),
        ("placement_request.proximity.max_distance_km", |r| {
            r.proximity.as_mut().unwrap().max_distance_km = 5000
        }),
        ("placement_request.max_fee_level", |r| {
            r.max_fee_level.clear()
        }),
        ("placement_request.max_fee_level", |r| {
            r.max_fee_level = "platinum".to_owned()
        }),
        ("placement_request.offered_support[0]", |r| {
            r.offered_support[0] = 0
        }),
        ("placement_request.offered_support_description", |r| {
            r.offered_support_description = "\u{0000}".to_owned()
        }),
        ("placement_request.urgency", |r| r.urgency = 0),
        ("placement_request.wanted_start_date", |r| {
            r.wanted_start_date = None
        }),
        ("placement_request.wanted_start_date", |r| {
            r.wanted_start_date = Some(common::Date {
                year: 2027,
                month: 2,
                day: 29,
            })
        }),
        ("placement_request.follows_placement_id", |r| {
            r.follows_placement_id = "yesterday".to_owned()
        }),
        ("placement_request.emergency_home_since", |r| {
            r.emergency_home_since = None
        }),
        ("placement_request.emergency_home_since", |r| {
            r.in_emergency_home = false
        }),
        ("placement_request.emergency_home_since", |r| {
            r.emergency_home_since = Some(common::Date {
                year: 2999,
                month: 1,
                day: 1,
            })
        }),
    ];
    for (field, change) in cases {
        let mut invalid = placement_request("2080");
        change(&mut invalid);
        let status = open(&fixture, &staff, invalid, &new_key())
            .await
            .unwrap_err();
        let fields = violated_fields(&status);
        assert!(
            fields.iter().any(|found| found == field),
            "expected {field}, got {fields:?}"
        );
    }
    let status = fixture
        .client()
        .create_placement_request(request(
            pb::CreatePlacementRequestRequest::default(),
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request", "idempotency_key"]
    );
    let listed = fixture
        .client()
        .list_placement_requests(request(pb::ListPlacementRequestsRequest::default(), &staff))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.placement_requests.is_empty(),
        "nothing refused was stored"
    );
}

/// A sibling with no age band on the wanted start date is refused rather than left out of the
/// event, where matching would count one place too few.
async fn siblings_over_twenty_on_the_start_date_are_refused(storage: Storage) {
    let Some(fixture) = Fixture::start(storage).await else {
        return;
    };
    let staff = fixture.staff();
    let mut content = placement_request("2080");
    let start_year = content.wanted_start_date.unwrap().year;
    // Born 21 years before the start year: a valid birth year today, over 20 on the start date.
    content.sibling_birth_years = vec![start_year - 6, start_year - 21];
    let status = open(&fixture, &staff, content.clone(), &new_key())
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request.sibling_birth_years[1]"]
    );
    let details = status.get_details_bad_request().unwrap();
    assert!(
        details.field_violations[0]
            .description
            .contains("on the wanted start date"),
        "{details:?}"
    );

    // Twenty in the start year is still in a band; moving the start a year later is refused.
    content.wanted_start_date.as_mut().unwrap().year = start_year - 1;
    let opened = open(&fixture, &staff, content, &new_key()).await.unwrap();
    let later = pb::PlacementRequest {
        id: opened.id.clone(),
        wanted_start_date: Some(common::Date {
            year: start_year,
            month: 1,
            day: 15,
        }),
        ..Default::default()
    };
    let status = update(
        &fixture,
        &staff,
        later,
        &["wanted_start_date"],
        &opened.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request.sibling_birth_years[1]"]
    );
    // So is naming, in an update, a sibling who is over 20 on the stored start date.
    let opened = open(&fixture, &staff, placement_request("2080"), &new_key())
        .await
        .unwrap();
    let older = pb::PlacementRequest {
        id: opened.id.clone(),
        sibling_birth_years: vec![start_year - 21],
        ..Default::default()
    };
    let status = update(
        &fixture,
        &staff,
        older,
        &["sibling_birth_years"],
        &opened.etag,
    )
    .await
    .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request.sibling_birth_years[0]"]
    );
}

/// Jönköping raises requests per district: a request names one of the municipality's districts.
#[tokio::test]
async fn districts_follow_the_county_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jonkoping.toml");
    std::fs::write(
        &file,
        hearth_county::County::built_in_text("jonkoping").unwrap(),
    )
    .unwrap();
    let Some(hearth) = TestHearth::builder(vec![Box::new(Intake)])
        .setting("county.scb_code", "06")
        .setting("county.file", &file.display().to_string())
        .start()
        .await
    else {
        return;
    };
    let fixture = Fixture {
        channel: hearth.channel().await,
        hearth,
    };
    let staff = fixture.staff();
    let mut content = placement_request("0680");
    content.proximity = None;
    let status = open(&fixture, &staff, content.clone(), &new_key())
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        ["placement_request.requesting_unit.district"]
    );
    content.requesting_unit.as_mut().unwrap().district = "soder".to_owned();
    let opened = open(&fixture, &staff, content, &new_key()).await.unwrap();
    assert_eq!(opened.requesting_unit.unwrap().district, "soder");
    let members = fixture
        .client()
        .list_member_municipalities(request(
            pb::ListMemberMunicipalitiesRequest::default(),
            &staff,
        ))
        .await
        .unwrap()
        .into_inner()
        .members;
    let jonkoping = members
        .iter()
        .find(|member| member.name == "Jönköping")
        .unwrap();
    assert_eq!(jonkoping.sub_region, "HMJ");
    assert_eq!(jonkoping.districts.len(), 3);
}
