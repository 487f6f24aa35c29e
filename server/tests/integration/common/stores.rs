//! The real server on either store: SQLite in a temporary directory, or a PostgreSQL server of
//! its own. `on_both_stores!(case, …)` turns each `async fn case(store: Store)` into one test per
//! store.

use server::config::Config;

use super::{TestApp, spawn_app_with};

/// The server on SQLite, or on a PostgreSQL of its own (kept alive beside it).
pub struct Subject {
    pub app: TestApp,
    _postgres: Option<super::servers::Postgres>,
}

async fn sqlite(configure: impl FnOnce(&mut Config)) -> Subject {
    Subject { app: spawn_app_with(configure).await, _postgres: None }
}

async fn postgres(configure: impl FnOnce(&mut Config)) -> Subject {
    let server =
        tokio::task::spawn_blocking(super::servers::Postgres::start).await.expect("start postgres");
    let url = server.fresh_database().await;
    let app = spawn_app_with(|c| {
        c.database_url = Some(url);
        configure(c);
    })
    .await;
    Subject { app, _postgres: Some(server) }
}

/// Generates `sqlite::$case` and `postgres::$case` from one async fn taking a way to start the
/// server.
///
/// `on_both_stores!(threaded: case, …)` runs them on a multi-thread runtime as the server's own
/// (in `threaded::on_sqlite` and `threaded::on_postgres`), for what depends on tasks running
/// side by side: there a task made later often runs first.
#[macro_export]
macro_rules! on_both_stores {
    (threaded: $($case:ident),* $(,)?) => {
        mod threaded {
            mod on_sqlite {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                  async fn $case() { super::super::$case($crate::common::stores::Store::Sqlite).await; })*
            }
            mod on_postgres {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                  async fn $case() { super::super::$case($crate::common::stores::Store::Postgres).await; })*
            }
        }
    };
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test] async fn $case() { super::$case($crate::common::stores::Store::Sqlite).await; })*
        }
        mod on_postgres {
            $(#[tokio::test] async fn $case() { super::$case($crate::common::stores::Store::Postgres).await; })*
        }
    };
}

#[derive(Clone, Copy)]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    pub async fn start(self, configure: impl FnOnce(&mut Config)) -> Subject {
        match self {
            Self::Sqlite => sqlite(configure).await,
            Self::Postgres => postgres(configure).await,
        }
    }
}
