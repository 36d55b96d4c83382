//! Conversions between the shared protobuf value types (`hearth.common.v1`) and the domain's
//! (`hearth-domain`), in one place for every service. Enums from the wire arrive as `i32`: an
//! unknown or unspecified value converts to `None`, and the caller names the field in its error.

use crate::common::v1 as pb;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hearth_domain::{
    AgeBand, CommissionKind, MunicipalityCode, MunicipalityCodeError, Need, SupportKind,
};

/// The domain age band of a wire value; `None` for unspecified or unknown.
pub fn age_band(value: i32) -> Option<AgeBand> {
    match pb::AgeBand::try_from(value).ok()? {
        pb::AgeBand::Unspecified => None,
        pb::AgeBand::AgeBand06 => Some(AgeBand::Age0To6),
        pb::AgeBand::AgeBand712 => Some(AgeBand::Age7To12),
        pb::AgeBand::AgeBand1320 => Some(AgeBand::Age13To20),
    }
}

/// The wire value of a domain age band.
pub fn age_band_to_proto(band: AgeBand) -> pb::AgeBand {
    match band {
        AgeBand::Age0To6 => pb::AgeBand::AgeBand06,
        AgeBand::Age7To12 => pb::AgeBand::AgeBand712,
        AgeBand::Age13To20 => pb::AgeBand::AgeBand1320,
    }
}

/// The domain commission kind of a wire value; `None` for unspecified or unknown.
pub fn commission_kind(value: i32) -> Option<CommissionKind> {
    match pb::CommissionKind::try_from(value).ok()? {
        pb::CommissionKind::Unspecified => None,
        pb::CommissionKind::LongTermFosterHome => Some(CommissionKind::LongTermFosterHome),
        pb::CommissionKind::EmergencyHome => Some(CommissionKind::EmergencyHome),
        pb::CommissionKind::ContactFamily => Some(CommissionKind::ContactFamily),
        pb::CommissionKind::NetworkHome => Some(CommissionKind::NetworkHome),
    }
}

/// The wire value of a domain commission kind.
pub fn commission_kind_to_proto(kind: CommissionKind) -> pb::CommissionKind {
    match kind {
        CommissionKind::LongTermFosterHome => pb::CommissionKind::LongTermFosterHome,
        CommissionKind::EmergencyHome => pb::CommissionKind::EmergencyHome,
        CommissionKind::ContactFamily => pb::CommissionKind::ContactFamily,
        CommissionKind::NetworkHome => pb::CommissionKind::NetworkHome,
    }
}

/// The wire value of a domain need.
pub fn need_to_proto(need: Need) -> pb::Need {
    match need {
        Need::BehaviouralProblems => pb::Need::BehaviouralProblems,
        Need::SubstanceUse => pb::Need::SubstanceUse,
        Need::Criminality => pb::Need::Criminality,
        Need::Trauma => pb::Need::Trauma,
        Need::Disability => pb::Need::Disability,
        Need::Neuropsychiatric => pb::Need::Neuropsychiatric,
        Need::SchoolProblems => pb::Need::SchoolProblems,
        Need::MentalHealth => pb::Need::MentalHealth,
        Need::Other => pb::Need::Other,
    }
}

/// The need of a wire value; `None` for unspecified or unknown.
pub fn need(value: i32) -> Option<Need> {
    match pb::Need::try_from(value).ok()? {
        pb::Need::Unspecified => None,
        pb::Need::BehaviouralProblems => Some(Need::BehaviouralProblems),
        pb::Need::SubstanceUse => Some(Need::SubstanceUse),
        pb::Need::Criminality => Some(Need::Criminality),
        pb::Need::Trauma => Some(Need::Trauma),
        pb::Need::Disability => Some(Need::Disability),
        pb::Need::Neuropsychiatric => Some(Need::Neuropsychiatric),
        pb::Need::SchoolProblems => Some(Need::SchoolProblems),
        pb::Need::MentalHealth => Some(Need::MentalHealth),
        pb::Need::Other => Some(Need::Other),
    }
}

