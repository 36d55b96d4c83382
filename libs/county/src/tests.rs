use super::*;
use proptest::prelude::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn jonkoping() -> County {
    let slug = CountySlug::parse("jonkoping").unwrap();
    County::load(&slug, CountyCode::parse("06").unwrap(), "Jönköping", None).unwrap()
}

fn parse_dalarna(text: &str) -> Result<County, CountyError> {
    let slug = CountySlug::parse("dalarna").unwrap();
    County::parse(
        &slug,
        CountyCode::parse("20").unwrap(),
        "Dalarna",
        "test.toml",
        text,
    )
}

#[test]
fn built_in_files_are_valid() {
    let dalarna = County::dalarna();
    assert_eq!(dalarna.members().len(), 12);
    let falun = dalarna
        .member(MunicipalityCode::parse("2080").unwrap())
        .unwrap();
    assert_eq!(falun.name, "Falun");
    assert_eq!(
        falun.main_town,
        Some(GeoPoint {
            latitude_microdegrees: 60_606_500,
            longitude_microdegrees: 15_635_500
        })
    );
    assert_eq!(dalarna.fee_levels().len(), 4);

    let jonkoping = jonkoping();
    assert_eq!(jonkoping.members().len(), 12);
    let city = jonkoping
        .member(MunicipalityCode::parse("0680").unwrap())
        .unwrap();
    assert_eq!(city.sub_region.as_deref(), Some("HMJ"));
    let districts: Vec<_> = city.districts.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(districts, ["vaster", "soder", "oster"]);
}

#[test]
fn a_county_without_a_built_in_file_needs_one() {
    let slug = CountySlug::parse("skane").unwrap();
    let error = County::load(&slug, CountyCode::parse("12").unwrap(), "Skåne", None).unwrap_err();
    assert!(error.to_string().contains("county.file"), "{error}");
}

#[test]
fn requesting_units_follow_districts() {
    let county = jonkoping();
    let today = date("2026-11-25");
    let city = MunicipalityCode::parse("0680").unwrap();
    let habo = MunicipalityCode::parse("0643").unwrap();
    assert!(
        county
            .check_requesting_unit(city, Some("soder"), today)
            .is_ok()
    );
    assert!(matches!(
        county.check_requesting_unit(city, None, today),
        Err(MembershipError::DistrictRequired { .. })
    ));
    assert!(matches!(
        county.check_requesting_unit(city, Some("norr"), today),
        Err(MembershipError::UnknownDistrict { .. })
    ));
    assert!(county.check_requesting_unit(habo, None, today).is_ok());
    assert!(matches!(
        county.check_requesting_unit(habo, Some("soder"), today),
        Err(MembershipError::UnknownDistrict { .. })
    ));
    let falun = MunicipalityCode::parse("2080").unwrap();
    assert_eq!(
        county.check_requesting_unit(falun, None, today),
        Err(MembershipError::NotMember(falun))
    );
}

