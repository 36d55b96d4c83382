//! Names on the bus: subjects, streams, consumers, and NATS wildcard matching.
//!
//! | what | name |
//! |---|---|
//! | an event of type `<aggregate>.<event>` | `hearth.<county>.<aggregate>.<event>` |
//! | the county's event stream | `HEARTH_<COUNTY>` over `hearth.<county>.>` |
//! | a service's dead letters | `hearth-dlq.<county>.<service>` |
//! | the county's dead-letter stream | `HEARTH_<COUNTY>_DLQ` over `hearth-dlq.<county>.>` |
//!
//! Dead letters live outside the county's event subjects, so no event consumer ever sees them.
//! Durable consumers are named after their service: `<service>`, or `<service>-<qualifier>`
//! when a service needs one consumer per subject pattern (NATS 2.9 allows one filter subject
//! per consumer); the dead-letter subject uses the service part.

use crate::BusError;

/// First token of every event subject.
pub const EVENT_PREFIX: &str = "hearth";
/// First token of every dead-letter subject.
pub const DEAD_LETTER_PREFIX: &str = "hearth-dlq";
/// Longest county slug accepted (it becomes part of stream names and subjects).
const MAX_COUNTY_LEN: usize = 48;
/// Longest service, event-type part or consumer name accepted.
const MAX_NAME_LEN: usize = 64;

/// The subjects and stream names of one county. Construct once from the configured county
/// slug; every name it hands out is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountySubjects {
    county: String,
}

impl CountySubjects {
    /// Checks the county slug: lower-case ASCII letters, digits and `-`, starting with a
    /// letter (no `_`, so that no county's stream name can look like another's `_DLQ`).
    pub fn new(county: &str) -> Result<Self, BusError> {
        let valid = !county.is_empty()
            && county.len() <= MAX_COUNTY_LEN
            && county.starts_with(|c: char| c.is_ascii_lowercase())
            && county
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !county.ends_with('-');
        if valid {
            Ok(Self {
                county: county.to_owned(),
            })
        } else {
            Err(BusError::Invalid(format!(
                "county {county:?} must be a slug of a-z, 0-9 and '-' starting with a letter"
            )))
        }
    }

    /// The county slug.
    pub fn county(&self) -> &str {
        &self.county
    }

    /// `hearth.<county>.<aggregate>.<event>` for an event type `<aggregate>.<event>`.
    pub fn event(&self, event_type: &str) -> Result<String, BusError> {
        validate_event_type(event_type)?;
        Ok(format!("{EVENT_PREFIX}.{}.{event_type}", self.county))
    }

    /// `hearth.<county>.<aggregate>.*`: every event of one aggregate.
    pub fn aggregate_events(&self, aggregate: &str) -> Result<String, BusError> {
        validate_event_type_part(aggregate, "aggregate")?;
        Ok(format!("{EVENT_PREFIX}.{}.{aggregate}.*", self.county))
    }

    /// `hearth.<county>.>`: every event of the county (the event stream's subject).
    pub fn all_events(&self) -> String {
        format!("{EVENT_PREFIX}.{}.>", self.county)
    }

    /// `HEARTH_<COUNTY>`.
    pub fn events_stream(&self) -> String {
        format!("HEARTH_{}", self.county.to_ascii_uppercase())
    }

    /// `hearth-dlq.<county>.<service>`.
    pub fn dead_letter(&self, service: &str) -> Result<String, BusError> {
        validate_service(service)?;
        Ok(format!("{DEAD_LETTER_PREFIX}.{}.{service}", self.county))
    }

    /// `hearth-dlq.<county>.>`: every dead letter of the county (the dead-letter stream's
    /// subject).
    pub fn all_dead_letters(&self) -> String {
        format!("{DEAD_LETTER_PREFIX}.{}.>", self.county)
    }

    /// `HEARTH_<COUNTY>_DLQ`.
    pub fn dead_letter_stream(&self) -> String {
        format!("{}_DLQ", self.events_stream())
    }

    /// A consumer's filter must lie inside the county's event stream (`hearth.<county>.…`).
    pub fn check_event_filter(&self, filter: &str) -> Result<(), BusError> {
        validate_filter_subject(filter)?;
        let prefix = format!("{EVENT_PREFIX}.{}.", self.county);
        if filter.starts_with(&prefix) && filter.len() > prefix.len() {
            Ok(())
        } else {
            Err(BusError::Invalid(format!(
                "filter {filter} is outside the county's events ({prefix}>)"
            )))
        }
    }

