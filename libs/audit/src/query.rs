//! Reading the log: the query, its pages, the records, and the opaque page token.

use chrono::{DateTime, SubsecRound, Utc};
use hearth_auth::Role;
use hearth_domain::MunicipalityCode;

use crate::entity;
use crate::entry::{AuditAction, CorrelationId, Purpose, ResourceId, ResourceType};
use crate::error::AuditError;
use sha2::{Digest, Sha256};

/// The page size when the query asks for none (`page_size == 0`).
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page; larger requests are served this many (AIP-158).
pub const MAX_PAGE_SIZE: u32 = 500;

/// What an admin asks of the log. Every filter is optional; the result is newest first.
///
/// A page token is bound to the filters it was issued for: asking for the next page with other
/// filters is [`AuditError::InvalidQuery`]. The page size may change from page to page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only accesses by this principal (`sub`).
    pub subject: Option<String>,
    /// Only accesses to resources of this type.
    pub resource_type: Option<ResourceType>,
    /// Only accesses to the resource with this id.
    pub resource_id: Option<ResourceId>,
    /// Only accesses at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only accesses before this instant.
    pub to: Option<DateTime<Utc>>,
    /// How many records per page: `0` for [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// The previous page's `next_page_token`; `None` (or empty) for the first page.
    pub page_token: Option<String>,
}

impl AuditQuery {
    /// The number of records a page holds at most.
    pub fn effective_page_size(&self) -> u32 {
        match self.page_size {
            0 => DEFAULT_PAGE_SIZE,
            size => size.min(MAX_PAGE_SIZE),
        }
    }

    /// Where the page starts: `None` for the first page.
    pub(crate) fn position(&self) -> Result<Option<Position>, AuditError> {
        match self.page_token.as_deref() {
            None | Some("") => Ok(None),
            Some(token) => Position::decode(token, self.fingerprint()).map(Some),
        }
    }

    /// The filters, checked.
    pub(crate) fn check(&self) -> Result<(), AuditError> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to <= from
        {
            return Err(AuditError::InvalidQuery {
                field: "to",
                reason: "must be later than from",
            });
        }
        Ok(())
    }

    /// A hash of the filters, stored in page tokens (SHA-256, cut to 64 bits: the same in every
    /// process and build, unlike std's hashers).
    fn fingerprint(&self) -> u64 {
        let mut hash = Sha256::new();
        let mut text = |tag: u8, value: Option<&str>| {
            hash.update([tag]);
            if let Some(value) = value {
                hash.update((value.len() as u64).to_be_bytes());
                hash.update(value.as_bytes());
            }
        };
        text(1, self.subject.as_deref());
        text(2, self.resource_type.as_ref().map(ResourceType::as_str));
        text(3, self.resource_id.as_ref().map(ResourceId::as_str));
        for (tag, instant) in [(4, self.from), (5, self.to)] {
            hash.update([tag]);
            if let Some(instant) = instant {
                hash.update(
                    to_stored_precision(instant)
                        .timestamp_micros()
                        .to_be_bytes(),
                );
            }
        }
        let digest = hash.finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }
}

/// One page of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The records, newest first.
    pub records: Vec<AuditRecord>,
    /// Pass as [`AuditQuery::page_token`] for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// One recorded access, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The row's id (order of writing).
    pub id: i64,
    /// When it happened (microsecond precision).
    pub occurred_at: DateTime<Utc>,
    /// The principal's `sub`.
    pub subject: String,
    /// The principal's roles.
    pub roles: Vec<Role>,
    /// Municipality staff's municipality.
    pub municipality: Option<MunicipalityCode>,
    /// What was done.
    pub action: AuditAction,
    /// The resource's type.
    pub resource_type: ResourceType,
    /// The resource's id.
    pub resource_id: ResourceId,
    /// The RPC or job.
    pub purpose: Purpose,
    /// The request's trace or request id.
    pub correlation_id: Option<CorrelationId>,
}

impl TryFrom<entity::Model> for AuditRecord {
    type Error = AuditError;

    fn try_from(row: entity::Model) -> Result<Self, Self::Error> {
        let id = row.id;
        let corrupt =
            |column: &'static str, reason: &'static str| AuditError::Corrupt { id, column, reason };
        let roles = decode_roles(&row.roles).ok_or(corrupt("roles", "names an unknown role"))?;
        let municipality = row
            .municipality
            .as_deref()
            .map(MunicipalityCode::parse)
            .transpose()
            .map_err(|_| corrupt("municipality", "is not a municipality code"))?;
        let action = row
            .action
            .parse::<AuditAction>()
            .map_err(|_| corrupt("action", "is not an audit action"))?;
        Ok(Self {
            id,
            occurred_at: row.occurred_at,
            subject: row.subject,
            roles,
            municipality,
            action,
            resource_type: ResourceType::from_stored(row.resource_type),
            resource_id: ResourceId::from_stored(row.resource_id),
            purpose: Purpose::from_stored(row.purpose),
            correlation_id: row.correlation_id.map(CorrelationId::from_stored),
        })
    }
}

/// Role names as stored: comma-separated, in the principal's (sorted) order.
pub(crate) fn encode_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_roles(stored: &str) -> Option<Vec<Role>> {
    if stored.is_empty() {
        return Some(Vec::new());
    }
    stored
        .split(',')
        .map(|name| name.parse::<Role>().ok())
        .collect()
}