#[test]
fn membership_periods_are_inclusive() {
    let county = parse_dalarna(
        r#"
[[members]]
code = "2080"
name = "Falun"
member_from = "2024-03-01"
member_to = "2026-06-30"
"#,
    )
    .unwrap();
    let falun = MunicipalityCode::parse("2080").unwrap();
    assert!(county.member_on(falun, date("2024-02-29")).is_err());
    assert!(county.member_on(falun, date("2024-03-01")).is_ok());
    assert!(county.member_on(falun, date("2026-06-30")).is_ok());
    assert_eq!(
        county.member_on(falun, date("2026-07-01")),
        Err(MembershipError::NotMemberOn {
            code: falun,
            date: date("2026-07-01")
        })
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("members = []", "`members`"),
        (
            "[[members]]\ncode = \"0680\"\nname = \"Jönköping\"",
            "`members[0].code` 0680 is not in county 20",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[[members]]\ncode = \"2080\"\nname = \"Falun\"",
            "`members[1].code` 2080 is listed twice",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \" \"",
            "`members[0].name`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\nmember_from = \"2025-01-01\"\nmember_to = \"2024-01-01\"",
            "`members[0].member_to`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\nmain_town = { latitude = \"91\", longitude = \"15\" }",
            "`members[0].main_town.latitude`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[[members.districts]]\ncode = \"Norr\"\nname = \"x\"",
            "`members[0].districts[0].code`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[[fee_levels]]\ncode = \"1\"\nname = \"x\"\nmonthly_fee_ore = -1",
            "`fee_levels[0].monthly_fee_ore`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\nsize = 3",
            "unknown field `size`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\ntime_limit_days = 0",
            "`assessment.time_limit_days` must be 1 to 3650 days",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\nretention_days = -5",
            "`assessment.retention_days`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\npriority = [\"age_band_13_20\", \"teenagers\"]",
            "`assessment.priority[1]` `teenagers` is not a priority rule",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\npriority = [\"earlier_experience\", \"earlier_experience\"]",
            "`assessment.priority[1]` `earlier_experience` is listed twice",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\npriority = [\"commission_kind_network_home\"]",
            "`assessment.priority[0]`",
        ),
        (
            "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[assessment]\ntime_limit = 3",
            "unknown field `time_limit`",
        ),
    ];
    for (text, expected) in cases {
        let error = parse_dalarna(text).unwrap_err().to_string();
        assert!(error.contains(expected), "{text:?} gave {error}");
        assert!(error.contains("test.toml"), "{error}");
    }
}

#[test]
fn assessment_settings_default_and_parse() {
    let without = parse_dalarna("[[members]]\ncode = \"2080\"\nname = \"Falun\"").unwrap();
    assert_eq!(without.assessment(), &AssessmentSettings::default());
    let with = parse_dalarna(
        r#"
[[members]]
code = "2080"
name = "Falun"

[assessment]
time_limit_days = 90
priority = ["commission_kind_emergency_home", "age_band_7_12"]
"#,
    )
    .unwrap();
    let settings = with.assessment();
    assert_eq!(settings.time_limit_days, 90);
    assert_eq!(
        settings.retention_days,
        AssessmentSettings::DEFAULT_RETENTION_DAYS
    );
    assert_eq!(
        settings.priority,
        [
            PriorityRule::CommissionKind(hearth_domain::CommissionKind::EmergencyHome),
            PriorityRule::AgeBand(hearth_domain::AgeBand::Age7To12),
        ]
    );
    // The built-in files carry the section.
    assert_eq!(County::dalarna().assessment().time_limit_days, 120);
    assert_eq!(jonkoping().assessment().retention_days, 365);
}

#[test]
fn priority_rank_is_the_first_matching_rule() {
    use hearth_domain::{AgeBand, CommissionKind};
    let settings = AssessmentSettings::default();
    let rank = |bands: &[AgeBand], kinds: &[CommissionKind], experience: bool| {
        settings.priority_rank(&FamilyOpenness {
            age_bands: bands,
            commission_kinds: kinds,
            has_earlier_experience: experience,
        })
    };
    let long_term = [CommissionKind::LongTermFosterHome];
    assert_eq!(rank(&[AgeBand::Age13To20], &long_term, true), 1);
    assert_eq!(rank(&[AgeBand::Age0To6], &long_term, true), 2);
    assert_eq!(
        rank(&[AgeBand::Age0To6], &[CommissionKind::EmergencyHome], false),
        3
    );
    assert_eq!(rank(&[AgeBand::Age0To6], &long_term, false), 4);
    for name in PriorityRule::known_names() {
        assert_eq!(PriorityRule::parse(&name).unwrap().name(), name);
    }
}

#[test]
fn decimal_degrees_convert_exactly() {
    assert_eq!(parse_decimal_degrees("60.6065", 90), Ok(60_606_500));
    assert_eq!(parse_decimal_degrees("-14.1", 180), Ok(-14_100_000));
    assert_eq!(parse_decimal_degrees("0", 90), Ok(0));
    assert_eq!(parse_decimal_degrees("180.000000", 180), Ok(180_000_000));
    for bad in [
        "",
        "-",
        ".5",
        "1.",
        "1.1234567",
        "9999",
        "1e3",
        "+1",
        "180.000001",
    ] {
        assert!(parse_decimal_degrees(bad, 180).is_err(), "{bad}");
    }
}

proptest! {
    #[test]
    fn decimal_degrees_never_panic(text in ".{0,20}") {
        let _ = parse_decimal_degrees(&text, 180);
    }

    #[test]
    fn decimal_degrees_round_trip(micro in -180_000_000_i32..=180_000_000) {
        let sign = if micro < 0 { "-" } else { "" };
        let magnitude = micro.unsigned_abs();
        let text = format!("{sign}{}.{:06}", magnitude / 1_000_000, magnitude % 1_000_000);
        prop_assert_eq!(parse_decimal_degrees(&text, 180), Ok(micro));
    }
}

#[test]
fn the_code_and_name_come_from_the_file_unless_the_settings_say_them() {
    let slug = CountySlug::parse("jonkoping").unwrap();
    let county = County::resolve(&slug, None, None, None).unwrap();
    assert_eq!(county.code().to_string(), "06");
    assert_eq!(county.name(), "Jönköping");

    // Said, they must agree with the file: the error names both.
    let error = County::resolve(&slug, Some(CountyCode::parse("20").unwrap()), None, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("county.scb_code is `20`"), "{error}");
    assert!(error.contains("county 06 (Jönköping)"), "{error}");
    assert!(error.contains("built-in jonkoping.toml"), "{error}");

    // A file may say its code and name; a setting that differs is refused.
    let text = "scb_code = \"20\"\nname = \"Dalarnas län\"\n[[members]]\ncode = \"2080\"\nname = \"Falun\"";
    let dalarna = CountySlug::parse("dalarna").unwrap();
    let county = County::parse_with(&dalarna, None, None, "test.toml", text).unwrap();
    assert_eq!(county.name(), "Dalarnas län");
    let error = County::parse_with(&dalarna, None, Some("Dalarna"), "test.toml", text)
        .unwrap_err()
        .to_string();
    assert!(error.contains("county.name is `Dalarna`"), "{error}");
    assert!(error.contains("`Dalarnas län`"), "{error}");
    let error = County::parse_with(
        &dalarna,
        Some(CountyCode::parse("06").unwrap()),
        None,
        "test.toml",
        text,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("`scb_code` is 20"), "{error}");
}

#[test]
fn matching_settings_default_and_parse() {
    let without = parse_dalarna("[[members]]\ncode = \"2080\"\nname = \"Falun\"").unwrap();
    assert_eq!(without.matching(), &MatchingSettings::default());
    assert_eq!(without.matching().answer_days, 14);
    assert_eq!(without.matching().weights.needs_experience, 40);
    // The built-in files leave the section out.
    assert_eq!(County::dalarna().matching(), &MatchingSettings::default());
    assert_eq!(jonkoping().matching(), &MatchingSettings::default());

    let with = parse_dalarna(
        r#"
[[members]]
code = "2080"
name = "Falun"

[matching]
answer_days = 21

[matching.weights]
needs_experience = 60
waiting = 0
"#,
    )
    .unwrap();
    assert_eq!(
        with.matching(),
        &MatchingSettings {
            answer_days: 21,
            weights: ScoreWeights {
                needs_experience: 60,
                waiting: 0,
                ..ScoreWeights::default()
            },
        }
    );
    // Weights alone keep the default window; the bounds are accepted.
    let weights_only = parse_dalarna(
        "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n[matching.weights]\ndistance = 1000\n[matching]\nanswer_days = 60",
    )
    .unwrap();
    assert_eq!(weights_only.matching().weights.distance, 1000);
    assert_eq!(weights_only.matching().answer_days, 60);
}

#[test]
fn bad_matching_settings_name_the_key() {
    let falun = "[[members]]\ncode = \"2080\"\nname = \"Falun\"\n";
    let mut cases: Vec<(String, String)> = [
        (
            "[matching]\nanswer_days = 0",
            "`matching.answer_days` must be 1 to 60 days (got 0)",
        ),
        (
            "[matching]\nanswer_days = 61",
            "`matching.answer_days` must be 1 to 60 days (got 61)",
        ),
        ("[matching]\nanswer_days = -3", "`matching.answer_days`"),
        (
            "[matching]\nanswer_window = 14",
            "unknown field `answer_window`",
        ),
        ("[matching.weights]\nwait = 5", "unknown field `wait`"),
        ("[matching.weights]\ndistance = \"20\"", "invalid type"),
    ]
    .iter()
    .map(|(text, expected)| ((*text).to_owned(), (*expected).to_owned()))
    .collect();
    for name in ScoreWeights::NAMES {
        for bad in ["1001", "-1"] {
            cases.push((
                format!("[matching.weights]\n{name} = {bad}"),
                format!("`matching.weights.{name}` must be 0 to 1000 points (got {bad})"),
            ));
        }
    }
    for (section, expected) in cases {
        let text = format!("{falun}{section}");
        let error = parse_dalarna(&text).unwrap_err().to_string();
        assert!(error.contains(&expected), "{text:?} gave {error}");
        assert!(error.contains("test.toml"), "{error}");
    }
}