    /// Whether `subject` is stored by one of this county's streams (events or dead letters).
    pub fn is_stored(&self, subject: &str) -> bool {
        subject_matches(&self.all_events(), subject)
            || subject_matches(&self.all_dead_letters(), subject)
    }
}

/// An event type is `<aggregate>.<event>`, each part lower-case ASCII letters and `_`.
pub fn validate_event_type(event_type: &str) -> Result<(), BusError> {
    let Some((aggregate, event)) = event_type.split_once('.') else {
        return Err(BusError::Invalid(format!(
            "event type {event_type:?} must be <aggregate>.<event>"
        )));
    };
    validate_event_type_part(aggregate, "aggregate")?;
    validate_event_type_part(event, "event").map_err(|_| {
        BusError::Invalid(format!(
            "event type {event_type:?} must be <aggregate>.<event> of a-z and _"
        ))
    })
}

fn validate_event_type_part(part: &str, what: &str) -> Result<(), BusError> {
    let valid = !part.is_empty()
        && part.len() <= MAX_NAME_LEN
        && part.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "{what} {part:?} must be 1 to {MAX_NAME_LEN} characters of a-z and _"
        )))
    }
}

/// A service name: lower-case ASCII letters, digits and `_`, starting with a letter (no `-`:
/// it separates the service from a consumer's qualifier).
pub fn validate_service(service: &str) -> Result<(), BusError> {
    let valid = !service.is_empty()
        && service.len() <= MAX_NAME_LEN
        && service.starts_with(|c: char| c.is_ascii_lowercase())
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "service {service:?} must be a-z, 0-9 and _, starting with a letter"
        )))
    }
}

/// A durable consumer name: `<service>` or `<service>-<qualifier>`, the qualifier of lower-case
/// ASCII letters, digits, `_` and `-`.
pub fn validate_consumer_name(name: &str) -> Result<(), BusError> {
    validate_service(service_of_consumer(name))?;
    let valid = name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "consumer name {name:?} must be <service> or <service>-<qualifier> of a-z, 0-9, _ and -"
        )))
    }
}

/// The service a durable consumer belongs to: its name up to the first `-`.
pub fn service_of_consumer(consumer: &str) -> &str {
    consumer
        .split_once('-')
        .map_or(consumer, |(service, _)| service)
}

/// A subject to publish on: non-empty tokens separated by `.`, no wildcards, no whitespace.
pub fn validate_publish_subject(subject: &str) -> Result<(), BusError> {
    let valid = !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty()
                && token != "*"
                && token != ">"
                && !token.chars().any(|c| c.is_whitespace() || c.is_control())
        });
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "{subject:?} is not a subject to publish on"
        )))
    }
}

/// A filter subject: non-empty tokens, `*` for one token, `>` only as the last token.
pub fn validate_filter_subject(filter: &str) -> Result<(), BusError> {
    let tokens: Vec<&str> = filter.split('.').collect();
    let valid = !filter.is_empty()
        && tokens.iter().enumerate().all(|(index, token)| {
            !token.is_empty()
                && !token.chars().any(|c| c.is_whitespace() || c.is_control())
                && (*token == "*"
                    || (*token == ">" && index + 1 == tokens.len())
                    || !token.contains(['*', '>']))
        });
    if valid {
        Ok(())
    } else {
        Err(BusError::Invalid(format!(
            "{filter:?} is not a filter subject"
        )))
    }
}

