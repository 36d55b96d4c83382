//! Periodic jobs run once across replicas. Every service runs two (or more) replicas on one
//! database, and two `hearth serve` may share a data directory; each would run the same jobs on
//! its own timer. A run therefore first takes the job's lease, a row of `hearth_job_lease` in
//! the service's database, with one conditional `UPDATE` that both SQLite and PostgreSQL apply
//! atomically (a concurrent updater on PostgreSQL waits for the row and re-checks the
//! condition). The lease is granted only when it is free (or expired) **and** the job last ran
//! at least one `interval` ago, so two replicas' timers do not run it twice for one period; the
//! other replica's run is skipped, logged at debug.
//!
//! - **Clock**: the service's [`Clock`] (`ServiceContext::clock`) stamps `expires_at` and
//!   `last_run_at`, the same clock the job's rules use. In production that is every replica's
//!   system time (skew of milliseconds against a lease of a minute); in tests a `FixedClock`,
//!   so that advancing it by the interval makes the job due, and by [`LEASE`] expires a lease.
//! - **A holder that crashes** leaves its lease to expire [`LEASE`] after its last renewal; a
//!   replica stopped mid-run does the same.
//! - **A long run** renews its lease every [`RENEW_EVERY`]. A run that finds its lease taken
//!   (it could not renew in time, so another replica may have started) is stopped: its open
//!   transaction rolls back, and the run fails.
//! - **A failed run** frees the lease without recording `last_run_at`, so the next tick of
//!   either replica tries again.

use crate::ServiceError;
use crate::service::Job;
use chrono::{DateTime, TimeDelta, Utc};
use hearth_domain::Clock;
use hearth_store::Db;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sea_orm_migration::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a lease lasts without renewal: how long a crashed holder blocks the job.
pub const LEASE: Duration = Duration::from_secs(60);
/// How often a running job renews its lease (well within [`LEASE`], so that a renewal may fail
/// once or twice without losing it).
pub const RENEW_EVERY: Duration = Duration::from_secs(15);

/// What one triggered run of a job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// It ran; the job's summary (empty: nothing was to be done).
    Ran(String),
    /// It did not run: another run holds the lease, or the job ran less than an interval ago.
    Skipped(Skipped),
}

/// Why a run was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skipped {
    /// Another run (on this or another replica) holds the lease until `until`.
    Held {
        holder: String,
        until: DateTime<Utc>,
    },
    /// The job last ran at `at`, less than its interval ago.
    RanRecently { at: DateTime<Utc> },
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Held { holder, until } => {
                write!(f, "another run ({holder}) holds the lease until {until}")
            }
            Self::RanRecently { at } => write!(f, "it ran at {at}, less than an interval ago"),
        }
    }
}

/// A job's lease, held by one run. Dropping it without [`Lease::release`] leaves it to expire.
#[derive(Debug)]
pub struct Lease {
    job: String,
    holder: String,
    started_at: DateTime<Utc>,
}