/// What the database keeps: PostgreSQL's `timestamptz` has microseconds, so every instant
/// written or compared is cut to microseconds on both backends (and a page token, which
/// carries an instant, matches the stored value exactly).
///
/// On SQLite the column holds sqlx's RFC 3339 text (`2026-03-01T09:00:00.5+00:00` is written
/// `…00.500+00:00`: always UTC, the fewest of 0, 3, 6 or 9 fraction digits that keep the
/// value), whose text order is time order: the date and time are fixed width, `+` sorts
/// before `.` and digits, and a longer fraction only adds non-zero digits. So `<`, `=` and
/// `ORDER BY` on the column compare instants there too.
pub(crate) fn to_stored_precision(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(6)
}

/// A position in the newest-first order: the last record of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) occurred_at: DateTime<Utc>,
    pub(crate) id: i64,
}

/// The token format's version, its first byte.
const TOKEN_VERSION: u8 = 1;
/// Version, microseconds, id, filter fingerprint.
const TOKEN_BYTES: usize = 1 + 8 + 8 + 8;

impl Position {
    /// The token for the page after this position, under `query`'s filters: lower-case hex of
    /// version, microseconds, id and filter fingerprint. Deterministic, so the same page of
    /// the same query always gives the same token.
    pub(crate) fn encode(self, query: &AuditQuery) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.push(TOKEN_VERSION);
        bytes.extend_from_slice(&self.occurred_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(&self.id.to_be_bytes());
        bytes.extend_from_slice(&query.fingerprint().to_be_bytes());
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn decode(token: &str, fingerprint: u64) -> Result<Self, AuditError> {
        let invalid = |reason| AuditError::InvalidQuery {
            field: "page_token",
            reason,
        };
        let bytes = decode_hex(token)
            .filter(|bytes| bytes.len() == TOKEN_BYTES && bytes[0] == TOKEN_VERSION)
            .ok_or(invalid("is not a token this service issued"))?;
        let word = |at: usize| -> [u8; 8] {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            word
        };
        if u64::from_be_bytes(word(17)) != fingerprint {
            return Err(invalid(
                "was issued for other filters; send the same filters as for the first page",
            ));
        }
        let occurred_at = DateTime::from_timestamp_micros(i64::from_be_bytes(word(1)))
            .ok_or(invalid("is not a token this service issued"))?;
        Ok(Self {
            occurred_at,
            id: i64::from_be_bytes(word(9)),
        })
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn tokens_round_trip_and_are_stable() {
        let query = AuditQuery {
            subject: Some("staff-1".into()),
            ..AuditQuery::default()
        };
        let position = Position {
            occurred_at: utc("2026-03-01T10:00:00.123456Z"),
            id: 42,
        };
        let token = position.encode(&query);
        assert_eq!(token, position.encode(&query));
        assert_eq!(token.len(), TOKEN_BYTES * 2);
        assert_eq!(
            Position::decode(&token, query.fingerprint()).unwrap(),
            position
        );
    }

    #[test]
    fn tokens_are_bound_to_their_filters() {
        let query = AuditQuery::default();
        let position = Position {
            occurred_at: utc("2026-03-01T10:00:00Z"),
            id: 7,
        };
        let token = position.encode(&query);
        let other = AuditQuery {
            resource_type: Some(ResourceType::parse("assessment").unwrap()),
            page_token: Some(token.clone()),
            ..AuditQuery::default()
        };
        assert!(matches!(
            other.position(),
            Err(AuditError::InvalidQuery {
                field: "page_token",
                ..
            })
        ));
        // The page size is not a filter.
        let resized = AuditQuery {
            page_size: 3,
            page_token: Some(token),
            ..AuditQuery::default()
        };
        assert_eq!(resized.position().unwrap(), Some(position));
    }

    #[test]
    fn garbage_tokens_are_refused() {
        for token in ["zz", "abc", "00", "é", &"0".repeat(TOKEN_BYTES * 2)] {
            let query = AuditQuery {
                page_token: Some(token.to_owned()),
                ..AuditQuery::default()
            };
            assert!(query.position().is_err(), "{token:?}");
        }
        let empty = AuditQuery {
            page_token: Some(String::new()),
            ..AuditQuery::default()
        };
        assert_eq!(empty.position().unwrap(), None);
    }

    #[test]
    fn page_sizes_default_and_clamp() {
        let size = |page_size| {
            AuditQuery {
                page_size,
                ..AuditQuery::default()
            }
            .effective_page_size()
        };
        assert_eq!(size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(size(7), 7);
        assert_eq!(size(100_000), MAX_PAGE_SIZE);
    }

    #[test]
    fn roles_round_trip() {
        let roles = [Role::MunicipalityStaff, Role::Admin];
        assert_eq!(encode_roles(&roles), "municipality_staff,admin");
        assert_eq!(decode_roles("municipality_staff,admin").unwrap(), roles);
        assert_eq!(decode_roles("").unwrap(), []);
        assert!(decode_roles("root").is_none());
    }

    #[test]
    fn instants_are_cut_to_microseconds() {
        let instant = utc("2026-03-01T10:00:00.123456789Z");
        assert_eq!(
            to_stored_precision(instant),
            utc("2026-03-01T10:00:00.123456Z")
        );
    }
}