/// NATS subject matching: `*` matches exactly one token, a final `>` one or more.
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut filter_tokens = filter.split('.');
    let mut subject_tokens = subject.split('.');
    loop {
        match (filter_tokens.next(), subject_tokens.next()) {
            (Some(">"), Some(_)) => return filter_tokens.next().is_none(),
            (Some("*"), Some(_)) => {}
            (Some(expected), Some(actual)) if expected == actual => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_streams_follow_the_design() -> Result<(), BusError> {
        let dalarna = CountySubjects::new("dalarna")?;
        assert_eq!(
            dalarna.event("family.approved")?,
            "hearth.dalarna.family.approved"
        );
        assert_eq!(dalarna.all_events(), "hearth.dalarna.>");
        assert_eq!(
            dalarna.aggregate_events("family")?,
            "hearth.dalarna.family.*"
        );
        assert_eq!(dalarna.events_stream(), "HEARTH_DALARNA");
        assert_eq!(
            dalarna.dead_letter("matching")?,
            "hearth-dlq.dalarna.matching"
        );
        assert_eq!(dalarna.all_dead_letters(), "hearth-dlq.dalarna.>");
        assert_eq!(dalarna.dead_letter_stream(), "HEARTH_DALARNA_DLQ");
        assert!(dalarna.is_stored("hearth.dalarna.family.approved"));
        assert!(dalarna.is_stored("hearth-dlq.dalarna.matching"));
        assert!(!dalarna.is_stored("hearth.gotland.family.approved"));
        assert!(dalarna.check_event_filter("hearth.dalarna.>").is_ok());
        assert!(
            dalarna
                .check_event_filter("hearth.dalarna.family.*")
                .is_ok()
        );
        assert!(dalarna.check_event_filter("hearth.>").is_err());
        assert!(dalarna.check_event_filter("hearth.gotland.>").is_err());
        assert!(dalarna.check_event_filter("hearth-dlq.dalarna.>").is_err());
        let hyphenated = CountySubjects::new("vastra-gotaland")?;
        assert_eq!(hyphenated.events_stream(), "HEARTH_VASTRA-GOTALAND");
        Ok(())
    }

    #[test]
    fn bad_counties_are_refused() {
        for county in [
            "", "Dalarna", "dal arna", "dal.arna", "dal_arna", "1dalarna", "dalarna-", "dal*",
        ] {
            assert!(CountySubjects::new(county).is_err(), "{county:?}");
        }
    }

    #[test]
    fn event_types_are_two_lower_case_parts() {
        for good in [
            "family.approved",
            "family.availability_changed",
            "request.opened",
        ] {
            assert!(validate_event_type(good).is_ok(), "{good}");
        }
        for bad in [
            "family",
            "family.approved.now",
            "Family.approved",
            "family.",
            ".approved",
            "family.approved2",
            "family.*",
            "family.>",
            "fam ily.approved",
        ] {
            assert!(validate_event_type(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn consumers_belong_to_services() {
        assert_eq!(service_of_consumer("matching"), "matching");
        assert_eq!(service_of_consumer("matching-family"), "matching");
        assert!(validate_consumer_name("matching-family").is_ok());
        assert!(validate_consumer_name("matching").is_ok());
        assert!(validate_consumer_name("Matching").is_err());
        assert!(validate_consumer_name("matching.family").is_err());
        assert!(validate_consumer_name("-family").is_err());
        assert!(validate_consumer_name("matching-").is_err());
    }

    #[test]
    fn wildcards_match_like_the_broker() {
        assert!(subject_matches("hearth.d.>", "hearth.d.family.approved"));
        assert!(!subject_matches("hearth.d.>", "hearth.d"));
        assert!(subject_matches(
            "hearth.d.*.approved",
            "hearth.d.family.approved"
        ));
        assert!(!subject_matches(
            "hearth.d.*.approved",
            "hearth.d.family.rejected"
        ));
        assert!(subject_matches(
            "hearth.d.family.*",
            "hearth.d.family.approved"
        ));
        assert!(!subject_matches(
            "hearth.d.family.*",
            "hearth.d.family.approved.x"
        ));
        assert!(subject_matches("a.b", "a.b"));
        assert!(!subject_matches("a.b", "a.b.c"));
        assert!(!subject_matches("a.b.c", "a.b"));
        assert!(subject_matches(">", "a"));
        assert!(!subject_matches("hearth.d.>", "hearth-dlq.d.matching"));
    }

    #[test]
    fn subjects_are_checked() {
        assert!(validate_publish_subject("hearth.d.family.approved").is_ok());
        assert!(validate_publish_subject("hearth.d.*").is_err());
        assert!(validate_publish_subject("hearth..d").is_err());
        assert!(validate_publish_subject("hearth.d e").is_err());
        assert!(validate_filter_subject("hearth.d.>").is_ok());
        assert!(validate_filter_subject("hearth.*.family.*").is_ok());
        assert!(validate_filter_subject("hearth.>.x").is_err());
        assert!(validate_filter_subject("hearth.fa*").is_err());
        assert!(validate_filter_subject("").is_err());
    }
}
