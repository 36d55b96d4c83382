//! The order of the unit's work list of open requests, and why each stands where it does.
//!
//! Acute requests first (the child needs a home within days); then children in an emergency
//! home, fewest days to the six-month limit first (the law's limit: at most four months of
//! investigation and two more in the emergency home); then the rest by the age of the request,
//! oldest first. Never by the size of the requesting municipality: the pool is shared on equal
//! terms. The request id breaks the last ties, so the order is total.

use chrono::{Months, NaiveDate};

use super::pool::Urgency;
use super::text::{Sentence, count};

/// What the order reads of an open request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub id: String,
    pub urgency: Urgency,
    /// The date the request was opened.
    pub opened_on: NaiveDate,
    /// Since when the child has lived in an emergency home; `None` when it does not.
    pub in_emergency_home_since: Option<NaiveDate>,
}

/// Why a request stands where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An acute placement, opened `days_open` days ago.
    Acute { days_open: i64 },
    /// The child is in an emergency home; `days_left` to the six-month `limit` (negative once
    /// it has passed).
    EmergencyHome { limit: NaiveDate, days_left: i64 },
    /// Neither: by the age of the request.
    Age { days_open: i64 },
}

/// One place in the work list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem<'a> {
    pub request: &'a OpenRequest,
    pub reason: Reason,
}

/// The six-month limit for a child in an emergency home since `since`: the same day six
/// calendar months later, or that month's last day when the day does not exist (31 August →
/// 28 or 29 February). `None` only past the end of the calendar.
pub fn six_month_limit(since: NaiveDate) -> Option<NaiveDate> {
    // chrono clamps to the month's last day, which is the rule.
    since.checked_add_months(Months::new(6))
}

/// The work list on `today`, in order.
pub fn order(requests: &[OpenRequest], today: NaiveDate) -> Vec<WorkItem<'_>> {
    let mut items: Vec<WorkItem<'_>> = requests
        .iter()
        .map(|request| WorkItem {
            request,
            reason: reason(request, today),
        })
        .collect();
    items.sort_by(|a, b| {
        sort_key(a)
            .cmp(&sort_key(b))
            .then_with(|| a.request.id.cmp(&b.request.id))
    });
    items
}

fn reason(request: &OpenRequest, today: NaiveDate) -> Reason {
    let days_open = (today - request.opened_on).num_days();
    if request.urgency == Urgency::Acute {
        return Reason::Acute { days_open };
    }
    match request.in_emergency_home_since.and_then(six_month_limit) {
        Some(limit) => Reason::EmergencyHome {
            limit,
            days_left: (limit - today).num_days(),
        },
        None => Reason::Age { days_open },
    }
}

/// (tier, days to the limit, the opening date): smaller first.
fn sort_key(item: &WorkItem<'_>) -> (u8, i64, NaiveDate) {
    match item.reason {
        Reason::Acute { .. } => (0, 0, item.request.opened_on),
        Reason::EmergencyHome { days_left, .. } => (1, days_left, item.request.opened_on),
        Reason::Age { .. } => (2, 0, item.request.opened_on),
    }
}

impl Reason {
    pub fn explain(&self) -> Sentence {
        match *self {
            Reason::Acute { days_open } => Sentence::new(
                format!(
                    "Akut: barnet behöver ett hem inom några dagar (öppnad för {} sedan)",
                    count(days(days_open), "dag", "dagar")
                ),
                format!(
                    "Acute: the child needs a home within days (opened {} ago)",
                    count(days(days_open), "day", "days")
                ),
            ),
            Reason::EmergencyHome { limit, days_left } if days_left >= 0 => Sentence::new(
                format!(
                    "Barnet bor i jourhem; sexmånadersgränsen är {limit}, om {}",
                    count(days(days_left), "dag", "dagar")
                ),
                format!(
                    "The child lives in an emergency home; the six-month limit is {limit}, in {}",
                    count(days(days_left), "day", "days")
                ),
            ),
            Reason::EmergencyHome { limit, days_left } => Sentence::new(
                format!(
                    "Barnet bor i jourhem; sexmånadersgränsen {limit} passerades för {} sedan",
                    count(days(-days_left), "dag", "dagar")
                ),
                format!(
                    "The child lives in an emergency home; the six-month limit {limit} passed {} ago",
                    count(days(-days_left), "day", "days")
                ),
            ),
            Reason::Age { days_open } => Sentence::new(
                format!(
                    "Förfrågan öppnades för {} sedan",
                    count(days(days_open), "dag", "dagar")
                ),
                format!(
                    "The request was opened {} ago",
                    count(days(days_open), "day", "days")
                ),
            ),
        }
    }
}

