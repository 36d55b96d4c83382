//! Start Hearth in a test: any set of services on a random port, on a fresh SQLite directory
//! or a fresh PostgreSQL database (cloned from a migrated template, dropped after), on the
//! embedded bus or NATS JetStream (a unique county, so unique streams), and mint tokens for it.
//!
//! ```ignore
//! let Some(hearth) = TestHearth::builder(hearth::all_services()).storage(Storage::Postgres).start().await
//! else { return }; // skipped: no HEARTH_TEST_DATABASE_URL (a failure when CI=true)
//! let channel = hearth.channel().await;
//! ```
//!
//! Setup failures panic: a test whose environment is broken should fail loudly.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test support: setup failures fail the test"
)]

pub use hearth_testenv as env;

use hearth_auth::{DevelopmentKey, MintRequest, Role};
use hearth_bus::CountySubjects;
use hearth_config::{Settings, Sources};
use hearth_domain::{Clock, CountySlug, MunicipalityCode};
use hearth_rpc::{HostedService, Instance, JobOutcome, backends, runtime};
use hearth_testenv::FreshDatabase;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// Which database the services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Embedded SQLite files in a fresh temporary directory.
    Sqlite,
    /// A fresh PostgreSQL database on `HEARTH_TEST_DATABASE_URL`.
    Postgres,
}

/// Which event bus the services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// The embedded bus, in the temporary directory.
    Embedded,
    /// NATS JetStream on `HEARTH_TEST_NATS_URL`, under a unique county.
    Nats,
}

pub struct Builder {
    services: Vec<Box<dyn HostedService>>,
    storage: Storage,
    bus: Bus,
    overrides: Vec<(String, String)>,
    clock: Option<Arc<dyn Clock>>,
}

/// A running test instance. Dropping it stops nothing cleanly; call [`TestHearth::stop`] in
/// tests that check shutdown.
pub struct TestHearth {
    instance: Option<Instance>,
    settings: Settings,
    key: DevelopmentKey,
    data_dir: tempfile::TempDir,
    database: Option<FreshDatabase>,
    _streams: Option<hearth_testenv::DeleteStreamsOnDrop>,
}

impl TestHearth {
    /// Host `services` (e.g. `hearth::all_services()`) in a test.
    pub fn builder(services: Vec<Box<dyn HostedService>>) -> Builder {
        Builder {
            services,
            storage: Storage::Sqlite,
            bus: Bus::Embedded,
            overrides: Vec::new(),
            clock: None,
        }
    }
}

impl Builder {
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    pub fn bus(mut self, bus: Bus) -> Self {
        self.bus = bus;
        self
    }

