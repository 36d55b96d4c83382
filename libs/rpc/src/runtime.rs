//! Hosting: turn settings and a list of services into a running gRPC server with health,
//! reflection, authentication, tracing, outbox relays and event subscriptions — and take it
//! down cleanly. The all-in-one `hearth serve`, each standalone `hearth-<name>` binary and the
//! testkit all go through [`start`], so they behave the same.

use crate::backends::{self, Backends};
use crate::jobs::{JobOutcome, ScheduledJob};
use crate::service::{HostedService, ServiceContext};
use hearth_audit::AuditLog;
use hearth_auth::AuthLayer;
use hearth_bus::{
    ConsumerSpec, Inbox, Outbox, OutboxRelay, RelayConfig, RetryPolicy, Subscription,
};
use hearth_config::Settings;
use hearth_domain::{Clock, SystemClock};
use hearth_telemetry::propagation::GrpcTraceLayer;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_reflection::server as reflection;

/// Why an instance could not start. Each names the service or setting at fault. An I/O error
/// is said in the message and not also a `source()`, so that a report (`{:#}`) says it once.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Backend(#[from] backends::BackendError),
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    #[error("server reflection: {0}")]
    Reflection(String),
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("telemetry.metrics_listen: cannot listen on {addr}: {error}")]
    MetricsListen {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// A running Hearth instance (one or more services on one address).
pub struct Instance {
    local_addr: SocketAddr,
    data_dir: PathBuf,
    services: Vec<&'static str>,
    grpc_names: Vec<&'static str>,
    stop_server: CancellationToken,
    /// Stops subscriptions and housekeeping: what may still write to the outboxes.
    stop_consumers: CancellationToken,
    /// Stops the outbox relays, which flush first: cancelled after the consumers have stopped.
    stop_relays: CancellationToken,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    consumers: Vec<JoinHandle<()>>,
    relays: Vec<JoinHandle<()>>,
    /// The Prometheus scrape endpoint, if configured; it stops last.
    metrics: Option<(SocketAddr, JoinHandle<()>)>,
    /// An instance dropped without [`Instance::wait`] (a failed start, a test) stops its tasks.
    _stop_on_drop: [DropGuard; 3],
    health: HealthReporter,
    grace: Duration,
    /// Every service's jobs, for [`Instance::run_job`].
    jobs: Vec<ScheduledJob>,
}

impl Instance {
    /// Runs the job `name` of `service` now, as its timer would (beside its periodic runs):
    /// through the job's lease, so it is skipped while another run holds it (on any instance on
    /// the same database) or when the job ran less than its interval ago on the service's
    /// clock (the runtime runs every job at start: a test advances its clock first). `None`
    /// when the service has no such job.
    pub async fn run_job(
        &self,
        service: &str,
        name: &str,
    ) -> Option<Result<JobOutcome, crate::ServiceError>> {
        let job = self
            .jobs
            .iter()
            .find(|job| job.service == service && job.job.name == name)?;
        Some(job.run_if_due().await)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the Prometheus scrape endpoint listens (`telemetry.metrics_listen`), if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _)| *addr)
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// Short names of the hosted services.
    pub fn services(&self) -> &[&'static str] {
        &self.services
    }

    /// Full gRPC names of the hosted services, as the health service knows them.
    pub fn grpc_service_names(&self) -> &[&'static str] {
        &self.grpc_names
    }

    /// Cancel this token to begin a clean shutdown (what Ctrl-C does).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.stop_server.clone()
    }

    /// Run until the shutdown token is cancelled, then shut down cleanly: health turns to
    /// NOT_SERVING, the server stops accepting and lets in-flight calls finish, then
    /// subscriptions stop and the outbox relays flush what was committed.
    pub async fn wait(self) -> Result<(), tonic::transport::Error> {
        self.stop_server.cancelled().await;
        for name in self.grpc_names.iter().copied().chain([""]) {
            self.health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        let served = match tokio::time::timeout(self.grace, self.server).await {
            Ok(Ok(result)) => result,
            Ok(Err(join_error)) => {
                tracing::error!(error = %join_error, "gRPC server task failed");
                Ok(())
            }
            Err(_) => {
                tracing::warn!(grace = ?self.grace, "in-flight calls did not finish within the grace period");
                Ok(())
            }
        };
        // Consumers first: a handler in the middle of a delivery may still write events to its
        // outbox, and the relays' final flush should carry them.
        self.stop_consumers.cancel();
        join_within(self.consumers, self.grace).await;
        self.stop_relays.cancel();
        join_within(self.relays, self.grace).await;
        if let Some((_, metrics)) = self.metrics {
            join_within(vec![metrics], self.grace).await;
        }
        tracing::info!("stopped");
        served
    }

    /// Begin a clean shutdown and wait for it.
    pub async fn shutdown(self) -> Result<(), tonic::transport::Error> {
        self.stop_server.cancel();
        self.wait().await
    }
}

