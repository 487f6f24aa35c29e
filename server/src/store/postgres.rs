//! The shared store for several nodes: PostgreSQL through sqlx. Its queries are
//! [`SqlStore`]'s; this file holds what only Postgres needs.
//!
//! Every node holds a pool to the same database. Ordering comes from the database, not from a
//! node: an append bumps its room's counters with `UPDATE … RETURNING`, which takes the room
//! row's lock until the transaction commits, so appends from any number of nodes get gap-free,
//! increasing sequence numbers. Each append is its own transaction, acknowledged after commit
//! (Postgres groups concurrent commits into one WAL flush by itself).

use app::model::RoomId;
use async_trait::async_trait;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgConnectOptions, PgPoolOptions, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, PgPool, Postgres, Type};
use uuid::Uuid;

use super::sql::{Dialect, MessageKey, SqlStore, append_in};
use super::{Appended, MessageToAppend, Store, StoreError, StoreResult};

/// Rooms, memberships and messages in a PostgreSQL database shared by every node.
pub type PostgresStore = SqlStore<PostgresAppends>;

/// Postgres's part of the store: appends commit one by one, racing nodes resolved by the unique
/// message id.
#[derive(Debug, Clone, Copy)]
pub struct PostgresAppends;

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and applies the
    /// embedded migrations. Several nodes may start at once: sqlx takes an advisory lock around
    /// migrating.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool, dialect: PostgresAppends })
    }
}

#[async_trait]
impl Dialect for PostgresAppends {
    type Db = Postgres;

    async fn begin_write(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Postgres>> {
        Ok(pool.begin().await?)
    }

    // The GIN index on `(room_id, search)` (0006_search.sql) finds the matches in the person's
    // rooms only (the rooms as an array, which a bitmap scan takes one room at a time); the
    // newest `$5` of those are sorted out of them (messages accepted in the same millisecond by
    // their ids, which are time-ordered UUIDs).
    const SEARCH_HITS: &'static str = "\
        SELECT m.room_id AS hit_room, m.seq AS hit_seq, m.sent_at AS hit_order, m.id AS hit_tie \
        FROM messages m \
        WHERE m.room_id = ANY (ARRAY( \
                SELECT ms.room_id FROM memberships ms \
                WHERE ms.user_id = $1 AND ($3::text IS NULL OR ms.room_id = $3))) \
          AND m.search @@ to_tsquery('simple', $2) AND NOT m.deleted \
          AND ($4::text IS NULL OR m.author_id = $4) \
        ORDER BY m.sent_at DESC, m.id DESC LIMIT $5";

    fn match_expression(terms: &[String], _: Option<&RoomId>) -> String {
        // The room is the index's own column (`$3` in the query).
        // `'word'` or `'word':*`, all joined by `&`. Terms hold only letters and digits, so
        // the quotes need no escaping.
        let quoted: Vec<String> = terms
            .iter()
            .map(|t| if app::search::is_prefix(t) { format!("'{t}':*") } else { format!("'{t}'") })
            .collect();
        quoted.join(" & ")
    }

    async fn append(&self, pool: &PgPool, message: MessageToAppend) -> StoreResult<Appended> {
        let mut tx = pool.begin().await?;
        match append_in::<Postgres>(&mut tx, &message).await? {
            Ok(Some(appended)) => {
                tx.commit().await?;
                Ok(appended)
            }
            Err(refused) => Err(refused),
            // The id was taken by a message our transaction could not read (another node's, a
            // client retrying after a reconnect): it rolls back with the counters it took, and
            // the stored message decides between a retry and a conflict.
            Ok(None) => {
                tx.rollback().await?;
                let store = SqlStore { pool: pool.clone(), dialect: *self };
                let stored = store.message(message.id).await?.ok_or(StoreError::NotFound)?;
                super::retry_of(stored, &message)
            }
        }
    }
}

/// Message ids are `UUID` columns in Postgres (`0001_init.sql`).
impl Type<Postgres> for MessageKey {
    fn type_info() -> PgTypeInfo {
        <Uuid as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for MessageKey {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Uuid as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl Decode<'_, Postgres> for MessageKey {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        Ok(Self(<Uuid as Decode<Postgres>>::decode(value)?))
    }
}
