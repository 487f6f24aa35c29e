//! Where the bytes of shared files live: content-addressed, so a file shared twice is stored
//! once.
//!
//! One node keeps them as plain files under the data dir ([`DiskBlobs`]: `files/ab/abcdef…`);
//! several nodes keep them in PostgreSQL ([`PgBlobs`], the `file_parts` table, in 1 MiB parts),
//! the one store they all read. A key is the SHA-256 (hex) of the bytes, or `preview-` and that
//! for an image's preview; keys are made by the server, never taken from a client.

use std::path::{Path, PathBuf};
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::AsyncReadExt;

use super::{StoreError, StoreResult};

/// A stored file's bytes, as they are read.
pub type BlobStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// The pause between two parts of a file written to PostgreSQL (see `put_file`).
const PART_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Bytes per row of `file_parts`.
const PART_BYTES: usize = 1024 * 1024;

/// Content-addressed file bytes.
#[async_trait]
pub trait Blobs: Send + Sync + std::fmt::Debug + 'static {
    /// Stores the file at `path` under `key` (unless it is stored already) and removes `path`.
    async fn put_file(&self, key: &str, path: &Path) -> StoreResult<()>;

    /// Stores `bytes` under `key` (unless stored already).
    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()>;

    /// The bytes under `key`, or `None`.
    async fn get(&self, key: &str) -> StoreResult<Option<BlobStream>>;
}

/// Opens the blob store a configuration names: PostgreSQL for a database URL (its own small
/// pool, so a large download never waits behind chat queries or holds one up), otherwise files
/// under `data_dir/files`.
pub async fn open_blobs(
    database_url: Option<&str>,
    data_dir: &Path,
) -> StoreResult<std::sync::Arc<dyn Blobs>> {
    Ok(match database_url {
        Some(url) => std::sync::Arc::new(PgBlobs::connect(url).await?),
        None => std::sync::Arc::new(DiskBlobs::new(data_dir.join("files")).await?),
    })
}

fn checked(key: &str) -> StoreResult<&str> {
    let ok = key.len() >= 3
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(key)
    } else {
        Err(StoreError::Database(sqlx::Error::Protocol(format!("bad blob key {key:?}"))))
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(e))
}

/// Files under a directory, two hex digits of fan-out.
#[derive(Debug, Clone)]
pub struct DiskBlobs {
    dir: PathBuf,
}

impl DiskBlobs {
    /// Blobs under `dir` (created if missing).
    pub async fn new(dir: PathBuf) -> StoreResult<Self> {
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let key = checked(key)?;
        let fan = key.rsplit('-').next().unwrap_or(key);
        Ok(self.dir.join(&fan[..2]).join(key))
    }
}

#[async_trait]
impl Blobs for DiskBlobs {
    async fn put_file(&self, key: &str, path: &Path) -> StoreResult<()> {
        let target = self.path(key)?;
        if tokio::fs::try_exists(&target).await.map_err(io)? {
            tokio::fs::remove_file(path).await.map_err(io)?;
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        // Same file system (both under the data dir): the rename is atomic, so a reader never
        // sees half a file, and two uploads of the same bytes end with one of them in place.
        tokio::fs::rename(path, &target).await.map_err(io)
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let target = self.path(key)?;
        if tokio::fs::try_exists(&target).await.map_err(io)? {
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let partial = target.with_extension(format!("{}.part", uuid::Uuid::now_v7().simple()));
        tokio::fs::write(&partial, bytes).await.map_err(io)?;
        tokio::fs::rename(&partial, &target).await.map_err(io)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<BlobStream>> {
        match tokio::fs::File::open(self.path(key)?).await {
            Ok(file) => Ok(Some(Box::pin(tokio_util::io::ReaderStream::new(file)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

/// Bytes in PostgreSQL, in parts.
#[derive(Debug, Clone)]
pub struct PgBlobs {
    pool: PgPool,
}

impl PgBlobs {
    /// Connects to `url` (the schema is the store's, migrated by it).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { pool })
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        let found: Option<(i32,)> =
            sqlx::query_as("SELECT part FROM file_parts WHERE key = $1 AND part = 0")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl Blobs for PgBlobs {
    async fn put_file(&self, key: &str, path: &Path) -> StoreResult<()> {
        let key = checked(key)?;
        if !self.exists(key).await? {
            let mut file = tokio::fs::File::open(path).await.map_err(io)?;
            // One transaction: a reader finds all the parts or none (part 0 is the marker).
            let mut tx = self.pool.begin().await?;
            let mut part = 0_i32;
            let mut buffer = vec![0_u8; PART_BYTES];
            loop {
                let mut filled = 0;
                while filled < PART_BYTES {
                    let n = file.read(&mut buffer[filled..]).await.map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 && part > 0 {
                    break;
                }
                sqlx::query(
                    "INSERT INTO file_parts (key, part, bytes) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(key)
                .bind(part)
                .bind(&buffer[..filled])
                .execute(&mut *tx)
                .await?;
                part += 1;
                if filled < PART_BYTES {
                    break;
                }
                // A breath between parts: on a small machine the database spends a core on each
                // 1 MiB part, and the chat's commits queue behind a file's fifty of them.
                tokio::time::sleep(PART_PAUSE).await;
            }
            tx.commit().await?;
        }
        tokio::fs::remove_file(path).await.map_err(io)
    }

    async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let key = checked(key)?;
        let mut tx = self.pool.begin().await?;
        for (part, chunk) in bytes.chunks(PART_BYTES).enumerate() {
            sqlx::query(
                "INSERT INTO file_parts (key, part, bytes) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(key)
            .bind(i32::try_from(part).unwrap_or(i32::MAX))
            .bind(chunk)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<BlobStream>> {
        let key = checked(key)?.to_owned();
        if !self.exists(&key).await? {
            return Ok(None);
        }
        let pool = self.pool.clone();
        // One part per query: a download holds one part in memory, not the file.
        let parts = futures_util::stream::try_unfold(0_i32, move |part| {
            let pool = pool.clone();
            let key = key.clone();
            async move {
                let row: Option<(Vec<u8>,)> =
                    sqlx::query_as("SELECT bytes FROM file_parts WHERE key = $1 AND part = $2")
                        .bind(&key)
                        .bind(part)
                        .fetch_optional(&pool)
                        .await
                        .map_err(std::io::Error::other)?;
                Ok(row.map(|(bytes,)| (Bytes::from(bytes), part + 1)))
            }
        });
        Ok(Some(Box::pin(parts)))
    }
}
