//! The test's event handler: its side effect is a counter row per event in the service
//! database, written in the handler's transaction, so "applied once" is checked in the data.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use async_trait::async_trait;
use hearth_bus::{EventEnvelope, EventHandler, HandlerError};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

/// How the handler behaves.
#[derive(Debug)]
pub enum Mode {
    /// Counts the event.
    Apply,
    /// Always fails, retryably.
    FailRetry,
    /// Always fails, permanently.
    FailPermanent,
    /// Panics the first time, then counts.
    PanicOnce(AtomicBool),
    /// Takes this long, then counts.
    Slow(std::time::Duration),
    /// Fails retryably while broken (`true`), counts once fixed ([`TestHandler::fix`]).
    BrokenUntilFixed(AtomicBool),
}

#[derive(Debug)]
pub struct TestHandler {
    mode: Mode,
    only: Option<Vec<&'static str>>,
    calls: AtomicU32,
    seen_types: Mutex<Vec<String>>,
    trace_ids: Mutex<Vec<Option<String>>>,
}

impl TestHandler {
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            only: None,
            calls: AtomicU32::new(0),
            seen_types: Mutex::new(Vec::new()),
            trace_ids: Mutex::new(Vec::new()),
        }
    }

    pub fn panicking_once() -> Self {
        Self::new(Mode::PanicOnce(AtomicBool::new(true)))
    }

    /// Fails (retryably) until [`TestHandler::fix`] is called.
    pub fn broken() -> Self {
        Self::new(Mode::BrokenUntilFixed(AtomicBool::new(true)))
    }

    /// The cause is fixed: a [`Mode::BrokenUntilFixed`] handler applies events from now on.
    pub fn fix(&self) {
        if let Mode::BrokenUntilFixed(broken) = &self.mode {
            broken.store(false, Ordering::SeqCst);
        }
    }

    /// Handles only these event types.
    pub fn only(mut self, event_types: &[&'static str]) -> Self {
        self.only = Some(event_types.to_vec());
        self
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn seen_types(&self) -> Vec<String> {
        self.seen_types.lock().expect("lock").clone()
    }

    pub fn trace_ids(&self) -> Vec<Option<String>> {
        self.trace_ids.lock().expect("lock").clone()
    }
}

#[async_trait]
impl EventHandler for TestHandler {
    fn handles(&self, event_type: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|types| types.contains(&event_type))
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &EventEnvelope,
    ) -> Result<(), HandlerError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.seen_types
            .lock()
            .expect("lock")
            .push(event.event_type.clone());
        self.trace_ids
            .lock()
            .expect("lock")
            .push(hearth_telemetry::propagation::trace_id_of_current_span());
        match &self.mode {
            Mode::FailRetry => return Err(HandlerError::Retry(format!("boom {call}"))),
            Mode::FailPermanent => {
                return Err(HandlerError::Permanent(
                    "this event breaks a rule".to_owned(),
                ));
            }
            Mode::PanicOnce(first) => {
                if first.swap(false, Ordering::SeqCst) {
                    panic!("the handler exploded");
                }
            }
            Mode::Slow(duration) => tokio::time::sleep(*duration).await,
            Mode::BrokenUntilFixed(broken) => {
                if broken.load(Ordering::SeqCst) {
                    return Err(HandlerError::Retry(format!("still broken {call}")));
                }
            }
            Mode::Apply => {}
        }
        let backend = txn.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO applied_events (event_id, event_type, times) VALUES ($1, $2, 1) \
                 ON CONFLICT (event_id) DO UPDATE SET times = applied_events.times + 1"
            }
            _ => {
                "INSERT INTO applied_events (event_id, event_type, times) VALUES (?, ?, 1) \
                 ON CONFLICT (event_id) DO UPDATE SET times = applied_events.times + 1"
            }
        };
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                event.event_id.clone().into(),
                event.event_type.clone().into(),
            ],
        ))
        .await?;
        Ok(())
    }
}
