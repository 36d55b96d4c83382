//! Europe/Stockholm local time, computed by hand.
//!
//! Calendar rules (14 days, six months) run on Stockholm dates, but the full time-zone database
//! (`chrono-tz`) is a large dependency for one zone whose rule has been fixed since 1996: the EU
//! rule, summer time (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
//! Sunday of October, otherwise UTC+1. Instants before 1996 (when Sweden ended summer time in
//! September) may be off by an hour; Hearth only handles recent instants. If the EU abolishes
//! the switch, this module is the one place to change.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeDelta, Utc, Weekday};

/// Central European Time, UTC+1 (winter).
const CET: FixedOffset = match FixedOffset::east_opt(3600) {
    Some(offset) => offset,
    None => panic!("UTC+1 is a valid offset"),
};

/// Central European Summer Time, UTC+2.
const CEST: FixedOffset = match FixedOffset::east_opt(2 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+2 is a valid offset"),
};

/// The last Sunday of a 31-day month (March and October are).
fn last_sunday_of_31_day_month(year: i32, month: u32) -> Option<NaiveDate> {
    let last_day = NaiveDate::from_ymd_opt(year, month, 31)?;
    let days_after_sunday = match last_day.weekday() {
        Weekday::Sun => 0,
        other => other.num_days_from_sunday(),
    };
    last_day.checked_sub_days(Days::new(u64::from(days_after_sunday)))
}

/// When summer time starts and ends in `year`, as UTC instants.
fn summer_time(year: i32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let starts = last_sunday_of_31_day_month(year, 3)?
        .and_hms_opt(1, 0, 0)?
        .and_utc();
    let ends = last_sunday_of_31_day_month(year, 10)?
        .and_hms_opt(1, 0, 0)?
        .and_utc();
    Some((starts, ends))
}

/// Stockholm's offset from UTC at `instant`: +01:00 in winter, +02:00 in summer.
pub fn stockholm_offset(instant: DateTime<Utc>) -> FixedOffset {
    match summer_time(instant.year()) {
        Some((starts, ends)) if starts <= instant && instant < ends => CEST,
        _ => CET,
    }
}

/// `instant` as Stockholm wall-clock time.
pub fn to_stockholm(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    instant.with_timezone(&stockholm_offset(instant))
}

/// The calendar date in Stockholm at `instant`.
pub fn stockholm_date(instant: DateTime<Utc>) -> NaiveDate {
    to_stockholm(instant).date_naive()
}

