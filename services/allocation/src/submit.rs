//! `hearth allocation submit`: the yearly cron job's call. Reads a bearer token from a file,
//! asks the allocation service for the year's annual run (`CreateAllocationRun`) and returns a
//! summary to print: the run id, the total and each member's share.

use std::path::PathBuf;

use hearth_domain::Money;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::allocation::v1::allocation_service_client::AllocationServiceClient;
use hearth_proto::common::v1::AllocationRunKind;
use sha2::{Digest, Sha256};

use crate::convert;
use crate::domain::{KeyBasis, Rounding, format_amount, format_share_percent};

/// What the job asks for.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// The allocation service, e.g. `http://allocation:50051`.
    pub endpoint: String,
    /// A file holding the bearer token (surrounding whitespace ignored).
    pub token_file: PathBuf,
    pub year: i32,
    /// `None`: the year's key as configured (its splits; population 0–17 where it sets none).
    pub key: Option<KeyBasis>,
    pub rounding: Rounding,
    /// `None`: derived from the endpoint, year, key, rounding and `today`, so that a job retried
    /// on the same day gets the first run back instead of a second one.
    pub idempotency_key: Option<String>,
    /// Today's date in Stockholm (for the derived idempotency key).
    pub today: chrono::NaiveDate,
}

/// Why the job failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("--token-file {path}: {message}")]
    Token { path: String, message: String },
    #[error("--endpoint {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    #[error("the allocation service refused the run: {code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
}

/// The idempotency key a job derives when none is given: a UUIDv8 whose custom bits are the
/// first bytes of the SHA-256 of the job's inputs, so the same inputs give the same key.
pub fn derived_idempotency_key(options: &SubmitOptions) -> String {
    let text = format!(
        "hearth allocation submit|{}|{}|{}|{:?}|{}",
        options.endpoint,
        options.year,
        options.key.map_or("configured", KeyBasis::as_str),
        options.rounding,
        options.today
    );
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Runs the job; returns the summary to print.
pub async fn submit(options: &SubmitOptions) -> Result<String, SubmitError> {
    let token_error = |message: String| SubmitError::Token {
        path: options.token_file.display().to_string(),
        message,
    };
    let token = std::fs::read_to_string(&options.token_file)
        .map_err(|error| token_error(format!("cannot be read: {error}")))?;
    let token = token.trim();
    if token.is_empty() {
        return Err(token_error(
            "is empty; it must hold a bearer token".to_owned(),
        ));
    }
    let header: tonic::metadata::MetadataValue<tonic::metadata::Ascii> = format!("Bearer {token}")
        .parse()
        .map_err(|_| token_error("holds characters a token cannot have".to_owned()))?;
    let connect_error = |message: String| SubmitError::Connect {
        endpoint: options.endpoint.clone(),
        message,
    };
    let channel = tonic::transport::Endpoint::from_shared(options.endpoint.clone())
        .map_err(|error| connect_error(error.to_string()))?
        .connect_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(|error| connect_error(format!("cannot connect: {error}")))?;
    // A client span per call: the service's span joins the job's trace.
    let mut client = AllocationServiceClient::new(
        tower::ServiceBuilder::new()
            .layer(hearth_telemetry::propagation::GrpcClientTraceLayer::new())
            .service(channel),
    );
    let idempotency_key = options
        .idempotency_key
        .clone()
        .unwrap_or_else(|| derived_idempotency_key(options));
    let mut request = tonic::Request::new(pb::CreateAllocationRunRequest {
        year: options.year,
        kind: AllocationRunKind::AnnualBudget as i32,
        rounding: convert::rounding(options.rounding) as i32,
        settlement: None,
        validate_only: false,
        idempotency_key,
        key_basis: options
            .key
            .map_or(pb::KeyBasis::Unspecified, convert::basis) as i32,
        actual_cost: None,
    });
    request.metadata_mut().insert("authorization", header);
    let run = client
        .create_allocation_run(request)
        .await
        .map_err(|status| SubmitError::Refused {
            code: status.code(),
            message: status.message().to_owned(),
        })?
        .into_inner()
        .allocation_run
        .unwrap_or_default();
    Ok(summary(&run, options.rounding))
}

/// The run as the job prints it.
pub fn summary(run: &pb::AllocationRun, rounding: Rounding) -> String {
    use std::fmt::Write as _;
    let money = |value: Option<&hearth_proto::common::v1::Money>| {
        format_amount(Money::from_ore(value.map_or(0, |m| m.ore)), rounding)
    };
    let mut text = String::new();
    let _ = writeln!(text, "allocation run {}", run.id);
    let _ = writeln!(
        text,
        "year {}, annual budget, total {} SEK, {} members, made by {}",
        run.year,
        money(run.total.as_ref()),
        run.shares.len(),
        run.created_by
    );
    if run.budget_projected_from_year != 0 {
        let _ = writeln!(
            text,
            "budget projected from {}",
            run.budget_projected_from_year
        );
    }
    for share in &run.shares {
        let code = share
            .municipality
            .as_ref()
            .map_or("", |code| code.value.as_str());
        let name = run
            .members
            .iter()
            .find(|member| {
                member
                    .municipality
                    .as_ref()
                    .is_some_and(|m| m.value == code)
            })
            .map_or("", |member| member.name.as_str());
        let _ = writeln!(
            text,
            "{code}  {name:<12} {:>9} %  {:>12} SEK",
            format_share_percent(share.share_millionths),
            money(share.amount.as_ref())
        );
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn options(today: &str) -> SubmitOptions {
        SubmitOptions {
            endpoint: "http://allocation:50051".to_owned(),
            token_file: PathBuf::from("token"),
            year: 2027,
            key: None,
            rounding: Rounding::Krona,
            idempotency_key: None,
            today: today.parse().unwrap(),
        }
    }

    #[test]
    fn the_derived_key_is_a_uuid_of_the_inputs() {
        let key = derived_idempotency_key(&options("2026-12-01"));
        let uuid = uuid::Uuid::parse_str(&key).unwrap();
        assert_eq!(uuid.get_version(), Some(uuid::Version::Custom));
        assert_eq!(key, uuid.hyphenated().to_string());
        assert_eq!(key, derived_idempotency_key(&options("2026-12-01")));
        assert_ne!(key, derived_idempotency_key(&options("2026-12-02")));
    }
}
