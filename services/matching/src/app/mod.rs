//! What the event handlers and the RPC handlers of matching both do: keep the read models of
//! the pool and of the open requests ([`pool`], [`requests`]) and turn them into the domain's
//! types ([`convert`]).

pub mod convert;
pub mod pool;
pub mod requests;

use hearth_rpc::{ServiceError, handler};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait};

/// Inserts a read model's new row; a concurrent insert of the same aggregate (a redelivery on
/// another replica) is a conflict the event handler retries.
async fn insert<C, A>(conn: &C, row: A) -> Result<(), ServiceError>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + Send,
    <A as ActiveModelTrait>::Entity: EntityTrait,
{
    match <A::Entity as EntityTrait>::insert(row)
        .exec_without_returning(conn)
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if handler::is_unique_violation(&error) => Err(ServiceError::Aborted {
            reason: "CONCURRENT_CHANGE",
            message: "the aggregate was stored meanwhile".to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests;
