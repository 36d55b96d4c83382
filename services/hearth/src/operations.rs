//! Operators' commands on the flow of events: the dead letters (`hearth dlq list`, `hearth dlq
//! redrive`) and the outbox replay (`hearth replay`).
//!
//! They open the configured backends exactly as the services do
//! ([`hearth_rpc::backends::open_bus`] and [`hearth_rpc::backends::open_database`]), so they
//! work against the embedded data directory (also while `hearth serve` runs on it: SQLite in
//! WAL mode admits a second process and the embedded bus polls its file) and against
//! PostgreSQL and NATS. They print what they did, and never an event's payload: it may hold
//! personal data.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use hearth_bus::{
    BusError, EventBus, Outbox, OutboxRelay, RelayConfig, RelayPass, StoredDeadLetter,
    redrive_dead_letter, select_dead_letters,
};
use hearth_config::Settings;
use hearth_rpc::backends;

use crate::output::{out, outln};

/// How long a command waits for the bus to answer before giving up (NATS connects in the
/// background).
const BUS_PATIENCE: Duration = Duration::from_secs(10);
/// The longest error text shown per dead letter in a listing.
const MAX_ERROR_CHARS: usize = 300;

/// `hearth dlq list [--service S]`: the county's dead letters (or one service's), oldest first.
pub async fn dlq_list(settings: &Settings, service: Option<&str>) -> anyhow::Result<()> {
    let services = match service {
        Some(service) => vec![service],
        None => service_names(),
    };
    let bus = open_bus(settings).await?;
    let mut letters = Vec::new();
    for service in &services {
        letters.extend(
            bus.dead_letters(service)
                .await
                .with_context(|| format!("listing the dead letters of {service}"))?,
        );
    }
    // One dead-letter stream per county: its sequence orders all services' letters.
    letters.sort_by_key(|letter| letter.sequence);
    let county = &settings.county.slug;
    let scope = service.map_or_else(String::new, |service| format!(" for service {service}"));
    if letters.is_empty() {
        outln!("no dead letters{scope} in county {county}")?;
        return Ok(());
    }
    out!("{}", dead_letter_table(&letters))?;
    outln!()?;
    outln!(
        "{} dead letter(s){scope} in county {county}. Once the cause is fixed, \
         `hearth dlq redrive --service SERVICE [--event-id ID]` sends them back.",
        letters.len()
    )?;
    Ok(())
}

/// `hearth dlq redrive --service S [--event-id ID]...`: sends the service's dead letters (all,
/// or those of the given events) back on their original subjects and removes them.
pub async fn dlq_redrive(
    settings: &Settings,
    service: &str,
    event_ids: &[String],
) -> anyhow::Result<()> {
    let bus = open_bus(settings).await?;
    let county = &settings.county.slug;
    // Every named event must have a dead letter before anything is sent.
    let letters = select_dead_letters(bus.as_ref(), service, event_ids).await?;
    if letters.is_empty() {
        outln!("no dead letters for service {service} in county {county}: nothing to send back")?;
        return Ok(());
    }
    let mut sent = 0usize;
    let mut without_event = 0usize;
    for letter in &letters {
        if letter.event().is_none() {
            without_event += 1;
            continue;
        }
        let redriven = redrive_dead_letter(bus.as_ref(), service, letter)
            .await
            .with_context(|| {
                format!(
                    "sending back event {} of consumer {} ({sent} sent back before it)",
                    letter.event_id(),
                    letter.letter.consumer
                )
            })?;
        outln!(
            "sent back {} {} to {} on {}",
            redriven.event_type,
            redriven.event_id,
            redriven.consumer,
            redriven.subject
        )?;
        sent += 1;
    }
    outln!(
        "{sent} dead letter(s) of service {service} sent back and removed; every consumer of \
         an event receives it again, and those that had applied it skip it (inbox)."
    )?;
    if without_event > 0 {
        outln!(
            "{without_event} dead letter(s) of service {service} hold no event (the message was \
             not a valid event) and stay: see `hearth dlq list --service {service}`."
        )?;
    }
    if settings.bus.is_embedded() && sent > 0 {
        outln!(
            "On the embedded bus a running `hearth serve` receives them within a second; \
             otherwise at its next start."
        )?;
    }
    Ok(())
}

/// `hearth replay --service S --since T`: marks the service's outbox rows sent since `since`
/// unsent and publishes them again with their event ids.
pub async fn replay(
    settings: &Settings,
    service: &str,
    since: DateTime<Utc>,
) -> anyhow::Result<()> {
    let hosted = crate::all_services()
        .into_iter()
        .find(|hosted| hosted.name() == service)
        .with_context(|| format!("no service named {service}"))?;
    let db = backends::open_database(settings, service).await?;
    hosted.ensure_migrated(&db).await?;
    let bus = open_bus(settings).await?;
    let retention_days = settings.outbox.retention_days;
    let outbox = Outbox::new(&settings.county.slug, service)?
        .with_retention(Duration::from_secs(u64::from(retention_days) * 86_400));
    let relay = OutboxRelay::new(
        db.clone(),
        bus.clone(),
        &outbox,
        RelayConfig {
            batch_size: u64::from(settings.outbox.batch_size),
            ..RelayConfig::default()
        },
    );
    let since_text = since.to_rfc3339_opts(SecondsFormat::Secs, true);
    if since < Utc::now() - chrono::Duration::days(i64::from(retention_days)) {
        outln!(
            "note: rows sent more than {retention_days} day(s) ago are deleted \
             (outbox.retention_days); only younger ones can be replayed"
        )?;
    }
    let marked = relay.replay(since).await?;
    if marked == 0 {
        outln!("no outbox rows of service {service} sent since {since_text}: nothing to replay")?;
        return Ok(());
    }
    outln!("{marked} event(s) of service {service} sent since {since_text} marked for replay")?;
    let timeout = Duration::from_secs(settings.shutdown_grace_seconds.max(10));
    let pass = publish_all(&relay, timeout).await.with_context(|| {
        format!(
            "publishing the replay; the rows stay marked and the relay of {service} sends \
             them when it runs"
        )
    })?;
    let within_window = if pass.duplicates > 0 {
        format!(
            " ({} of them still inside the bus's duplicate window: already stored, not \
             delivered twice)",
            pass.duplicates
        )
    } else {
        String::new()
    };
    outln!(
        "{} published by this command{within_window}; consumers' inboxes skip what they \
         already applied",
        pass.published
    )?;
    if pass.published < marked {
        outln!(
            "the other {} were sent by a relay running at the same time",
            marked - pass.published
        )?;
    }
    db.close().await.ok();
    Ok(())
}

