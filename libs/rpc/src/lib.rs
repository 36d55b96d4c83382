//! How a Hearth service is served. Every service crate implements [`HearthService`]; the
//! binaries and the testkit host them with [`runtime::start`], which gives every service the
//! same health, reflection, authentication, tracing, outbox relay and subscriptions. Handlers
//! fail with [`ServiceError`], the one error contract mapped to gRPC status here.

pub mod backends;
pub mod entry;
pub mod error;
pub mod handler;
pub mod idempotency;
pub mod jobs;
mod metrics_endpoint;
pub mod paging;
pub mod runtime;
pub mod service;
pub mod standalone;

pub use error::{FieldViolation, ServiceError, Violations};
pub use hearth_store::Transaction;
pub use jobs::JobOutcome;
pub use runtime::{Instance, StartError, start};
pub use service::{HearthService, HostedService, Job, JobRun, ServiceContext, Subscription};

/// The platform's tables that every service's database carries — the bus's outbox and inbox,
/// the audit log, the idempotency keys, the job leases — in order. A service's `Migrator` lists these first,
/// then its own.
pub fn platform_migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
    let mut migrations = hearth_bus::migrations();
    migrations.extend(hearth_audit::migrations());
    migrations.push(Box::new(idempotency::CreateIdempotencyKeys));
    migrations.push(Box::new(jobs::CreateJobLeases));
    migrations
}

/// Telemetry options from settings: the one mapping, used by every binary. `service_name` is
/// the binary's name (`hearth`, `hearth-intake`, …), the `service.name` of its spans and metrics.
pub fn telemetry_options(
    settings: &hearth_config::Settings,
    service_name: &str,
) -> hearth_telemetry::TelemetryOptions {
    use hearth_config::LogFormat as Configured;
    use hearth_telemetry::LogFormat;
    hearth_telemetry::TelemetryOptions {
        service_name: service_name.to_owned(),
        log_format: match settings.telemetry.log_format {
            Configured::Auto => LogFormat::Auto,
            Configured::Pretty => LogFormat::Pretty,
            Configured::Json => LogFormat::Json,
        },
        log_filter: settings.telemetry.log_filter.clone(),
        otlp_endpoint: settings.telemetry.otlp_endpoint.clone(),
        sample_ratio: settings.telemetry.sample_ratio,
        county: Some(settings.county.slug.clone()),
        database_spans: settings.telemetry.database_spans,
    }
}

/// Install logging and tracing for a binary; keep the guard until exit (it flushes traces).
pub fn init_telemetry(
    settings: &hearth_config::Settings,
    service_name: &str,
) -> Result<hearth_telemetry::TelemetryGuard, hearth_telemetry::TelemetryError> {
    hearth_telemetry::init(telemetry_options(settings, service_name))
}
