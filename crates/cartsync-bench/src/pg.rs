//! PostgreSQL for the benchmarks: a scratch database per run (created from
//! the server's own migrations, dropped at the end), and the raw limit: the
//! write one mutation needs (the conditional cart update, its event row and
//! its idempotency record, in one transaction) straight through
//! tokio-postgres at the same concurrency as the server, each client on its
//! own cart, in two forms: the server's one statement (one round trip), and
//! BEGIN, three statements, COMMIT (five round trips).

use crate::stats::Summary;
use cartsync_server::store::postgres::{PgOptions, BATCH_SQL};
use cartsync_server::store::PostgresStore;
use std::time::{Duration, Instant};
use tokio_postgres::NoTls;

/// The server to bench against (`CARTSYNC_BENCH_POSTGRES`, default the
/// local one).
pub fn admin_url() -> String {
    std::env::var("CARTSYNC_BENCH_POSTGRES").unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".into())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)
}

/// A database dropped with the value.
pub struct BenchDb {
    pub name: String,
    pub url: String,
}

async fn admin() -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(&admin_url(), NoTls)
        .await
        .map_err(|e| format!("PostgreSQL at {} (CARTSYNC_BENCH_POSTGRES): {e}", admin_url()))?;
    tokio::spawn(conn);
    Ok(client)
}

impl BenchDb {
    /// Creates the database and the server's schema in it.
    pub fn create(tag: &str) -> Result<BenchDb, String> {
        let name = format!("cartsync_bench_{tag}_{}", std::process::id());
        let url = match admin_url().rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => return Err("CARTSYNC_BENCH_POSTGRES must name a database".into()),
        };
        runtime()?.block_on(async {
            let a = admin().await?;
            a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .map_err(err)?;
            a.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(err)?;
            PostgresStore::connect(&url, &PgOptions::default()).await.map_err(err)?;
            Ok::<_, String>(())
        })?;
        Ok(BenchDb { name, url })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        if let Ok(rt) = runtime() {
            let _ = rt.block_on(async move {
                admin()
                    .await?
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .map_err(err)
            });
        }
    }
}

const UPDATE: &str =
    "UPDATE carts SET version = $1, snapshot = $2, quotes = '[]', updated_at = $3, revision = revision + 1
    WHERE id = $4 AND version = $5 AND state = 'open'";
const EVENT: &str =
    "INSERT INTO events (cart_id, version, kind, mutation_id, body, at) VALUES ($1, $2, 'mutation', $3, $4, $5)";
const RECORD: &str = "INSERT INTO idempotency (cart_id, mutation_id, record, created_at) VALUES ($1, $2, $3, $4)";

const COMMAND: &str = r#"{"type":"set_quantity","sku":"tee-black","options":{"line":"c1"},"quantity":2}"#;

fn record(id: &uuid::Uuid, version: u64) -> String {
    format!(r#"{{"command":{COMMAND},"result":{{"id":"{id}","status":"applied","version":{version}}}}}"#)
}

/// Commits per second by `clients` connections, each on its own cart, for
/// `secs`: `one_statement` is the server's form, else BEGIN … COMMIT.
pub fn raw(url: &str, clients: usize, secs: Duration, one_statement: bool) -> Result<Summary, String> {
    let url = url.to_string();
    runtime()?.block_on(async move {
        let setup = connect(&url).await?;
        let mut carts = Vec::new();
        for _ in 0..clients {
            let row = setup
                .query_one(
                    "INSERT INTO carts (version, snapshot, base, created_at, updated_at) VALUES (0, $1, $1, 0, 0) RETURNING id",
                    &[&crate::raw::snapshot(0, 1)],
                )
                .await
                .map_err(err)?;
            carts.push(row.get::<_, i64>(0));
        }
        let start = Instant::now();
        let tasks: Vec<_> = carts
            .into_iter()
            .map(|cart| {
                let url = url.clone();
                tokio::spawn(async move { client_loop(&url, cart, start, secs, one_statement).await })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(err)??);
        }
        Ok(Summary::of(all, start.elapsed()))
    })
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.map_err(err)?;
    tokio::spawn(conn);
    Ok(client)
}

async fn client_loop(url: &str, cart: i64, start: Instant, secs: Duration, one: bool) -> Result<Vec<u64>, String> {
    let mut client = connect(url).await?;
    let batch = client.prepare(BATCH_SQL).await.map_err(err)?;
    let (update, event, rec) = (
        client.prepare(UPDATE).await.map_err(err)?,
        client.prepare(EVENT).await.map_err(err)?,
        client.prepare(RECORD).await.map_err(err)?,
    );
    let mut latencies = Vec::new();
    let mut v: u64 = 0;
    while start.elapsed() < secs {
        let t = Instant::now();
        let id = uuid::Uuid::new_v4();
        let (next, snapshot, at) = (
            (v + 1) as i64,
            crate::raw::snapshot(v + 1, 1 + (v % 2) as u32),
            v as i64,
        );
        if one {
            let no_revision: Option<i64> = None;
            let row = client
                .query_one(
                    &batch,
                    &[
                        &next,
                        &snapshot,
                        &"[]",
                        &at,
                        &cart,
                        &(v as i64),
                        &no_revision,
                        &vec![next],
                        &vec![id],
                        &vec![COMMAND.to_string()],
                        &vec![at],
                        &vec![id],
                        &vec![record(&id, v + 1)],
                    ],
                )
                .await
                .map_err(err)?;
            if row.get::<_, Option<i64>>(0).is_none() {
                return Err("the conditional update matched no row".into());
            }
        } else {
            let tx = client.transaction().await.map_err(err)?;
            let changed = tx
                .execute(&update, &[&next, &snapshot, &at, &cart, &(v as i64)])
                .await
                .map_err(err)?;
            if changed != 1 {
                return Err("the conditional update matched no row".into());
            }
            tx.execute(&event, &[&cart, &next, &id, &COMMAND, &at])
                .await
                .map_err(err)?;
            tx.execute(&rec, &[&cart, &id, &record(&id, v + 1), &at])
                .await
                .map_err(err)?;
            tx.commit().await.map_err(err)?;
        }
        v += 1;
        latencies.push(t.elapsed().as_micros() as u64);
    }
    Ok(latencies)
}
