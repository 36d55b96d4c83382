//! List paging for every Hearth list RPC (AIP-158): page sizes with a default and a maximum,
//! and opaque page tokens that carry a keyset position (newest first: time, then id) and a
//! fingerprint of the filters, so that a token is refused when the filters change between
//! pages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{ServiceError, Violations};

/// The page size a list uses: `requested` if positive, `default` for 0, at most `max`.
/// A negative size is refused against `field`.
pub fn page_size(requested: i32, default: u32, max: u32, field: &str) -> Result<u64, ServiceError> {
    match requested {
        0 => Ok(u64::from(default)),
        size if size < 0 => Err(ServiceError::invalid(field, "must not be negative")),
        size => Ok(u64::from(u32::try_from(size).unwrap_or(max).min(max))),
    }
}

/// Where a page starts: after this row in the list's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub time: DateTime<Utc>,
    pub id: String,
}

const TOKEN_VERSION: u8 = 1;

/// A fingerprint of a list's filters: pass every filter's encoded bytes.
pub fn fingerprint(parts: &[&[u8]]) -> [u8; 8] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    first
}

/// The token of the page after `position`, for the filters with `fingerprint`.
pub fn encode_token(position: &Position, fingerprint: [u8; 8]) -> String {
    let mut bytes = Vec::with_capacity(1 + 8 + 8 + position.id.len());
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&fingerprint);
    bytes.extend_from_slice(&position.time.timestamp_micros().to_be_bytes());
    bytes.extend_from_slice(position.id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The position in `token` (from `field`); `None` for an empty token (the first page).
pub fn decode_token(
    token: &str,
    fingerprint: [u8; 8],
    field: &str,
) -> Result<Option<Position>, ServiceError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || ServiceError::invalid(field, "is not a page token from this list");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() < 17 || bytes[0] != TOKEN_VERSION {
        return Err(invalid());
    }
    if bytes[1..9] != fingerprint {
        return Err(ServiceError::invalid(
            field,
            "belongs to a list with other filters: send the same filters as for the first page",
        ));
    }
    let mut micros = [0_u8; 8];
    micros.copy_from_slice(&bytes[9..17]);
    let time = DateTime::from_timestamp_micros(i64::from_be_bytes(micros)).ok_or_else(invalid)?;
    let id = String::from_utf8(bytes[17..].to_vec()).map_err(|_| invalid())?;
    Ok(Some(Position { time, id }))
}

/// A list request's page, checked: its size, where it starts, and its filters' fingerprint.
///
/// ```ignore
/// let page = Page::check(request.page_size, &request.page_token, &filters, 50, 200, &mut violations);
/// violations.finish()?;
/// let query = entity::Entity::find();                                      // + filters
/// let mut rows = page.newest_first(query, Col::CreatedAt, Col::Id).all(&txn).await?;
/// let next_page_token = page.finish(&mut rows, |row| Position { time: row.created_at, id: row.id.clone() });
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    pub size: u64,
    pub after: Option<Position>,
    fingerprint: [u8; 8],
}

impl Page {
    /// Checks `page_size` and `page_token` (violations name those fields); `filters` are the
    /// request's filters encoded (e.g. the request with its page fields cleared).
    pub fn check(
        page_size: i32,
        page_token: &str,
        filters: &[u8],
        default: u32,
        max: u32,
        violations: &mut Violations,
    ) -> Self {
        let fingerprint = fingerprint(&[filters]);
        let size = match self::page_size(page_size, default, max, "page_size") {
            Ok(size) => size,
            Err(_) => {
                violations.add("page_size", "must not be negative");
                u64::from(default)
            }
        };
        let after = match decode_token(page_token, fingerprint, "page_token") {
            Ok(after) => after,
            Err(ServiceError::InvalidArgument(found)) => {
                for violation in found {
                    violations.add(violation.field, violation.description);
                }
                None
            }
            Err(other) => {
                violations.add("page_token", other.to_string());
                None
            }
        };
        Self {
            size,
            after,
            fingerprint,
        }
    }

    /// `select` narrowed to this page of a newest-first list ordered by `(time, id)`: the rows
    /// after the token's position, in that order, one more than the page (see
    /// [`finish`](Self::finish)).
    pub fn newest_first<E: sea_orm::EntityTrait>(
        &self,
        select: sea_orm::Select<E>,
        time: E::Column,
        id: E::Column,
    ) -> sea_orm::Select<E> {
        use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
        let select = match &self.after {
            Some(after) => select.filter(newest_first_after(time, id, after)),
            None => select,
        };
        select
            .order_by_desc(time)
            .order_by_desc(id)
            .limit(self.fetch_limit())
    }

