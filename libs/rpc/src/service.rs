//! What a Hearth service is, to the runtime that hosts it: a name, the gRPC services it
//! serves, its migrations, its routes and its event subscriptions. The six service crates
//! implement [`HearthService`]; the all-in-one binary, the standalone binaries and the testkit
//! host them through the same [`crate::runtime`].

use async_trait::async_trait;
use hearth_audit::AuditLog;
use hearth_bus::{EventBus, EventHandler, Outbox};
use hearth_county::County;
use hearth_domain::Clock;
use hearth_privacy::Keyring;
use hearth_store::{Db, StoreError};
use sea_orm_migration::MigratorTrait;
use std::sync::Arc;
use std::time::Duration;
use tonic::service::RoutesBuilder;

/// Everything a service's handlers may use: its own database, the outbox that turns its state
/// changes into events, the bus (for reads such as dead letters), the county's data keys
/// (personal data is sealed with them at rest and in events), the audit log (every read of
/// personal data is recorded in the same transaction), and the clock.
#[derive(Clone)]
pub struct ServiceContext {
    /// Short service name, e.g. `intake`.
    pub service: &'static str,
    /// The county this instance serves: slug, members, districts, fee levels.
    pub county: Arc<County>,
    pub db: Db,
    pub outbox: Outbox,
    pub bus: Arc<dyn EventBus>,
    pub keyring: Arc<Keyring>,
    pub audit: AuditLog,
    pub clock: Arc<dyn Clock>,
}

impl ServiceContext {
    /// A transaction on this service's database, traced as one `db.transaction` span with its
    /// statements beneath it. Every handler's transaction starts here.
    pub async fn begin(&self) -> Result<hearth_store::Transaction, sea_orm::DbErr> {
        hearth_store::Transaction::begin(&self.db).await
    }

    /// Now, cut to the microsecond that PostgreSQL keeps, so that what a handler answers equals
    /// what a later read returns, and page tokens round-trip exactly on both backends.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let now = self.clock.now_utc();
        chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }

    /// Today in Europe/Stockholm: the date Hearth's calendar rules are counted on.
    pub fn today(&self) -> chrono::NaiveDate {
        hearth_domain::stockholm::stockholm_date(self.clock.now_utc())
    }
}

/// One durable consumer of a service: the subject pattern it reads and what applies events.
pub struct Subscription {
    /// Suffix of the durable consumer name: the consumer is `<service>-<name>`.
    pub name: &'static str,
    /// Subject pattern below the county, e.g. `family.*` for `hearth.<county>.family.*`.
    pub subject_pattern: &'static str,
    pub handler: Arc<dyn EventHandler>,
}

/// A periodic job of a service (e.g. a retention job). The runtime runs it at start and then
/// every `interval`, with the same stop token as housekeeping, and logs each outcome;
/// [`crate::Instance::run_job`] runs it at once (tests, with an injected clock). Either way a
/// run first takes the job's lease in the service's database ([`crate::jobs`]), so that of all
/// replicas one runs it at a time, and once per `interval`.
#[derive(Clone)]
pub struct Job {
    /// Short name, unique within the service, e.g. `retention`.
    pub name: &'static str,
    /// Time between two runs.
    pub interval: Duration,
    pub run: Arc<dyn JobRun>,
}

/// What a [`Job`] does each time it runs (it holds its [`ServiceContext`]).
#[async_trait]
pub trait JobRun: Send + Sync {
    /// One run. `Ok` carries a short summary for the log (counts and ids, never personal
    /// data); an empty summary means nothing was to be done.
    async fn run(&self) -> Result<String, crate::ServiceError>;
}

/// A Hearth service, as its crate defines it.
pub trait HearthService: Send + Sync + 'static {
    /// Short name: `intake`. Names its database (file or schema), consumers and outbox producer.
    const NAME: &'static str;
    /// The service's migrations, the bus's outbox and inbox tables first.
    type Migrator: MigratorTrait;

    /// Full gRPC names of what it serves, e.g. `hearth.intake.v1.IntakeService`, for health.
    fn grpc_service_names(&self) -> Vec<&'static str>;

    /// Add the service's gRPC servers to the shared router.
    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder);

    /// The events it consumes. None by default.
    fn subscriptions(&self, _ctx: &ServiceContext) -> Vec<Subscription> {
        Vec::new()
    }

    /// Its periodic jobs. None by default.
    fn jobs(&self, _ctx: &ServiceContext) -> Vec<Job> {
        Vec::new()
    }
}

/// The object-safe face of [`HearthService`], so that one runtime can host a list of them.
#[async_trait]
pub trait HostedService: Send + Sync {
    fn name(&self) -> &'static str;
    fn grpc_service_names(&self) -> Vec<&'static str>;
    /// Apply pending migrations; returns how many ran.
    async fn migrate(&self, db: &Db) -> Result<usize, StoreError>;
    /// Fail if migrations are pending (production starts after `hearth migrate`).
    async fn ensure_migrated(&self, db: &Db) -> Result<(), StoreError>;
    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder);
    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription>;
    fn jobs(&self, ctx: &ServiceContext) -> Vec<Job>;
}

#[async_trait]
impl<S: HearthService> HostedService for S {
    fn name(&self) -> &'static str {
        S::NAME
    }

    fn grpc_service_names(&self) -> Vec<&'static str> {
        HearthService::grpc_service_names(self)
    }

    async fn migrate(&self, db: &Db) -> Result<usize, StoreError> {
        hearth_store::migrate::<S::Migrator>(db, S::NAME).await
    }

    async fn ensure_migrated(&self, db: &Db) -> Result<(), StoreError> {
        hearth_store::ensure_migrated::<S::Migrator>(db, S::NAME).await
    }

    fn mount(&self, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
        HearthService::mount(self, ctx, routes)
    }

    fn subscriptions(&self, ctx: &ServiceContext) -> Vec<Subscription> {
        HearthService::subscriptions(self, ctx)
    }

    fn jobs(&self, ctx: &ServiceContext) -> Vec<Job> {
        HearthService::jobs(self, ctx)
    }
}

/// Retry policy of subscriptions, from `bus.*` settings.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
}