/// Publishes until the outbox is empty, retrying while the bus is unavailable, for at most
/// `timeout`.
async fn publish_all(relay: &OutboxRelay, timeout: Duration) -> Result<RelayPass, BusError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut total = RelayPass::default();
    loop {
        match relay.publish_pass().await {
            Ok(pass) if pass.claimed == 0 => return Ok(total),
            Ok(pass) => {
                total.claimed += pass.claimed;
                total.published += pass.published;
                total.duplicates += pass.duplicates;
            }
            Err(error) if error.is_retryable() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The names of every service, in the order of the work.
fn service_names() -> Vec<&'static str> {
    crate::all_services()
        .iter()
        .map(|service| service.name())
        .collect()
}

/// The configured bus, once it answers (NATS connects in the background).
async fn open_bus(settings: &Settings) -> anyhow::Result<std::sync::Arc<dyn EventBus>> {
    let bus = backends::open_bus(settings).await?;
    let deadline = tokio::time::Instant::now() + BUS_PATIENCE;
    loop {
        match bus.ensure_streams().await {
            Ok(()) => return Ok(bus),
            Err(error) if error.is_unavailable() && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => return Err(error).context("the event bus does not answer"),
        }
    }
}

/// The dead letters as a table: when, consumer, event type, event id, attempts, error. Never
/// the payload.
fn dead_letter_table(letters: &[StoredDeadLetter]) -> String {
    const HEADER: [&str; 6] = [
        "WHEN",
        "CONSUMER",
        "EVENT TYPE",
        "EVENT ID",
        "ATTEMPTS",
        "ERROR",
    ];
    let rows: Vec<[String; 6]> = letters
        .iter()
        .map(|stored| {
            let letter = &stored.letter;
            let when = letter
                .dead_lettered_at
                .as_ref()
                .and_then(hearth_bus::instant)
                .map_or_else(
                    || "-".to_owned(),
                    |at| at.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
            let (event_type, event_id) = match stored.event() {
                Some(event) => (event.event_type.clone(), event.event_id.clone()),
                None => ("(not an event)".to_owned(), "-".to_owned()),
            };
            [
                when,
                letter.consumer.clone(),
                event_type,
                event_id,
                letter.attempts.to_string(),
                one_line(&letter.error, MAX_ERROR_CHARS),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table = String::new();
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        table.push_str(line.trim_end());
        table.push('\n');
    }
    table
}

/// `text` on one line (control characters as spaces), cut at `max_chars` with an ellipsis.
fn one_line(text: &str, max_chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let mut cut: String = flat.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_bus::{DeadLetter, EventEnvelope, timestamp};

    fn stored(sequence: u64, event: Option<EventEnvelope>, error: &str) -> StoredDeadLetter {
        StoredDeadLetter {
            sequence,
            letter: DeadLetter {
                event,
                consumer: "matching-family".to_owned(),
                error: error.to_owned(),
                attempts: 5,
                dead_lettered_at: DateTime::parse_from_rfc3339("2026-11-30T08:15:00Z")
                    .ok()
                    .map(|at| timestamp(at.with_timezone(&Utc))),
                original_subject: "hearth.dalarna.family.approved".to_owned(),
            },
        }
    }

    #[test]
    fn the_table_shows_what_an_operator_needs_and_never_the_payload() {
        let event = EventEnvelope {
            event_id: "0190f0a0-0000-7000-8000-000000000001".to_owned(),
            event_type: "family.approved".to_owned(),
            payload: Some(prost_types::Any {
                type_url: "type.googleapis.com/hearth.events.v1.FamilyApproved".to_owned(),
                value: b"Anna Andersson 19121212-1212".to_vec(),
            }),
            ..EventEnvelope::default()
        };
        let table = dead_letter_table(&[
            stored(7, Some(event), "no such family\nsecond line"),
            stored(9, None, "not an EventEnvelope"),
        ]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].starts_with("WHEN"), "{table}");
        assert!(
            lines[1].starts_with("2026-11-30T08:15:00Z  matching-family  family.approved"),
            "{table}"
        );
        assert!(lines[1].contains("0190f0a0-0000-7000-8000-000000000001"));
        assert!(
            lines[1].ends_with("5         no such family second line"),
            "{table}"
        );
        assert!(lines[2].contains("(not an event)"), "{table}");
        assert!(
            !table.contains("Anna") && !table.contains("19121212"),
            "{table}"
        );
        // Columns line up.
        let column = lines[0].find("EVENT ID").unwrap_or_default();
        assert_eq!(lines[1].find("0190f0a0"), Some(column), "{table}");
    }

    #[test]
    fn long_errors_are_cut_on_one_line() {
        assert_eq!(one_line("a\tb\r\nc", 10), "a b  c");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("abcd", 4), "abcd");
    }
}
