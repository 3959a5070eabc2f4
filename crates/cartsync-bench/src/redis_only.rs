//! What the design warns against, measured so the price of durability is a
//! number: a cart kept only in Redis (appendonly off, as a cache is run),
//! doing the same logical writes per mutation as the authority: a
//! conditional update of the cart (version check), the event appended to
//! its log, the idempotency record set if absent, atomically (one Lua
//! script), each client on its own cart, at the same concurrency. Nothing
//! of it survives a Redis restart.

use crate::stats::Summary;
use std::time::{Duration, Instant};

/// KEYS: cart, events, idempotency hash. ARGV: expected version, new
/// snapshot, event, mutation id, record.
const MUTATE: &str = r"
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
if redis.call('HSETNX', KEYS[3], ARGV[4], ARGV[5]) == 0 then return -2 end
redis.call('HSET', KEYS[1], 'version', v + 1, 'snapshot', ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
return v + 1
";

pub fn url() -> String {
    std::env::var("CARTSYNC_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Mutations per second by `clients` connections for `secs`.
pub fn run(clients: usize, secs: Duration) -> Result<Summary, String> {
    crate::pg::runtime()?.block_on(async move {
        let client = redis::Client::open(url()).map_err(err)?;
        let prefix = format!("cartsync-bench-redis-only:{}:", std::process::id());
        let start = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let (client, prefix) = (client.clone(), prefix.clone());
                tokio::spawn(async move {
                    let mut conn = client.get_multiplexed_async_connection().await.map_err(err)?;
                    let script = redis::Script::new(MUTATE);
                    let (cart, events, idem) = (
                        format!("{prefix}{c}:cart"),
                        format!("{prefix}{c}:events"),
                        format!("{prefix}{c}:idem"),
                    );
                    let mut latencies = Vec::new();
                    let mut v: u64 = 0;
                    while start.elapsed() < secs {
                        let t = Instant::now();
                        let id = uuid::Uuid::new_v4().to_string();
                        let next: i64 = script
                            .key(&cart)
                            .key(&events)
                            .key(&idem)
                            .arg(v)
                            .arg(crate::raw::snapshot(v + 1, 1 + (v % 2) as u32))
                            .arg(format!(r#"{{"version":{},"mutation_id":"{id}"}}"#, v + 1))
                            .arg(&id)
                            .arg(format!(
                                r#"{{"result":{{"id":"{id}","status":"applied","version":{}}}}}"#,
                                v + 1
                            ))
                            .invoke_async(&mut conn)
                            .await
                            .map_err(err)?;
                        if next != (v + 1) as i64 {
                            return Err(format!("the conditional write failed: {next}"));
                        }
                        v += 1;
                        latencies.push(t.elapsed().as_micros() as u64);
                    }
                    let _: i64 = redis::cmd("DEL")
                        .arg(&cart)
                        .arg(&events)
                        .arg(&idem)
                        .query_async(&mut conn)
                        .await
                        .map_err(err)?;
                    Ok::<_, String>(latencies)
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.map_err(err)??);
        }
        Ok(Summary::of(all, start.elapsed()))
    })
}