/// Wait for `tasks`, each for at most `grace`.
async fn join_within(tasks: Vec<JoinHandle<()>>, grace: Duration) {
    for task in tasks {
        if tokio::time::timeout(grace, task).await.is_err() {
            tracing::warn!(
                ?grace,
                "a background task did not stop within the grace period"
            );
        }
    }
}

/// Bind the configured listen address.
pub async fn bind(settings: &Settings) -> Result<TcpListener, StartError> {
    TcpListener::bind(settings.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: settings.listen,
            error: source,
        })
}

/// Start `services` on `listener` with the backends that `settings` name.
pub async fn start(
    settings: &Settings,
    services: Vec<Box<dyn HostedService>>,
    listener: TcpListener,
) -> Result<Instance, StartError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    start_with_clock(settings, services, listener, clock).await
}

/// [`start`] with an injected clock (tests move time).
pub async fn start_with_clock(
    settings: &Settings,
    services: Vec<Box<dyn HostedService>>,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> Result<Instance, StartError> {
    let local_addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: settings.listen,
        error: source,
    })?;
    let Backends {
        county,
        bus,
        verifier,
        keyring,
    } = backends::open(settings).await?;
    let stop_server = CancellationToken::new();
    let stop_consumers = CancellationToken::new();
    let stop_relays = CancellationToken::new();
    // If a later service fails to start, this stops what the earlier ones already spawned;
    // once started, the instance keeps it.
    let stop_on_drop = [
        stop_server.clone().drop_guard(),
        stop_consumers.clone().drop_guard(),
        stop_relays.clone().drop_guard(),
    ];
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;

    let mut routes = RoutesBuilder::default();
    let mut consumers = Vec::new();
    let mut relays = Vec::new();
    let mut grpc_names = Vec::new();
    let mut names = Vec::new();
    let mut jobs = Vec::new();
    let retry = RetryPolicy {
        max_attempts: settings.bus.max_attempts,
        backoff_base: Duration::from_millis(settings.bus.retry_initial_millis),
        backoff_max: Duration::from_millis(settings.bus.retry_max_millis),
    };
    let retention = Duration::from_secs(u64::from(settings.outbox.retention_days) * 86_400);
    for service in &services {
        let name = service.name();
        let db = backends::open_database(settings, name).await?;
        if settings.database.migrate_on_start() {
            service.migrate(&db).await?;
        } else {
            service.ensure_migrated(&db).await?;
        }
        let outbox = Outbox::new(&settings.county.slug, name)
            .map_err(|error| backends::BackendError::Bus(error.to_string()))?
            .with_retention(retention);
        let ctx = ServiceContext {
            service: name,
            county: county.clone(),
            db: db.clone(),
            outbox: outbox.clone(),
            bus: bus.clone(),
            keyring: keyring.clone(),
            audit: AuditLog::new(clock.clone()),
            clock: clock.clone(),
        };
        service.mount(&ctx, &mut routes);
        let relay = OutboxRelay::new(
            db.clone(),
            bus.clone(),
            &outbox,
            RelayConfig {
                batch_size: u64::from(settings.outbox.batch_size),
                shutdown_flush_timeout: Duration::from_secs(settings.shutdown_grace_seconds),
                ..RelayConfig::default()
            },
        );
        let stop = stop_relays.clone();
        relays.push(tokio::spawn(async move {
            if let Err(error) = relay.run(stop).await {
                tracing::error!(service = name, %error, "outbox relay stopped");
            }
        }));
        relays.push(tokio::spawn(hearth_bus::metrics::watch_outbox(
            db.clone(),
            outbox.clone(),
            stop_relays.clone(),
        )));
        consumers.push(tokio::spawn(housekeeping(
            name,
            ctx.clone(),
            Retention {
                audit: Duration::from_secs(u64::from(settings.audit.retention_days) * 86_400),
                inbox: Duration::from_secs(u64::from(settings.bus.replay_window_days) * 86_400),
            },
            stop_consumers.clone(),
        )));
        for job in service.jobs(&ctx) {
            let job = ScheduledJob {
                service: name,
                job,
                db: db.clone(),
                clock: clock.clone(),
            };
            consumers.push(tokio::spawn(crate::jobs::run_periodically(
                job.clone(),
                stop_consumers.clone(),
            )));
            jobs.push(job);
        }
        for subscription in service.subscriptions(&ctx) {
            let spec = ConsumerSpec::new(
                format!("{name}-{}", subscription.name),
                format!(
                    "hearth.{}.{}",
                    settings.county.slug, subscription.subject_pattern
                ),
            )
            .with_ack_wait(Duration::from_secs(settings.bus.ack_wait_seconds));
            let run = Subscription::run(
                db.clone(),
                bus.clone(),
                spec,
                subscription.handler,
                retry.clone(),
                stop_consumers.clone(),
            );
            consumers.push(tokio::spawn(async move {
                if let Err(error) = run.await {
                    tracing::error!(service = name, %error, "subscription stopped");
                }
            }));
        }
        grpc_names.extend(service.grpc_service_names());
        names.push(name);
    }

    let (reflection_v1, reflection_v1alpha) = reflection_services()?;
    routes
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let metrics = match settings.telemetry.metrics_listen {
        Some(addr) => Some(crate::metrics_endpoint::serve(addr, stop_relays.clone()).await?),
        None => None,
    };
    let server = tonic::transport::Server::builder()
        .layer(GrpcTraceLayer::new().with_methods(method_paths()))
        .layer(AuthLayer::new(verifier))
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            stop_server.clone().cancelled_owned(),
        );
    let server = tokio::spawn(server);

    for name in grpc_names.iter().copied().chain([""]) {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    tracing::info!(address = %local_addr, services = ?names, "serving");
    Ok(Instance {
        local_addr,
        data_dir: settings.data_dir.clone(),
        services: names,
        grpc_names,
        stop_server,
        stop_consumers,
        stop_relays,
        server,
        consumers,
        relays,
        metrics,
        _stop_on_drop: stop_on_drop,
        health,
        grace: Duration::from_secs(settings.shutdown_grace_seconds),
        jobs,
    })
}

