//! Allocation keys: a year's key values per member and the splits between the bases. Get,
//! update through a field mask, and import the values from finance's CSV (idempotent).

use std::collections::HashSet;

use chrono::NaiveDate;
use hearth_domain::MunicipalityCode;
use hearth_proto::allocation::v1 as pb;
use hearth_proto::convert;
use hearth_rpc::handler::{accept, idempotency_key};
use hearth_rpc::idempotency::IdempotencyKey;
use hearth_rpc::{ServiceContext, ServiceError, Violations};
use prost::Message;
use tonic::Request;

use super::support::{FINANCE, READERS, check_year, get_year, mask_paths};
use crate::app::yearly::{self, Change, Stored};
use crate::domain::{KeyBasis, Split, usage};
use crate::files;
use crate::store::entities::key;
use crate::store::records::{KeyRecord, KeyValueRecord};

pub async fn get(
    ctx: &ServiceContext,
    request: Request<pb::GetAllocationKeyRequest>,
) -> Result<pb::GetAllocationKeyResponse, ServiceError> {
    let (_, request) = accept(request, READERS)?;
    let stored = get_year::<key::Entity>(ctx, request.year).await?;
    Ok(pb::GetAllocationKeyResponse {
        allocation_key: Some(to_proto(&stored)),
    })
}

pub async fn update(
    ctx: &ServiceContext,
    request: Request<pb::UpdateAllocationKeyRequest>,
) -> Result<pb::UpdateAllocationKeyResponse, ServiceError> {
    let (principal, request) = accept(request, FINANCE)?;
    let Some(wanted) = &request.allocation_key else {
        return Err(ServiceError::invalid("allocation_key", "is required"));
    };
    let mut violations = Violations::new();
    check_year(&mut violations, "allocation_key.year", wanted.year);
    let paths = mask_paths(request.update_mask.as_ref(), &mut violations);
    let patch = KeyPatch::check(ctx, wanted, paths, &mut violations);
    violations.finish()?;
    let change = Change {
        year: wanted.year,
        etag: &request.etag,
        allow_missing: request.allow_missing,
        method: "UpdateAllocationKey",
    };
    let stored = yearly::update::<key::Entity>(
        ctx,
        &principal,
        change,
        || default_key(wanted.year),
        |record| {
            patch.apply(record);
            check_use_measure(record)
        },
    )
    .await?;
    Ok(pb::UpdateAllocationKeyResponse {
        allocation_key: Some(to_proto(&stored)),
    })
}

pub async fn import(
    ctx: &ServiceContext,
    request: Request<pb::ImportAllocationKeyRequest>,
) -> Result<pb::ImportAllocationKeyResponse, ServiceError> {
    let (principal, request) = accept(request, FINANCE)?;
    let mut violations = Violations::new();
    check_year(&mut violations, "year", request.year);
    let idempotency = import_idempotency_key(ctx, &request, &mut violations);
    let values = imported_values(ctx, &request.csv, &mut violations);
    violations.finish()?;
    let year = request.year;
    let txn = ctx.begin().await?;
    if let Some(idempotency) = &idempotency
        && idempotency.find(&txn).await?.is_some()
    {
        let stored = yearly::get::<key::Entity, _>(&txn, year).await?;
        txn.commit().await?;
        return Ok(pb::ImportAllocationKeyResponse {
            allocation_key: Some(to_proto(&stored)),
        });
    }
    let change = Change {
        year,
        etag: &request.etag,
        allow_missing: request.allow_missing,
        method: "ImportAllocationKey",
    };
    let stored = yearly::change::<key::Entity, _>(
        ctx,
        &txn,
        &principal,
        change,
        || default_key(year),
        |record| {
            record.values = values;
            check_use_measure(record)
        },
    )
    .await?;
    if let Some(idempotency) = &idempotency {
        idempotency
            .remember(&txn, &year.to_string(), "imported", stored.update_time)
            .await?;
    }
    txn.commit().await?;
    Ok(pb::ImportAllocationKeyResponse {
        allocation_key: Some(to_proto(&stored)),
    })
}