    /// Override one setting (dotted key), e.g. `("bus.max_attempts", "2")`.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.overrides.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Run the services on this clock (e.g. a `hearth_domain::FixedClock` the test advances)
    /// instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Run on the data of `other` — its data directory (SQLite files, keys, the embedded bus),
    /// its PostgreSQL database, its county and NATS server — as a second replica does, or a
    /// second `hearth serve` on one data directory. `other` must outlive this instance.
    pub fn sharing_data_with(mut self, other: &TestHearth) -> Self {
        // No fresh database of its own: `database.url` below points at `other`'s.
        self.storage = Storage::Sqlite;
        self.bus = Bus::Embedded;
        let settings = other.settings();
        let mut shared = vec![
            ("data_dir", other.data_dir().display().to_string()),
            ("county.slug", settings.county.slug.clone()),
        ];
        shared.extend(
            other
                .database_url()
                .map(|url| ("database.url", url.to_owned())),
        );
        shared.extend(
            settings
                .bus
                .nats_url
                .clone()
                .map(|url| ("bus.nats_url", url)),
        );
        self.overrides.extend(
            shared
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value)),
        );
        self
    }

    /// Start the services. `None` means the test is skipped because a backend it asked for is
    /// not configured (printed; a panic instead when `CI=true`).
    pub async fn start(self) -> Option<TestHearth> {
        hearth_telemetry::init_for_tests();
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        // Tests on NATS run under a unique county slug, which has no built-in county file:
        // every test instance gets Dalarna's shape from a file (a test may override it).
        let county_file = data_dir.path().join("county.toml");
        std::fs::write(&county_file, dalarna_county_file()).expect("write the test county file");
        let mut sources = Sources::defaults_only()
            .with_override("county.file", county_file.display().to_string())
            .with_override("data_dir", data_dir.path().display().to_string())
            .with_override("listen", "127.0.0.1:0")
            .with_override("telemetry.metrics_listen", "127.0.0.1:0")
            .with_override("auth.allow_development_key", "true")
            .with_override("privacy.allow_development_keys", "true")
            .with_override("shutdown_grace_seconds", "10")
            .with_override("bus.retry_initial_millis", "50")
            .with_override("bus.retry_max_millis", "500");
        let mut database = None;
        let mut streams = None;
        if self.storage == Storage::Postgres {
            let server = hearth_testenv::postgres_url()?;
            let fresh = fresh_database(&server, &self.services).await;
            sources = sources.with_override("database.url", fresh.url.clone());
            database = Some(fresh);
        }
        if self.bus == Bus::Nats {
            let url = hearth_testenv::nats_url()?;
            let county = hearth_testenv::unique_county();
            let subjects = CountySubjects::new(&county).expect("a valid test county");
            streams = Some(hearth_testenv::DeleteStreamsOnDrop::new(
                url.clone(),
                [subjects.events_stream(), subjects.dead_letter_stream()],
            ));
            sources = sources
                .with_override("bus.nats_url", url)
                .with_override("county.slug", county);
        }
        for (key, value) in self.overrides {
            sources = sources.with_override(key, value);
        }
        let settings = hearth_config::load(&sources).expect("test settings are valid");
        let listener = runtime::bind(&settings).await.expect("bind a free port");
        let instance = match self.clock {
            Some(clock) => {
                runtime::start_with_clock(&settings, self.services, listener, clock).await
            }
            None => runtime::start(&settings, self.services, listener).await,
        }
        .expect("services start");
        let key = DevelopmentKey::load_or_generate(&backends::development_key_dir(&settings))
            .expect("development key");
        Some(TestHearth {
            instance: Some(instance),
            settings,
            key,
            data_dir,
            database,
            _streams: streams,
        })
    }
}

/// The built-in Dalarna county file's text: write it where a test needs a county file.
pub fn dalarna_county_file() -> &'static str {
    hearth_county::County::built_in_text("dalarna").expect("Dalarna's county file is built in")
}

/// A fresh PostgreSQL database cloned from a template migrated once for this set of services.
async fn fresh_database(server: &str, services: &[Box<dyn HostedService>]) -> FreshDatabase {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for service in services {
        service.name().hash(&mut hasher);
    }
    let template = format!("hearth_tpl_{:08x}", hasher.finish() as u32);
    hearth_testenv::fresh_postgres_database_from_template(
        server,
        "hearth_test",
        &template,
        |url| async move {
            let settings =
                hearth_config::load(&Sources::defaults_only().with_override("database.url", url))?;
            runtime::migrate_all(&settings, services).await?;
            Ok(())
        },
    )
    .await
    .expect("fresh PostgreSQL database from the migrated template")
}

