//! The Prometheus scrape endpoint: `GET /metrics` on `telemetry.metrics_listen`, plain HTTP/1.1
//! on its own port, so that scrapers need neither gRPC nor a token. It shows counts and
//! durations only, never personal data.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::StartError;

/// Binds `addr` and serves the scrape until `stop`; returns the bound address and the task.
pub(crate) async fn serve(
    addr: SocketAddr,
    stop: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::MetricsListen {
            addr,
            error: source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| StartError::MetricsListen {
            addr,
            error: source,
        })?;
    let router = Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(CONTENT_TYPE, hearth_telemetry::metrics::SCRAPE_CONTENT_TYPE)],
                hearth_telemetry::metrics::scrape(),
            )
        }),
    );
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    Ok((local_addr, task))
}