/// The wire value of a domain support kind.
pub fn support_kind_to_proto(kind: SupportKind) -> pb::SupportKind {
    match kind {
        SupportKind::ExtraSupervision => pb::SupportKind::ExtraSupervision,
        SupportKind::ReliefCare => pb::SupportKind::ReliefCare,
        SupportKind::TreatmentSupport => pb::SupportKind::TreatmentSupport,
        SupportKind::SchoolSupport => pb::SupportKind::SchoolSupport,
        SupportKind::LossOfIncomeCompensation => pb::SupportKind::LossOfIncomeCompensation,
        SupportKind::Other => pb::SupportKind::Other,
    }
}

/// The support kind of a wire value; `None` for unspecified or unknown.
pub fn support_kind(value: i32) -> Option<SupportKind> {
    match pb::SupportKind::try_from(value).ok()? {
        pb::SupportKind::Unspecified => None,
        pb::SupportKind::ExtraSupervision => Some(SupportKind::ExtraSupervision),
        pb::SupportKind::ReliefCare => Some(SupportKind::ReliefCare),
        pb::SupportKind::TreatmentSupport => Some(SupportKind::TreatmentSupport),
        pb::SupportKind::SchoolSupport => Some(SupportKind::SchoolSupport),
        pb::SupportKind::LossOfIncomeCompensation => Some(SupportKind::LossOfIncomeCompensation),
        pb::SupportKind::Other => Some(SupportKind::Other),
    }
}

/// Parses a wire municipality code.
pub fn municipality_code(
    code: &pb::MunicipalityCode,
) -> Result<MunicipalityCode, MunicipalityCodeError> {
    MunicipalityCode::parse(&code.value)
}

/// The wire form of a municipality code.
pub fn municipality_code_to_proto(code: MunicipalityCode) -> pb::MunicipalityCode {
    pb::MunicipalityCode {
        value: code.to_string(),
    }
}

/// A calendar date from the wire; `None` when it is not a real date.
pub fn date(date: &pb::Date) -> Option<NaiveDate> {
    let month = u32::try_from(date.month).ok()?;
    let day = u32::try_from(date.day).ok()?;
    if !(1..=9999).contains(&date.year) {
        return None;
    }
    NaiveDate::from_ymd_opt(date.year, month, day)
}

/// The wire form of a calendar date.
pub fn date_to_proto(date: NaiveDate) -> pb::Date {
    pb::Date {
        year: date.year(),
        month: i32::try_from(date.month()).unwrap_or_default(),
        day: i32::try_from(date.day()).unwrap_or_default(),
    }
}

/// An instant from the wire; `None` when out of range.
pub fn timestamp(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

/// The wire form of an instant.
pub fn timestamp_to_proto(instant: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: i32::try_from(instant.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_refuse_unknown_values() {
        for band in AgeBand::ALL {
            assert_eq!(age_band(age_band_to_proto(band) as i32), Some(band));
        }
        for kind in CommissionKind::ALL {
            assert_eq!(
                commission_kind(commission_kind_to_proto(kind) as i32),
                Some(kind)
            );
        }
        assert_eq!(age_band(0), None);
        assert_eq!(age_band(99), None);
        assert_eq!(commission_kind(-1), None);
    }

    #[test]
    fn dates_must_be_real() {
        let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(date(&date_to_proto(leap)), Some(leap));
        for (year, month, day) in [
            (2025, 2, 29),
            (2026, 13, 1),
            (0, 1, 1),
            (2026, 1, 0),
            (2026, -1, 5),
        ] {
            assert_eq!(date(&pb::Date { year, month, day }), None);
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let now = DateTime::from_timestamp(1_764_000_000, 123_456_000).unwrap();
        assert_eq!(timestamp(&timestamp_to_proto(now)), Some(now));
        assert_eq!(
            timestamp(&prost_types::Timestamp {
                seconds: 1,
                nanos: -1
            }),
            None
        );
    }
}
