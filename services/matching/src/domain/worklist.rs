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
