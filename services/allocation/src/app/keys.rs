//! The use values of use-based keys, from the placements the placement events record: set when
//! an event is applied (`events.rs`), and the same rules for every key not yet allocated.

use hearth_rpc::{ServiceContext, ServiceError};
use sea_orm::ConnectionTrait;

use super::yearly::{self, is_allocated};
use crate::domain::usage;
use crate::store::entities::key;
use crate::store::placements;

/// Sets the use values of every key not yet allocated that counts use by a measure, from the
/// placements recorded by the placement events; returns how many keys changed. A member
/// without placements has no use (zero).
pub async fn refresh_use_values<C: ConnectionTrait>(
    ctx: &ServiceContext,
    txn: &C,
) -> Result<usize, ServiceError> {
    let placements = placements::all(txn).await?;
    let mut changed = 0;
    for stored in yearly::all::<key::Entity, C>(txn).await? {
        let Some(measure) = stored.record.measure() else {
            continue;
        };
        let Some(reference_date) = stored
            .record
            .population_reference_date
            .or_else(|| usage::default_reference_date(stored.year))
        else {
            continue;
        };
        if is_allocated(txn, stored.year).await? {
            continue;
        }
        let uses = usage::use_values(measure, &placements, stored.year, reference_date);
        let mut record = stored.record.clone();
        for value in &mut record.values {
            value.use_value = uses.get(&value.municipality).copied().unwrap_or(0);
        }
        if record != stored.record {
            yearly::rewrite::<key::Entity, C>(txn, &stored, &record, ctx.now()).await?;
            changed += 1;
        }
    }
    Ok(changed)
}