impl TestHearth {
    pub fn addr(&self) -> SocketAddr {
        self.instance().local_addr()
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn county(&self) -> &str {
        &self.settings.county.slug
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// The PostgreSQL database of this instance, if it runs on one.
    pub fn database_url(&self) -> Option<&str> {
        self.database.as_ref().map(|d| d.url.as_str())
    }

    fn instance(&self) -> &Instance {
        self.instance.as_ref().expect("instance is running")
    }

    /// Runs the job `name` of `service` once, now, and returns its summary (see
    /// `hearth_rpc::Instance::run_job`); panics when the service has no such job or the run is
    /// skipped (its lease is held, or it ran less than its interval ago on the test's clock).
    pub async fn run_job(
        &self,
        service: &str,
        name: &str,
    ) -> Result<String, hearth_rpc::ServiceError> {
        match self.try_run_job(service, name).await? {
            JobOutcome::Ran(summary) => Ok(summary),
            JobOutcome::Skipped(why) => panic!("{service}'s job `{name}` was skipped: {why}"),
        }
    }

    /// Runs the job `name` of `service` once, now, if it gets the job's lease and is due;
    /// panics when the service has no such job.
    pub async fn try_run_job(
        &self,
        service: &str,
        name: &str,
    ) -> Result<JobOutcome, hearth_rpc::ServiceError> {
        self.instance()
            .run_job(service, name)
            .await
            .unwrap_or_else(|| panic!("{service} has no job `{name}`"))
    }

    /// A client channel to the instance.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr()))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the test instance")
    }

    /// A valid token of this instance's county.
    pub fn token(&self, roles: &[Role], municipality: Option<&str>) -> String {
        self.mint(MintRequest {
            roles: roles.to_vec(),
            municipality: municipality
                .map(|code| MunicipalityCode::parse(code).expect("a valid municipality code")),
            ..self.mint_request()
        })
    }

    /// The claims a valid token of this instance would carry; change fields to make bad ones.
    pub fn mint_request(&self) -> MintRequest {
        MintRequest {
            county: CountySlug::parse(&self.settings.county.slug)
                .expect("the test county is valid"),
            roles: vec![Role::UnitStaff],
            municipality: None,
            subject: "test".to_owned(),
            ttl: Duration::from_secs(600),
            issuer: self.settings.auth.issuer.clone(),
            audience: self.settings.auth.audience.clone(),
        }
    }

    /// Sign any claims with the development key this instance trusts.
    pub fn mint(&self, request: MintRequest) -> String {
        self.key.mint(request).expect("mint a development token")
    }

    /// The development key this instance trusts.
    pub fn key(&self) -> &DevelopmentKey {
        &self.key
    }

    /// Shut down cleanly (as Ctrl-C does) and wait for it, keeping the data (the temporary
    /// directory, the PostgreSQL database) for the test to inspect.
    pub async fn shutdown(&mut self) {
        if let Some(instance) = self.instance.take() {
            instance.shutdown().await.expect("clean shutdown");
        }
    }

    /// Shut down cleanly and remove the test's data.
    pub async fn stop(mut self) {
        self.shutdown().await;
        if let Some(database) = self.database.take() {
            database
                .drop_database()
                .await
                .expect("drop the test database");
        }
    }
}

/// Call `path` (e.g. `/hearth.intake.v1.IntakeService/NoSuchMethod`) with an empty message and,
/// if given, a bearer token, and return the status it fails with. A path no service routes
/// shows what the auth layer decides before any handler runs: `Unauthenticated` or
/// `PermissionDenied` for a refused token, `Unimplemented` for one that passes.
pub async fn call_unrouted(
    channel: Channel,
    path: &'static str,
    token: Option<&str>,
) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("the channel is ready");
    let request = match token {
        Some(token) => authorized((), token),
        None => tonic::Request::new(()),
    };
    grpc.unary(
        request,
        http::uri::PathAndQuery::from_static(path),
        tonic_prost::ProstCodec::<(), ()>::default(),
    )
    .await
    .expect_err("no service routes this path")
}

/// Attach a bearer token to a request.
pub fn authorized<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .expect("token is valid metadata"),
    );
    request
}

/// Generates `sqlite::<name>` and `postgres::<name>` tests for each scenario `async fn
/// name(Storage)`: every service scenario runs on both databases (the PostgreSQL one skips, or
/// fails with `CI=true`, without `HEARTH_TEST_DATABASE_URL`). Invoke it in the module that holds
/// the scenarios.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name($crate::Storage::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name($crate::Storage::Postgres).await })*
        }
    };
}
