//! Builders for the tests: a request from Falun and a family in Falun that passes every hard
//! constraint, for each test to change the one thing it is about.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use hearth_county::{County, GeoPoint};
use hearth_domain::{AgeBand, CommissionKind, MunicipalityCode};

use super::pool::{
    AvailabilityKind, AvailabilityPeriod, Need, PoolFamily, Proximity, Request, SupportKind,
    Urgency, family_position, main_town,
};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn code(text: &str) -> MunicipalityCode {
    MunicipalityCode::parse(text).unwrap()
}

pub fn point(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint {
        latitude_microdegrees: (lat * 1e6).round() as i32,
        longitude_microdegrees: (lon * 1e6).round() as i32,
    }
}

/// A Dalarna county of Falun alone with `section` (TOML) added to its file.
pub fn county_with(section: &str) -> County {
    County::parse(
        &hearth_domain::CountySlug::parse("dalarna").unwrap(),
        hearth_domain::CountyCode::parse("20").unwrap(),
        "Dalarna",
        "test.toml",
        &format!("[[members]]\ncode = \"2080\"\nname = \"Falun\"\n{section}"),
    )
    .unwrap()
}

pub const FALUN: &str = "2080";
pub const BORLANGE: &str = "2081";

/// Available from 1 January 2026 on, open-ended.
pub fn available_from(start: NaiveDate) -> AvailabilityPeriod {
    AvailabilityPeriod {
        kind: AvailabilityKind::Available,
        start,
        end: None,
    }
}

/// A family in Falun (main town from the county file) that takes every age band and kind.
pub fn family(id: &str) -> PoolFamily {
    let county = County::dalarna();
    PoolFamily {
        id: id.to_owned(),
        capacity: 2,
        placed_now: 0,
        age_bands: AgeBand::ALL.to_vec(),
        commission_kinds: CommissionKind::ALL.to_vec(),
        accepted_needs: vec![Need::Trauma],
        fee_level_rank: 0,
        home_municipality: code(FALUN),
        position: family_position(&county, code(FALUN), None),
        basic_course_done: true,
        support_needs: vec![],
        has_earlier_experience: false,
        waiting_since: Some(date(2026, 1, 1)),
        availability: vec![available_from(date(2026, 1, 1))],
        left_pool: false,
        held_by_proposal: false,
    }
}

/// A request from Falun for a child of 7–12 with trauma, a long-term foster home, starting on
/// 1 March 2026, no proximity limit.
pub fn request() -> Request {
    let county = County::dalarna();
    Request {
        age_band: AgeBand::Age7To12,
        sibling_age_bands: vec![],
        commission_kind: CommissionKind::LongTermFosterHome,
        needs: vec![Need::Trauma],
        max_fee_level_rank: 1,
        proximity: Proximity::default(),
        origin: main_town(&county, code(FALUN)),
        wanted_start_date: date(2026, 3, 1),
        offered_support: vec![SupportKind::ExtraSupervision],
        urgency: Urgency::Planned,
        in_emergency_home_since: None,
    }
}
