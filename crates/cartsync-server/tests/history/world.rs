//! The deployment under test and the nemesis that breaks it: three
//! server processes on a PostgreSQL primary with a synchronous standby
//! (temporary clusters) and a Redis of the test's own (so flushing and
//! killing it touches no other test), each on a fixed port so a killed
//! process comes back where clients look for it.

use super::common::cluster::Pair;
use super::common::process::{free_addr, http};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Proc(pub Option<Child>);

impl Proc {
    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A Redis of this test's own.
pub struct Redis {
    pub port: u16,
    proc: Proc,
}

impl Redis {
    pub fn start() -> Redis {
        let port = free_addr().port();
        let mut r = Redis { port, proc: Proc(None) };
        r.restart();
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn restart(&mut self) {
        self.proc.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        self.proc = Proc(Some(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ping() {
            assert!(Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        self.proc.kill();
    }

    fn ping(&self) -> bool {
        self.cli(&["PING"]).is_some_and(|o| o.contains("PONG"))
    }

    pub fn flushall(&self) {
        self.cli(&["FLUSHALL"]);
    }

    fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into())
    }
}

/// One server instance on a fixed address.
pub struct Instance {
    pub addr: SocketAddr,
    pub name: String,
    args: Vec<String>,
    proc: Proc,
}

impl Instance {
    pub fn new(name: &str, database: &str, redis: &str) -> Instance {
        let args = vec![
            "--database".into(),
            database.into(),
            "--cache".into(),
            redis.into(),
            "--cache-timeout-ms".into(),
            "100".into(),
            "--instance".into(),
            name.into(),
            "--store-timeout-ms".into(),
            "1000".into(),
            "--pg-pool-size".into(),
            "6".into(),
            "--secret".into(),
            "history".into(),
        ];
        let mut i = Instance {
            addr: free_addr(),
            name: name.into(),
            args,
            proc: Proc(None),
        };
        i.start();
        i
    }

    pub fn start(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_cartsync-server"))
            .args(["--listen", &self.addr.to_string()])
            .args(&self.args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.proc = Proc(Some(child));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // Up once it answers at all (503 while the database is away).
            if http(self.addr, "GET", "/healthz", None).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "{} did not come up", self.name);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

/// Faults the nemesis injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    KillInstance,
    FlushRedis,
    KillRedis,
    RestartPostgres,
    Failover,
}

pub const FAULTS: [Fault; 5] = [
    Fault::KillInstance,
    Fault::FlushRedis,
    Fault::RestartPostgres,
    Fault::KillRedis,
    Fault::Failover,
];

/// Everything, and a log of what the nemesis did.
pub struct World {
    pub pair: Pair,
    pub redis: Redis,
    pub instances: Vec<Arc<Mutex<Instance>>>,
    pub addrs: Vec<SocketAddr>,
    pub faults: Vec<(Fault, Duration)>,
}

impl World {
    pub async fn start() -> World {
        let pair = Pair::start().await;
        let redis = Redis::start();
        let mut instances = Vec::new();
        for name in ["h1", "h2", "h3"] {
            instances.push(Arc::new(Mutex::new(Instance::new(name, &pair.url(), &redis.url()))));
        }
        let addrs = instances.iter().map(|i| i.lock().unwrap().addr).collect();
        World {
            pair,
            redis,
            instances,
            addrs,
            faults: Vec::new(),
        }
    }

    /// Injects one fault and heals it again; returns once the cluster
    /// serves again (or is left to heal on its own).
    pub async fn inject(&mut self, fault: Fault, pick: u64, started: Instant) {
        self.faults.push((fault, started.elapsed()));
        match fault {
            Fault::KillInstance => {
                let i = self.instances[(pick % 3) as usize].clone();
                i.lock().unwrap().kill();
                tokio::time::sleep(Duration::from_millis(800)).await;
                tokio::task::spawn_blocking(move || i.lock().unwrap().start())
                    .await
                    .unwrap();
            }
            Fault::FlushRedis => self.redis.flushall(),
            Fault::KillRedis => {
                self.redis.kill();
                tokio::time::sleep(Duration::from_millis(1500)).await;
                self.redis.restart();
            }
            Fault::RestartPostgres => {
                // A crash of the primary (immediate stop) and its restart:
                // the standby reconnects and stays synchronous.
                self.pair.primary.kill();
                tokio::time::sleep(Duration::from_millis(700)).await;
                self.pair.primary.start();
                self.pair.wait_sync().await;
            }
            Fault::Failover => {
                // Fence the primary, promote the standby, then rebuild the
                // old primary as the new one's synchronous standby (so the
                // next failover loses nothing either).
                self.pair.primary.kill();
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.pair.standby.promote();
                self.pair.swap_roles();
                self.pair.rebuild_standby().await;
            }
        }
    }
}