impl Lease {
    /// Takes the lease of `job` at `now` if it is free and the job last ran at least `interval`
    /// before; otherwise says why not.
    pub async fn acquire<C: ConnectionTrait>(
        db: &C,
        job: &str,
        interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<Result<Self, Skipped>, DbErr> {
        let now = to_micros(now);
        // The row exists once; the conditional UPDATE below is then the only race.
        entity::Entity::insert(entity::ActiveModel {
            job: ActiveValue::Set(job.to_owned()),
            holder: ActiveValue::Set(None),
            expires_at: ActiveValue::Set(None),
            last_run_at: ActiveValue::Set(None),
        })
        .on_conflict_do_nothing_on([entity::Column::Job])
        .exec_without_returning(db)
        .await?;
        let holder = uuid::Uuid::now_v7().to_string();
        let due_before = now - delta(interval);
        let taken = entity::Entity::update_many()
            .col_expr(entity::Column::Holder, Expr::value(Some(holder.clone())))
            .col_expr(
                entity::Column::ExpiresAt,
                Expr::value(Some(now + delta(LEASE))),
            )
            .filter(entity::Column::Job.eq(job))
            .filter(
                Condition::any()
                    .add(entity::Column::Holder.is_null())
                    .add(entity::Column::ExpiresAt.lte(now)),
            )
            .filter(
                Condition::any()
                    .add(entity::Column::LastRunAt.is_null())
                    .add(entity::Column::LastRunAt.lte(due_before)),
            )
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Ok(Self {
                job: job.to_owned(),
                holder,
                started_at: now,
            }));
        }
        let row = entity::Entity::find_by_id(job.to_owned()).one(db).await?;
        Ok(Err(match row {
            Some(entity::Model {
                holder: Some(holder),
                expires_at: Some(until),
                ..
            }) if until > now => Skipped::Held { holder, until },
            Some(entity::Model {
                last_run_at: Some(at),
                ..
            }) => Skipped::RanRecently { at },
            // Freed between the UPDATE and this read: another run just finished.
            _ => Skipped::Held {
                holder: "a run that just ended".to_owned(),
                until: now,
            },
        }))
    }

    /// Who holds it (a fresh id per run, in the lease row's `holder`).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Extends the lease to `now` + [`LEASE`]; `false` when it is no longer this run's.
    pub async fn renew<C: ConnectionTrait>(
        &self,
        db: &C,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        let renewed = entity::Entity::update_many()
            .col_expr(
                entity::Column::ExpiresAt,
                Expr::value(Some(to_micros(now) + delta(LEASE))),
            )
            .filter(entity::Column::Job.eq(self.job.as_str()))
            .filter(entity::Column::Holder.eq(self.holder.as_str()))
            .exec(db)
            .await?;
        Ok(renewed.rows_affected == 1)
    }

    /// Frees the lease; a run that `succeeded` is recorded as the job's last run (at the time
    /// it took the lease), which makes the job not due for one interval.
    pub async fn release<C: ConnectionTrait>(self, db: &C, succeeded: bool) -> Result<(), DbErr> {
        let mut update = entity::Entity::update_many()
            .col_expr(entity::Column::Holder, Expr::value(Option::<String>::None))
            .col_expr(
                entity::Column::ExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        if succeeded {
            update = update.col_expr(
                entity::Column::LastRunAt,
                Expr::value(Some(self.started_at)),
            );
        }
        update
            .filter(entity::Column::Job.eq(self.job.as_str()))
            .filter(entity::Column::Holder.eq(self.holder.as_str()))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// A job as the runtime holds it: with its service's database and clock.
#[derive(Clone)]
pub(crate) struct ScheduledJob {
    pub service: &'static str,
    pub job: Job,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
}

impl ScheduledJob {
    /// One run, if this run gets the lease and the job is due: what the timer does each
    /// interval, and what `Instance::run_job` does at once.
    pub async fn run_if_due(&self) -> Result<JobOutcome, ServiceError> {
        let lease = match Lease::acquire(
            &self.db,
            self.job.name,
            self.job.interval,
            self.clock.now_utc(),
        )
        .await?
        {
            Ok(lease) => lease,
            Err(skipped) => return Ok(JobOutcome::Skipped(skipped)),
        };
        let outcome = self.run_holding(&lease).await;
        if let Err(error) = lease.release(&self.db, outcome.is_ok()).await {
            tracing::warn!(service = self.service, job = self.job.name, %error,
                "cannot free the job's lease: it expires by itself");
        }
        outcome.map(JobOutcome::Ran)
    }

    /// Runs the job while renewing `lease`; stops it when the lease is lost.
    async fn run_holding(&self, lease: &Lease) -> Result<String, ServiceError> {
        let run = self.job.run.run();
        tokio::pin!(run);
        let mut renewed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                outcome = &mut run => return outcome,
                () = tokio::time::sleep(RENEW_EVERY) => {}
            }
            match lease.renew(&self.db, self.clock.now_utc()).await {
                Ok(true) => renewed = tokio::time::Instant::now(),
                Ok(false) => {
                    return Err(ServiceError::internal(
                        "the job's lease was taken by another run (it expired): this run is stopped",
                    ));
                }
                Err(error) if renewed.elapsed() + RENEW_EVERY < LEASE => {
                    tracing::warn!(service = self.service, job = self.job.name, %error,
                        "cannot renew the job's lease: trying again");
                }
                Err(error) => {
                    return Err(ServiceError::internal(format!(
                        "cannot renew the job's lease before it expires ({error}): this run is stopped"
                    )));
                }
            }
        }
    }
}

