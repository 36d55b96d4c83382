//! A bus wrapper that injects faults: an outage (everything fails as `Unavailable`) and lost
//! acknowledgements (as if the service crashed after committing and before acknowledging).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use hearth_bus::{
    AckAction, Acknowledger, BusError, ConsumerSpec, DeadLetter, Delivery, EventBus, EventConsumer,
    OutgoingMessage, PublishAck, StoredDeadLetter,
};

#[derive(Debug, Default)]
struct Faults {
    down: AtomicBool,
    acks_to_lose: AtomicU32,
    deliveries: AtomicU64,
}

impl Faults {
    fn check_up(&self) -> Result<(), BusError> {
        if self.down.load(Ordering::SeqCst) {
            Err(BusError::Unavailable("test: the bus is down".to_owned()))
        } else {
            Ok(())
        }
    }
}

/// Wraps the bus under test.
#[derive(Debug)]
pub struct FaultyBus {
    county: String,
    inner: RwLock<Arc<dyn EventBus>>,
    faults: Arc<Faults>,
}

impl FaultyBus {
    pub fn new(inner: Arc<dyn EventBus>) -> Self {
        Self {
            county: inner.county().to_owned(),
            inner: RwLock::new(inner),
            faults: Arc::new(Faults::default()),
        }
    }

    /// Swaps the wrapped bus (after reopening it).
    pub fn replace(&self, inner: Arc<dyn EventBus>) {
        *self.inner.write().expect("lock") = inner;
    }

    /// While down, every operation fails as `Unavailable`.
    pub fn set_down(&self, down: bool) {
        self.faults.down.store(down, Ordering::SeqCst);
    }

    /// The next `count` positive acknowledgements are not sent.
    pub fn lose_acks(&self, count: u32) {
        self.faults.acks_to_lose.store(count, Ordering::SeqCst);
    }

    /// How many deliveries consumers of this bus have fetched.
    pub fn deliveries(&self) -> u64 {
        self.faults.deliveries.load(Ordering::SeqCst)
    }

    fn inner(&self) -> Arc<dyn EventBus> {
        Arc::clone(&self.inner.read().expect("lock"))
    }
}

#[async_trait]
impl EventBus for FaultyBus {
    fn county(&self) -> &str {
        &self.county
    }

    fn messaging_system(&self) -> &'static str {
        self.inner().messaging_system()
    }

    async fn ensure_streams(&self) -> Result<(), BusError> {
        self.faults.check_up()?;
        self.inner().ensure_streams().await
    }

    async fn publish(&self, message: OutgoingMessage) -> Result<PublishAck, BusError> {
        self.faults.check_up()?;
        self.inner().publish(message).await
    }

    async fn consumer(&self, spec: ConsumerSpec) -> Result<Box<dyn EventConsumer>, BusError> {
        self.faults.check_up()?;
        let inner = self.inner().consumer(spec).await?;
        Ok(Box::new(FaultyConsumer {
            inner,
            faults: Arc::clone(&self.faults),
        }))
    }

    async fn dead_letter(
        &self,
        dead_letter: DeadLetter,
        delivered_msg_id: Option<&str>,
    ) -> Result<PublishAck, BusError> {
        self.faults.check_up()?;
        self.inner()
            .dead_letter(dead_letter, delivered_msg_id)
            .await
    }

    async fn dead_letters(&self, service: &str) -> Result<Vec<StoredDeadLetter>, BusError> {
        self.faults.check_up()?;
        self.inner().dead_letters(service).await
    }

    async fn remove_dead_letter(&self, service: &str, sequence: u64) -> Result<(), BusError> {
        self.faults.check_up()?;
        self.inner().remove_dead_letter(service, sequence).await
    }
}

struct FaultyConsumer {
    inner: Box<dyn EventConsumer>,
    faults: Arc<Faults>,
}

#[async_trait]
impl EventConsumer for FaultyConsumer {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn lag(&self) -> Result<u64, BusError> {
        self.faults.check_up()?;
        self.inner.lag().await
    }

    async fn fetch(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        self.faults.check_up()?;
        let deliveries = self.inner.fetch(max, wait).await?;
        self.faults
            .deliveries
            .fetch_add(deliveries.len() as u64, Ordering::SeqCst);
        Ok(deliveries
            .into_iter()
            .map(|delivery| {
                let (parts, acknowledger) = delivery.into_parts();
                Delivery::new(
                    parts,
                    Box::new(FaultyAcknowledger {
                        inner: acknowledger,
                        faults: Arc::clone(&self.faults),
                    }),
                )
            })
            .collect())
    }
}

struct FaultyAcknowledger {
    inner: Box<dyn Acknowledger>,
    faults: Arc<Faults>,
}

#[async_trait]
impl Acknowledger for FaultyAcknowledger {
    async fn acknowledge(&self, action: AckAction) -> Result<(), BusError> {
        self.faults.check_up()?;
        let lose = action == AckAction::Ack
            && self
                .faults
                .acks_to_lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok();
        if lose {
            return Ok(());
        }
        self.inner.acknowledge(action).await
    }
}