/// Server reflection, v1 and v1alpha (for older clients): every Hearth contract, the health
/// service, and `google.rpc`'s `status.proto` and `error_details.proto`, so that a stock client
/// (grpcurl, `buf curl`) decodes the `BadRequest` and `ErrorInfo` details of an error instead of
/// printing them as base64.
pub fn reflection_services() -> Result<
    (
        reflection::v1::ServerReflectionServer<impl reflection::v1::ServerReflection>,
        reflection::v1alpha::ServerReflectionServer<impl reflection::v1alpha::ServerReflection>,
    ),
    StartError,
> {
    let builder = || {
        reflection::Builder::configure()
            .register_encoded_file_descriptor_set(hearth_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(hearth_proto::GOOGLE_RPC_FILE_DESCRIPTOR_SET)
    };
    let reflection_error = |error: reflection::Error| StartError::Reflection(error.to_string());
    Ok((
        builder().build_v1().map_err(reflection_error)?,
        builder().build_v1alpha().map_err(reflection_error)?,
    ))
}

/// Every method this server can route, as `/package.Service/Method`: the Hearth contracts,
/// health and reflection. Only these get their own series in the call-duration metric.
fn method_paths() -> Vec<String> {
    use prost::Message as _;
    [
        hearth_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]
    .into_iter()
    .filter_map(|bytes| prost_types::FileDescriptorSet::decode(bytes).ok())
    .flat_map(|set| set.file)
    .flat_map(|file| {
        let package = file.package().to_owned();
        file.service.into_iter().flat_map(move |service| {
            let prefix = match package.as_str() {
                "" => service.name().to_owned(),
                package => format!("{package}.{}", service.name()),
            };
            service
                .method
                .into_iter()
                .map(move |method| format!("/{prefix}/{}", method.name()))
        })
    })
    .collect()
}

/// How long a service keeps what the retention rules allow it to forget.
struct Retention {
    /// Records of reads of personal data (`audit.retention_days`).
    audit: Duration,
    /// Inbox entries: at least the replay window, so a replay is still recognised.
    inbox: Duration,
}

/// How often a service deletes what its retention has run out on (the outbox's sent rows are
/// the relay's own job).
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60 * 60);

async fn housekeeping(
    service: &'static str,
    ctx: ServiceContext,
    retention: Retention,
    stop: CancellationToken,
) {
    loop {
        match ctx.audit.purge_expired(&ctx.db, retention.audit).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(service, purged, "expired audit records deleted"),
            Err(error) => tracing::warn!(service, %error, "audit retention purge failed"),
        }
        let inbox_cutoff = ctx.clock.now_utc()
            - chrono::TimeDelta::from_std(retention.inbox).unwrap_or(chrono::TimeDelta::MAX);
        match Inbox::purge_applied_before(&ctx.db, inbox_cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(service, purged, "expired inbox entries deleted"),
            Err(error) => tracing::warn!(service, %error, "inbox retention purge failed"),
        }
        // Idempotency keys live as long as inbox entries (`bus.replay_window_days`): a client
        // retry within that window gets the first result.
        match crate::idempotency::purge_before(&ctx.db, inbox_cutoff).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(service, purged, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(service, %error, "idempotency key purge failed"),
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HOUSEKEEPING_INTERVAL) => {}
        }
    }
}

/// Apply every service's pending migrations (what `hearth migrate` does); returns
/// `(service, migrations applied)` per service.
pub async fn migrate_all(
    settings: &Settings,
    services: &[Box<dyn HostedService>],
) -> Result<Vec<(&'static str, usize)>, StartError> {
    let mut applied = Vec::new();
    for service in services {
        let db = backends::open_database(settings, service.name()).await?;
        applied.push((service.name(), service.migrate(&db).await?));
        db.close().await.ok();
    }
    Ok(applied)
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes sends before it kills a pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received: shutting down"),
        () = terminate => tracing::info!("SIGTERM received: shutting down"),
    }
}
