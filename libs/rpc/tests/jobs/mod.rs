//! Periodic jobs run once across replicas: two instances of one service on ONE database (a
//! SQLite data directory, a PostgreSQL database) trigger the same job, and it runs once per
//! interval; a held lease refuses the other instance until it is freed or expires.

use hearth_domain::{Clock, FixedClock};
use hearth_rpc::jobs::{LEASE, Lease, Skipped};
use hearth_rpc::{HearthService, Job, JobOutcome, JobRun, ServiceContext, ServiceError};
use hearth_testkit::{Storage, TestHearth};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use sea_orm_migration::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

on_both_backends!(
    two_instances_run_a_job_once_per_interval,
    a_held_lease_refuses_the_other_instance_until_it_is_freed_or_expires,
);

const SERVICE: &str = "chores";
const JOB: &str = "count";
const INTERVAL: Duration = Duration::from_secs(60 * 60);

/// A service whose one job records each run as a row of `chore_run`.
struct Chores {
    hold: Arc<Hold>,
}

/// Makes the next run wait, inside its lease, until the test lets it go.
#[derive(Default)]
struct Hold {
    armed: AtomicBool,
    entered: Notify,
    release: Notify,
}

impl HearthService for Chores {
    const NAME: &'static str = SERVICE;
    type Migrator = Migrator;

    fn grpc_service_names(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn mount(&self, _ctx: &ServiceContext, _routes: &mut tonic::service::RoutesBuilder) {}

    fn jobs(&self, ctx: &ServiceContext) -> Vec<Job> {
        vec![Job {
            name: JOB,
            interval: INTERVAL,
            run: Arc::new(Count {
                ctx: ctx.clone(),
                hold: self.hold.clone(),
            }),
        }]
    }
}

struct Count {
    ctx: ServiceContext,
    hold: Arc<Hold>,
}

#[async_trait::async_trait]
impl JobRun for Count {
    async fn run(&self) -> Result<String, ServiceError> {
        let id = uuid::Uuid::now_v7();
        self.ctx
            .db
            .execute_unprepared(&format!("INSERT INTO chore_run (id) VALUES ('{id}')"))
            .await?;
        if self.hold.armed.swap(false, Ordering::SeqCst) {
            self.hold.entered.notify_one();
            self.hold.release.notified().await;
        }
        Ok(format!("run {id}"))
    }
}

struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = hearth_rpc::platform_migrations();
        migrations.push(Box::new(CreateRuns));
        migrations
    }
}

struct CreateRuns;

impl MigrationName for CreateRuns {
    fn name(&self) -> &str {
        "m20261201_000001_create_chore_run"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRuns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("CREATE TABLE chore_run (id VARCHAR(36) PRIMARY KEY)")
            .await
            .map(|_| ())
    }
}

/// Two instances of `chores` on one database and one clock, as two replicas.
struct Replicas {
    a: Arc<TestHearth>,
    b: Arc<TestHearth>,
    clock: Arc<FixedClock>,
    hold: Arc<Hold>,
    db: sea_orm::DatabaseConnection,
}

impl Replicas {
    async fn start(storage: Storage) -> Option<Self> {
        let clock = Arc::new(FixedClock::new("2026-02-02T09:00:00Z".parse().unwrap()));
        let hold = Arc::new(Hold::default());
        let a = TestHearth::builder(vec![Box::new(Chores { hold: hold.clone() })])
            .storage(storage)
            .clock(clock.clone())
            .start()
            .await?;
        let b = TestHearth::builder(vec![Box::new(Chores { hold: hold.clone() })])
            .sharing_data_with(&a)
            .clock(clock.clone())
            .start()
            .await?;
        assert_eq!(a.database_url(), b.settings().database.url.as_deref());
        let db = hearth_rpc::backends::open_database(a.settings(), SERVICE)
            .await
            .unwrap();
        let replicas = Self {
            a: Arc::new(a),
            b: Arc::new(b),
            clock,
            hold,
            db,
        };
        replicas.wait_for_the_start_runs().await;
        Some(replicas)
    }