/// An import's idempotency key, when it has one. A retry sends the same request; its etag
/// (made stale by the first import) is not part of what the key stands for.
fn import_idempotency_key(
    ctx: &ServiceContext,
    request: &pb::ImportAllocationKeyRequest,
    violations: &mut Violations,
) -> Option<IdempotencyKey> {
    if request.idempotency_key.is_empty() {
        return None;
    }
    let without_key = pb::ImportAllocationKeyRequest {
        idempotency_key: String::new(),
        etag: String::new(),
        ..request.clone()
    };
    idempotency_key(
        ctx,
        "ImportAllocationKey",
        &request.idempotency_key,
        &without_key.encode_to_vec(),
        violations,
    )
}

fn to_proto(stored: &Stored<KeyRecord>) -> pb::AllocationKey {
    crate::convert::key(
        stored.year,
        &stored.record,
        stored.version,
        stored.update_time,
        None,
    )
}

/// The default key of a year that has none: population 0–17 on 31 December of the previous
/// year, every cost shared by population.
fn default_key(year: i32) -> KeyRecord {
    KeyRecord {
        population_reference_date: usage::default_reference_date(year),
        values: Vec::new(),
        use_measure: pb::UseMeasure::Unspecified as i32,
        common_split: vec![(KeyBasis::Population0To17, 10_000)],
        specific_split: vec![(KeyBasis::Population0To17, 10_000)],
    }
}

/// A split that shares by use needs to say what use counts.
fn check_use_measure(record: &KeyRecord) -> Result<(), ServiceError> {
    let uses_use = record
        .common_split
        .iter()
        .chain(&record.specific_split)
        .any(|(basis, _)| *basis == KeyBasis::Use);
    if uses_use && record.use_measure == pb::UseMeasure::Unspecified as i32 {
        return Err(ServiceError::invalid(
            "allocation_key.use_measure",
            "is required when a split shares costs by use",
        ));
    }
    Ok(())
}

/// The rows of an imported CSV, each a member of the county, by municipality code.
fn imported_values(
    ctx: &ServiceContext,
    csv: &str,
    violations: &mut Violations,
) -> Vec<KeyValueRecord> {
    let rows = violations
        .check("csv", files::parse_key_values("csv", csv))
        .unwrap_or_default();
    for (code, _) in &rows {
        if ctx.county.member(*code).is_none() {
            violations.add(
                "csv",
                format!("{code} is not a member municipality of this county"),
            );
        }
    }
    let mut values: Vec<KeyValueRecord> = rows
        .into_iter()
        .map(|(municipality, values)| KeyValueRecord {
            municipality,
            population_0_17: values.population_0_17.unwrap_or_default(),
            tax_base_ore: i64::try_from(values.tax_base_ore.unwrap_or_default())
                .unwrap_or(i64::MAX),
            use_value: values.use_value.unwrap_or_default(),
        })
        .collect();
    values.sort_by_key(|value| value.municipality);
    values
}

/// The fields an `UpdateAllocationKey` changes, checked.
#[derive(Default)]
struct KeyPatch {
    values: Option<Vec<KeyValueRecord>>,
    common_split: Option<Vec<(KeyBasis, u32)>>,
    specific_split: Option<Vec<(KeyBasis, u32)>>,
    population_reference_date: Option<Option<NaiveDate>>,
    use_measure: Option<i32>,
}