fn days(n: i64) -> usize {
    usize::try_from(n.max(0)).unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::fixtures::date;
    use proptest::prelude::*;

    #[test]
    fn six_months_is_the_same_day_or_the_months_last() {
        assert_eq!(six_month_limit(date(2026, 1, 15)), Some(date(2026, 7, 15)));
        assert_eq!(six_month_limit(date(2025, 8, 31)), Some(date(2026, 2, 28)));
        assert_eq!(
            six_month_limit(date(2027, 8, 31)),
            Some(date(2028, 2, 29)),
            "leap year"
        );
        assert_eq!(six_month_limit(date(2027, 8, 29)), Some(date(2028, 2, 29)));
        assert_eq!(six_month_limit(date(2025, 8, 29)), Some(date(2026, 2, 28)));
        assert_eq!(six_month_limit(date(2025, 12, 31)), Some(date(2026, 6, 30)));
        assert_eq!(six_month_limit(date(2026, 3, 31)), Some(date(2026, 9, 30)));
        assert_eq!(six_month_limit(date(2025, 9, 30)), Some(date(2026, 3, 30)));
    }

    fn open(
        id: &str,
        urgency: Urgency,
        opened_on: NaiveDate,
        since: Option<NaiveDate>,
    ) -> OpenRequest {
        OpenRequest {
            id: id.to_owned(),
            urgency,
            opened_on,
            in_emergency_home_since: since,
        }
    }

    #[test]
    fn acute_first_then_the_emergency_home_limit_then_the_age() {
        let today = date(2026, 3, 1);
        let requests = vec![
            open("old", Urgency::Planned, date(2025, 11, 1), None),
            open("newer", Urgency::Soon, date(2026, 2, 1), None),
            open(
                "limit-far",
                Urgency::Planned,
                date(2026, 2, 20),
                Some(date(2026, 1, 10)),
            ),
            open(
                "limit-near",
                Urgency::Soon,
                date(2026, 2, 25),
                Some(date(2025, 9, 20)),
            ),
            open(
                "limit-passed",
                Urgency::Planned,
                date(2026, 2, 26),
                Some(date(2025, 8, 31)),
            ),
            open("acute-new", Urgency::Acute, date(2026, 2, 28), None),
            open(
                "acute-old",
                Urgency::Acute,
                date(2026, 2, 27),
                Some(date(2026, 2, 27)),
            ),
        ];
        let list = order(&requests, today);
        let ids: Vec<&str> = list.iter().map(|item| item.request.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "acute-old",
                "acute-new",
                "limit-passed",
                "limit-near",
                "limit-far",
                "old",
                "newer"
            ]
        );
        assert_eq!(
            list[2].reason,
            Reason::EmergencyHome {
                limit: date(2026, 2, 28),
                days_left: -1
            }
        );
        let explained: Vec<Sentence> = list.iter().map(|item| item.reason.explain()).collect();
        assert_eq!(
            [
                explained[2].en.as_str(),
                explained[3].sv.as_str(),
                explained[0].sv.as_str(),
                explained[5].en.as_str(),
            ],
            [
                "The child lives in an emergency home; the six-month limit 2026-02-28 passed 1 day ago",
                "Barnet bor i jourhem; sexmånadersgränsen är 2026-03-20, om 19 dagar",
                "Akut: barnet behöver ett hem inom några dagar (öppnad för 2 dagar sedan)",
                "The request was opened 120 days ago",
            ]
        );
    }

    #[test]
    fn on_the_limit_day_no_days_are_left() {
        let requests = vec![open(
            "a",
            Urgency::Planned,
            date(2026, 1, 1),
            Some(date(2025, 8, 31)),
        )];
        let list = order(&requests, date(2026, 2, 28));
        assert_eq!(
            list[0].reason,
            Reason::EmergencyHome {
                limit: date(2026, 2, 28),
                days_left: 0
            }
        );
        assert_eq!(
            list[0].reason.explain().en,
            "The child lives in an emergency home; the six-month limit is 2026-02-28, in 0 days"
        );
    }

    proptest! {
        #[test]
        fn the_order_is_total_and_ignores_the_input_order(
            raw in proptest::collection::vec((0u8..3, 0i64..300, proptest::option::of(0i64..300)), 0..30),
        ) {
            let today = date(2026, 6, 1);
            let urgency = [Urgency::Acute, Urgency::Soon, Urgency::Planned];
            let requests: Vec<OpenRequest> = raw
                .iter()
                .enumerate()
                .map(|(i, (u, opened, since))| open(
                    &format!("r{i:02}"),
                    urgency[usize::from(*u)],
                    today - chrono::Duration::days(*opened),
                    since.map(|days| today - chrono::Duration::days(days)),
                ))
                .collect();
            let mut reversed = requests.clone();
            reversed.reverse();
            let ids = |list: Vec<WorkItem<'_>>| list.iter().map(|i| i.request.id.clone()).collect::<Vec<_>>();
            prop_assert_eq!(ids(order(&requests, today)), ids(order(&reversed, today)));
            // Every acute request stands before every other.
            let list = order(&requests, today);
            let first_other = list.iter().position(|i| i.request.urgency != Urgency::Acute).unwrap_or(list.len());
            prop_assert!(list[first_other..].iter().all(|i| i.request.urgency != Urgency::Acute));
        }
    }
}
