//! The placements made through the unit (`allocation_placement`), as the placement events
//! record them and use-based keys count them.

use hearth_domain::MunicipalityCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::placement;
use crate::domain::usage::Placement;

/// A placement, by its id, at an aggregate version.
pub struct Recorded<'a> {
    pub placement_id: &'a str,
    pub version: i64,
}

/// The placement's stored row, if its start was recorded.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    placement_id: &str,
) -> Result<Option<placement::Model>, DbErr> {
    placement::Entity::find_by_id(placement_id.to_owned())
        .one(conn)
        .await
}

/// Records a placement's start.
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    recorded: Recorded<'_>,
    placement: &Placement,
) -> Result<(), DbErr> {
    placement::Entity::insert(placement::ActiveModel {
        placement_id: ActiveValue::Set(recorded.placement_id.to_owned()),
        municipality: ActiveValue::Set(placement.municipality.to_string()),
        children: ActiveValue::Set(i32::try_from(placement.children).unwrap_or(i32::MAX)),
        start_date: ActiveValue::Set(placement.start),
        end_date: ActiveValue::Set(placement.end),
        version: ActiveValue::Set(recorded.version),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Records a placement's last day.
pub async fn end<C: ConnectionTrait>(
    conn: &C,
    recorded: Recorded<'_>,
    last_day: chrono::NaiveDate,
) -> Result<(), DbErr> {
    placement::Entity::update_many()
        .col_expr(placement::Column::EndDate, Expr::value(last_day))
        .col_expr(placement::Column::Version, Expr::value(recorded.version))
        .filter(placement::Column::PlacementId.eq(recorded.placement_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Every recorded placement, as use counts it.
pub async fn all<C: ConnectionTrait>(conn: &C) -> Result<Vec<Placement>, DbErr> {
    placement::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Placement {
                municipality: MunicipalityCode::parse(&row.municipality)
                    .map_err(|error| DbErr::Custom(format!("allocation_placement: {error}")))?,
                children: u32::try_from(row.children).unwrap_or_default(),
                start: row.start_date,
                end: row.end_date,
            })
        })
        .collect()
}