impl KeyPatch {
    fn check(
        ctx: &ServiceContext,
        wanted: &pb::AllocationKey,
        paths: &[String],
        violations: &mut Violations,
    ) -> Self {
        let mut patch = Self::default();
        for path in paths {
            match path.as_str() {
                "values" => patch.values = Some(key_values(ctx, violations, &wanted.values)),
                "common_cost_split" => {
                    patch.common_split = split(
                        violations,
                        "allocation_key.common_cost_split",
                        &wanted.common_cost_split,
                    )
                }
                "specific_cost_split" => {
                    patch.specific_split = split(
                        violations,
                        "allocation_key.specific_cost_split",
                        &wanted.specific_cost_split,
                    )
                }
                "population_reference_date" => {
                    patch.population_reference_date = Some(reference_date(
                        violations,
                        wanted.population_reference_date.as_ref(),
                    ))
                }
                "use_measure" => {
                    if pb::UseMeasure::try_from(wanted.use_measure).is_err() {
                        violations.add("allocation_key.use_measure", "is not a use measure");
                    }
                    patch.use_measure = Some(wanted.use_measure);
                }
                other => violations.add(
                    "update_mask",
                    format!(
                        "`{other}` cannot be changed; the fields are population_reference_date, \
                         values, use_measure, common_cost_split, specific_cost_split"
                    ),
                ),
            }
        }
        patch
    }

    fn apply(self, record: &mut KeyRecord) {
        if let Some(values) = self.values {
            record.values = values;
        }
        if let Some(split) = self.common_split {
            record.common_split = split;
        }
        if let Some(split) = self.specific_split {
            record.specific_split = split;
        }
        if let Some(date) = self.population_reference_date {
            record.population_reference_date = date;
        }
        if let Some(measure) = self.use_measure {
            record.use_measure = measure;
        }
    }
}

fn reference_date(
    violations: &mut Violations,
    date: Option<&hearth_proto::common::v1::Date>,
) -> Option<NaiveDate> {
    let date = date?;
    let parsed = convert::date(date);
    if parsed.is_none() {
        violations.add(
            "allocation_key.population_reference_date",
            "is not a calendar date",
        );
    }
    parsed
}

/// Checks the key values of a request against the county's members.
fn key_values(
    ctx: &ServiceContext,
    violations: &mut Violations,
    values: &[pb::KeyValues],
) -> Vec<KeyValueRecord> {
    let mut seen = HashSet::new();
    let mut records = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        let field = |name: &str| format!("allocation_key.values[{index}].{name}");
        let Some(code) = member_code(ctx, violations, &field("municipality"), value) else {
            continue;
        };
        if !seen.insert(code) {
            violations.add(field("municipality"), format!("{code} is listed twice"));
            continue;
        }
        let tax_base = value.tax_base.as_ref().map_or(0, |money| money.ore);
        if tax_base < 0 {
            violations.add(field("tax_base.ore"), "must not be negative");
        }
        records.push(KeyValueRecord {
            municipality: code,
            population_0_17: value.population_0_17,
            tax_base_ore: tax_base,
            use_value: value.r#use,
        });
    }
    records.sort_by_key(|record| record.municipality);
    records
}

/// The municipality of a key value: required, a code, a member of the county.
fn member_code(
    ctx: &ServiceContext,
    violations: &mut Violations,
    field: &str,
    value: &pb::KeyValues,
) -> Option<MunicipalityCode> {
    let code = violations
        .required(field, value.municipality.as_ref())
        .and_then(|code| violations.check(field, convert::municipality_code(code)))?;
    if ctx.county.member(code).is_none() {
        violations.add(
            field,
            format!("{code} is not a member municipality of this county"),
        );
        return None;
    }
    Some(code)
}

fn split(
    violations: &mut Violations,
    field: &str,
    weights: &[pb::KeyWeight],
) -> Option<Vec<(KeyBasis, u32)>> {
    let before = violations.len();
    let mut parts = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        match crate::convert::from_basis(weight.basis) {
            Some(basis) => parts.push((basis, weight.weight_basis_points)),
            None => violations.add(
                format!("{field}[{index}].basis"),
                "must be KEY_BASIS_POPULATION_0_17, KEY_BASIS_TAX_BASE or KEY_BASIS_USE",
            ),
        }
    }
    if violations.len() != before {
        return None;
    }
    match Split::new(parts) {
        Ok(split) => Some(split.parts().to_vec()),
        Err(error) => {
            violations.add(field, error.to_string());
            None
        }
    }
}