/// Runs a service's job at start and then every `job.interval` until `stop`, each time only if
/// it gets the lease and the job is due, logging each outcome. After a skip because the job ran
/// recently (on another replica, or before a restart) the next try is when it falls due.
pub(crate) async fn run_periodically(job: ScheduledJob, stop: CancellationToken) {
    let (service, name) = (job.service, job.job.name);
    loop {
        let mut next = job.job.interval;
        tokio::select! {
            () = stop.cancelled() => return,
            outcome = job.run_if_due() => match outcome {
                Ok(JobOutcome::Ran(summary)) if summary.is_empty() => {
                    tracing::debug!(service, job = name, "job ran: nothing to do");
                }
                Ok(JobOutcome::Ran(summary)) => tracing::info!(service, job = name, %summary, "job ran"),
                Ok(JobOutcome::Skipped(why)) => {
                    tracing::debug!(service, job = name, %why, "job skipped");
                    if let Skipped::RanRecently { at } = why {
                        next = until_due(at, job.job.interval, job.clock.now_utc());
                    }
                }
                Err(error) => tracing::warn!(service, job = name, %error, "job failed"),
            },
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(next) => {}
        }
    }
}

/// How long until a job that last ran `at` is due again: at most `interval`, at least a second.
fn until_due(at: DateTime<Utc>, interval: Duration, now: DateTime<Utc>) -> Duration {
    (at + delta(interval) - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .clamp(Duration::from_secs(1), interval.max(Duration::from_secs(1)))
}

/// Cut to the microsecond that PostgreSQL keeps, so that what is written compares as computed.
fn to_micros(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_timer_tries_again_when_the_job_falls_due() {
        let at: DateTime<Utc> = "2026-02-02T09:00:00Z".parse().unwrap_or_default();
        let hour = Duration::from_secs(3600);
        let minutes = |m: i64| at + TimeDelta::minutes(m);
        assert_eq!(
            until_due(at, hour, minutes(20)),
            Duration::from_secs(40 * 60)
        );
        assert_eq!(until_due(at, hour, minutes(60)), Duration::from_secs(1));
        assert_eq!(until_due(at, hour, minutes(90)), Duration::from_secs(1));
        // A clock behind the one that stamped `at`: never more than an interval.
        assert_eq!(until_due(at, hour, minutes(-30)), hour);
    }
}

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hearth_job_lease")]
    pub struct Model {
        /// The job's name, unique within the service (whose database this is).
        #[sea_orm(primary_key, auto_increment = false)]
        pub job: String,
        /// The run holding the lease; `None` when free.
        pub holder: Option<String>,
        pub expires_at: Option<DateTimeUtc>,
        /// When the last successful run took the lease.
        pub last_run_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(DeriveIden)]
enum HearthJobLease {
    Table,
    Job,
    Holder,
    ExpiresAt,
    LastRunAt,
}

/// `hearth_job_lease`: one row per periodic job, its lease and its last run.
pub(crate) struct CreateJobLeases;

impl MigrationName for CreateJobLeases {
    fn name(&self) -> &str {
        "m20261201_000201_create_job_lease"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateJobLeases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use HearthJobLease as L;
        manager
            .create_table(
                Table::create()
                    .table(L::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(L::Job)
                            .string_len(100)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(L::Holder).string_len(64).null())
                    .col(
                        ColumnDef::new(L::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(L::LastRunAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