    /// How many rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch_limit(&self) -> u64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and answers the next page's token (empty on the
    /// last page); `position` says where a row stands in the list's order.
    pub fn finish<T>(&self, rows: &mut Vec<T>, position: impl Fn(&T) -> Position) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|last| encode_token(&position(last), self.fingerprint))
            .unwrap_or_default()
    }
}

impl Page {
    /// One page of a list computed in memory (the county file's members, a ranking), and the
    /// next page's token. The position is the index in the list, so the list must come out in
    /// the same order for every page.
    pub fn of_list<T>(&self, items: impl IntoIterator<Item = T>) -> (Vec<T>, String) {
        let start = self
            .after
            .as_ref()
            .and_then(|after| after.id.parse::<usize>().ok())
            .map_or(0, |last| last + 1);
        let mut rows: Vec<(usize, T)> = items
            .into_iter()
            .enumerate()
            .skip(start)
            .take(usize::try_from(self.fetch_limit()).unwrap_or(usize::MAX))
            .collect();
        let token = self.finish(&mut rows, |(index, _)| Position {
            time: DateTime::UNIX_EPOCH,
            id: index.to_string(),
        });
        (rows.into_iter().map(|(_, item)| item).collect(), token)
    }
}

/// The keyset condition of a newest-first list ordered by `(time, id)` descending: the rows
/// after `position`.
fn newest_first_after<T, I>(time: T, id: I, position: &Position) -> sea_orm::Condition
where
    T: sea_orm::ColumnTrait,
    I: sea_orm::ColumnTrait,
{
    sea_orm::Condition::any().add(time.lt(position.time)).add(
        sea_orm::Condition::all()
            .add(time.eq(position.time))
            .add(id.lt(position.id.clone())),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_list_in_memory_pages_by_index_to_its_end() {
        let mut seen = Vec::new();
        let mut token = String::new();
        loop {
            let mut violations = Violations::new();
            let page = Page::check(2, &token, b"filters", 50, 200, &mut violations);
            assert!(violations.is_empty());
            let (items, next) = page.of_list(["a", "b", "c", "d", "e"]);
            assert!(items.len() <= 2);
            seen.extend(items);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn tokens_round_trip_and_refuse_other_filters() {
        let position = Position {
            time: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: "0199-abc".to_owned(),
        };
        let filters = fingerprint(&[b"2080"]);
        let token = encode_token(&position, filters);
        assert_eq!(
            decode_token(&token, filters, "page_token").unwrap(),
            Some(position)
        );
        assert_eq!(decode_token("", filters, "page_token").unwrap(), None);
        assert!(decode_token(&token, fingerprint(&[b"2081"]), "page_token").is_err());
        assert!(decode_token("garbage!", filters, "page_token").is_err());
        assert!(decode_token("AQ", filters, "page_token").is_err());
    }

    #[test]
    fn pages_cut_the_extra_row_and_check_their_fields() {
        let mut violations = Violations::new();
        let page = Page::check(2, "", b"filters", 50, 200, &mut violations);
        assert!(violations.is_empty());
        assert_eq!(page.fetch_limit(), 3);
        let at = |id: &str| Position {
            time: DateTime::from_timestamp_micros(1).unwrap(),
            id: id.to_owned(),
        };
        let mut rows = vec!["c", "b", "a"];
        let token = page.finish(&mut rows, |row| at(row));
        assert_eq!(rows, ["c", "b"]);
        let next = Page::check(2, &token, b"filters", 50, 200, &mut violations);
        assert_eq!(next.after, Some(at("b")));
        let mut last = vec!["a"];
        assert_eq!(next.finish(&mut last, |row| at(row)), "");
        Page::check(-3, &token, b"other filters", 50, 200, &mut violations);
        assert_eq!(violations.len(), 2);
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0, 50, 200, "page_size").unwrap(), 50);
        assert_eq!(page_size(500, 50, 200, "page_size").unwrap(), 200);
        assert_eq!(page_size(7, 50, 200, "page_size").unwrap(), 7);
        assert!(page_size(-1, 50, 200, "page_size").is_err());
    }
}