    /// Each instance runs its jobs at start: of the two, one ran, the other was skipped.
    async fn wait_for_the_start_runs(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self
            .count("SELECT COUNT(*) AS n FROM hearth_job_lease WHERE holder IS NULL AND last_run_at IS NOT NULL")
            .await
            == 0
        {
            assert!(tokio::time::Instant::now() < deadline, "no start run");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The second instance's start run was spawned before its start returned; let it be
        // refused before the test moves the clock.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(self.runs().await, 1);
    }

    async fn runs(&self) -> i64 {
        self.count("SELECT COUNT(*) AS n FROM chore_run").await
    }

    async fn count(&self, sql: &str) -> i64 {
        let backend: DbBackend = self.db.get_database_backend();
        self.db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    }

    async fn stop(self) {
        self.db.close().await.unwrap();
        Arc::into_inner(self.b).unwrap().stop().await;
        Arc::into_inner(self.a).unwrap().stop().await;
    }
}

/// Both replicas' timers fire for each period, and operators trigger it too, all at once.
async fn two_instances_run_a_job_once_per_interval(storage: Storage) {
    let Some(replicas) = Replicas::start(storage).await else {
        return;
    };
    for period in 1..=4 {
        replicas.clock.advance(chrono::TimeDelta::hours(1));
        let mut triggers = tokio::task::JoinSet::new();
        for trigger in 0..16 {
            let instance = if trigger % 2 == 0 {
                replicas.a.clone()
            } else {
                replicas.b.clone()
            };
            triggers.spawn(async move { instance.try_run_job(SERVICE, JOB).await.unwrap() });
        }
        let outcomes = triggers.join_all().await;
        let ran = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, JobOutcome::Ran(_)))
            .count();
        assert_eq!(ran, 1, "period {period}: {outcomes:?}");
        assert_eq!(replicas.runs().await, 1 + period, "period {period}");
        // Within the same period, a later trigger on either finds it ran.
        for instance in [&replicas.a, &replicas.b] {
            assert!(matches!(
                instance.try_run_job(SERVICE, JOB).await.unwrap(),
                JobOutcome::Skipped(Skipped::RanRecently { .. })
            ));
        }
    }
    // Less than an interval on, still nothing.
    replicas.clock.advance(chrono::TimeDelta::minutes(59));
    assert!(matches!(
        replicas.b.try_run_job(SERVICE, JOB).await.unwrap(),
        JobOutcome::Skipped(Skipped::RanRecently { .. })
    ));
    assert_eq!(replicas.runs().await, 5);
    replicas.stop().await;
}

async fn a_held_lease_refuses_the_other_instance_until_it_is_freed_or_expires(storage: Storage) {
    let Some(replicas) = Replicas::start(storage).await else {
        return;
    };
    replicas.clock.advance(chrono::TimeDelta::hours(1));
    replicas.hold.armed.store(true, Ordering::SeqCst);
    let (first, (second, again)) = tokio::join!(replicas.a.try_run_job(SERVICE, JOB), async {
        replicas.hold.entered.notified().await;
        let second = replicas.b.try_run_job(SERVICE, JOB).await.unwrap();
        // The holder's own instance is refused as well: a lease is per run.
        let again = replicas.a.try_run_job(SERVICE, JOB).await.unwrap();
        replicas.hold.release.notify_one();
        (second, again)
    });
    assert!(matches!(first.unwrap(), JobOutcome::Ran(_)));
    assert!(
        matches!(second, JobOutcome::Skipped(Skipped::Held { .. })),
        "{second:?}"
    );
    assert!(
        matches!(again, JobOutcome::Skipped(Skipped::Held { .. })),
        "{again:?}"
    );
    assert_eq!(replicas.runs().await, 2);

    // A holder that crashes: it took the lease and never frees it.
    replicas.clock.advance(chrono::TimeDelta::hours(1));
    let crashed = Lease::acquire(&replicas.db, JOB, INTERVAL, replicas.clock.now_utc())
        .await
        .unwrap()
        .unwrap();
    drop(crashed);
    assert!(matches!(
        replicas.b.try_run_job(SERVICE, JOB).await.unwrap(),
        JobOutcome::Skipped(Skipped::Held { .. })
    ));
    replicas
        .clock
        .advance(chrono::TimeDelta::from_std(LEASE).unwrap() - chrono::TimeDelta::seconds(1));
    assert!(matches!(
        replicas.a.try_run_job(SERVICE, JOB).await.unwrap(),
        JobOutcome::Skipped(Skipped::Held { .. })
    ));
    // Its lease expires: the job runs on the other instance.
    replicas.clock.advance(chrono::TimeDelta::seconds(1));
    assert!(matches!(
        replicas.b.try_run_job(SERVICE, JOB).await.unwrap(),
        JobOutcome::Ran(_)
    ));
    assert_eq!(replicas.runs().await, 3);
    replicas.stop().await;
}