/// The UTC instant at which `date` begins in Stockholm (local midnight).
///
/// Midnight always exists and is unambiguous: the switches happen at 02:00/03:00 local time.
pub fn stockholm_day_start(date: NaiveDate) -> DateTime<Utc> {
    let midnight_as_utc = date.and_time(chrono::NaiveTime::MIN).and_utc();
    // Guess winter time, then correct if midnight falls in summer time.
    let guess = midnight_as_utc - TimeDelta::hours(1);
    if stockholm_offset(guess) == CEST {
        midnight_as_utc - TimeDelta::hours(2)
    } else {
        guess
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn last_sundays_match_the_calendar() {
        // 2025: 30 March and 26 October; 2026: 29 March and 25 October; 2024: 31 March, 27 Oct.
        assert_eq!(summer_time(2025).unwrap().0, utc("2025-03-30T01:00:00Z"));
        assert_eq!(summer_time(2025).unwrap().1, utc("2025-10-26T01:00:00Z"));
        assert_eq!(summer_time(2026).unwrap().0, utc("2026-03-29T01:00:00Z"));
        assert_eq!(summer_time(2026).unwrap().1, utc("2026-10-25T01:00:00Z"));
        assert_eq!(summer_time(2024).unwrap().0, utc("2024-03-31T01:00:00Z"));
        assert_eq!(summer_time(2024).unwrap().1, utc("2024-10-27T01:00:00Z"));
    }

    #[test]
    fn offset_switches_at_one_utc() {
        assert_eq!(stockholm_offset(utc("2026-03-29T00:59:59Z")), CET);
        assert_eq!(stockholm_offset(utc("2026-03-29T01:00:00Z")), CEST);
        assert_eq!(stockholm_offset(utc("2026-10-25T00:59:59Z")), CEST);
        assert_eq!(stockholm_offset(utc("2026-10-25T01:00:00Z")), CET);
        assert_eq!(stockholm_offset(utc("2026-07-01T12:00:00Z")), CEST);
        assert_eq!(stockholm_offset(utc("2026-01-01T12:00:00Z")), CET);
    }

    #[test]
    fn wall_clock_around_the_spring_switch() {
        // 01:59:59 local (CET) is followed by 03:00:00 local (CEST).
        assert_eq!(
            to_stockholm(utc("2026-03-29T00:59:59Z")).to_rfc3339(),
            "2026-03-29T01:59:59+01:00"
        );
        assert_eq!(
            to_stockholm(utc("2026-03-29T01:00:00Z")).to_rfc3339(),
            "2026-03-29T03:00:00+02:00"
        );
    }

    #[test]
    fn dates_near_midnight() {
        // 23:30 UTC is already tomorrow in Stockholm, by one hour in winter and two in summer.
        assert_eq!(
            stockholm_date(utc("2026-01-14T22:59:59Z")),
            date(2026, 1, 14)
        );
        assert_eq!(
            stockholm_date(utc("2026-01-14T23:00:00Z")),
            date(2026, 1, 15)
        );
        assert_eq!(
            stockholm_date(utc("2026-06-14T21:59:59Z")),
            date(2026, 6, 14)
        );
        assert_eq!(
            stockholm_date(utc("2026-06-14T22:00:00Z")),
            date(2026, 6, 15)
        );
        // New Year's Eve in UTC is New Year's Day in Stockholm.
        assert_eq!(
            stockholm_date(utc("2025-12-31T23:30:00Z")),
            date(2026, 1, 1)
        );
    }

    #[test]
    fn dates_on_switch_days() {
        // The night of the autumn switch: 22:00 UTC Saturday is midnight CEST.
        assert_eq!(
            stockholm_date(utc("2026-10-24T21:59:59Z")),
            date(2026, 10, 24)
        );
        assert_eq!(
            stockholm_date(utc("2026-10-24T22:00:00Z")),
            date(2026, 10, 25)
        );
        // The spring switch night: midnight is still CET, 23:00 UTC Saturday.
        assert_eq!(
            stockholm_date(utc("2026-03-28T22:59:59Z")),
            date(2026, 3, 28)
        );
        assert_eq!(
            stockholm_date(utc("2026-03-28T23:00:00Z")),
            date(2026, 3, 29)
        );
    }

    #[test]
    fn day_starts() {
        assert_eq!(
            stockholm_day_start(date(2026, 1, 15)),
            utc("2026-01-14T23:00:00Z")
        );
        assert_eq!(
            stockholm_day_start(date(2026, 6, 15)),
            utc("2026-06-14T22:00:00Z")
        );
        assert_eq!(
            stockholm_day_start(date(2026, 3, 29)),
            utc("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            stockholm_day_start(date(2026, 3, 30)),
            utc("2026-03-29T22:00:00Z")
        );
        assert_eq!(
            stockholm_day_start(date(2026, 10, 25)),
            utc("2026-10-24T22:00:00Z")
        );
        assert_eq!(
            stockholm_day_start(date(2026, 10, 26)),
            utc("2026-10-25T23:00:00Z")
        );
    }

    #[test]
    fn day_start_is_consistent_with_date_for_every_day_of_a_few_years() {
        let mut day = date(2024, 1, 1);
        while day < date(2028, 1, 1) {
            let start = stockholm_day_start(day);
            assert_eq!(stockholm_date(start), day, "{day}");
            assert_eq!(
                stockholm_date(start - TimeDelta::seconds(1)),
                day.pred_opt().unwrap(),
                "{day}"
            );
            day = day.succ_opt().unwrap();
        }
    }
}
