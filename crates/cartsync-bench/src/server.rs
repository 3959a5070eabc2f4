//! The real server binary on a free loopback port with a fresh database in
//! a scratch directory; stopped (SIGTERM, then SIGKILL) when dropped.

use crate::http::Conn;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory on the same disk as the workspace (never a tmpfs:
/// fsync must cost what it costs), removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> std::io::Result<Scratch> {
        let base = std::env::var_os("CARTSYNC_BENCH_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/bench-tmp"));
        let dir = base.join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/release/cartsync-server`, or `CARTSYNC_SERVER_BIN`.
pub fn server_binary() -> PathBuf {
    std::env::var_os("CARTSYNC_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release/cartsync-server"))
}

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

/// The server's store and cache for a benchmark run.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres { url: String, cache: String },
}

impl Store {
    pub fn args(&self) -> Vec<String> {
        match self {
            Store::Sqlite(path) => vec!["--database".into(), format!("sqlite://{}", path.display())],
            Store::Postgres { url, cache } => vec![
                "--database".into(),
                url.clone(),
                "--cache".into(),
                cache.clone(),
                "--cache-prefix".into(),
                format!("cartsync-bench:{}:", std::process::id()),
            ],
        }
    }
}

impl Server {
    /// Starts the binary with `--dev` (for the cache-flush route) on the
    /// store and waits until `/healthz` answers.
    pub fn start(store: &Store) -> Result<Server, String> {
        Server::start_with(&[], store, &[])
    }

    /// Starts the binary under `wrapper` (e.g. valgrind), with `extra`
    /// flags.
    pub fn start_with(wrapper: &[String], store: &Store, extra: &[String]) -> Result<Server, String> {
        let bin = server_binary();
        if !bin.exists() {
            return Err(format!(
                "{} not found: run `cargo build --release -p cartsync-server` first",
                bin.display()
            ));
        }
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            l.local_addr().map_err(|e| e.to_string())?
        };
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let child = cmd
            .args(["--listen", &addr.to_string()])
            .args(store.args())
            .args(extra)
            .args(["--secret", "bench", "--dev"])
            // Request logs at info would be a benchmark of stderr.
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let mut server = Server { child, addr };
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut conn = Conn::new(addr);
        while Instant::now() < deadline {
            if let Ok(a) = conn.call("GET", "/healthz", None) {
                if a.status == 200 {
                    return Ok(server);
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the server exited during start-up: {status}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(format!("the server did not answer on {addr} within 120 s"))
    }

    /// SIGTERM and wait (up to a minute: a server under valgrind is slow
    /// to drain and write its profile).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Server {
    /// CPU seconds (user + system) the server process has used so far, from
    /// `/proc` (`None` where there is none).
    pub fn cpu_secs(&self) -> Option<f64> {
        cpu_secs(self.child.id())
    }
}

/// CPU seconds (user + system) process `pid` has used so far (`/proc`).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the parenthesised command name start with the 3rd;
    // utime and stime are the 14th and 15th, in clock ticks (USER_HZ, 100
    // on Linux).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// CPU seconds of every process whose command line starts with `postgres`
/// (the PostgreSQL server's backends, WAL writer, checkpointer…).
pub fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(cpu_secs)
        .sum()
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM lets it drain; SIGKILL if it does not stop within 5 s.
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates the server's schema in a new database file by applying its
/// migration files in order (as `store::sqlite` does on start), so the
/// harness holds the only connection afterwards.
pub fn create_schema(path: &Path) -> Result<rusqlite::Connection, String> {
    let dir = workspace_root().join("crates/cartsync-server/migrations/sqlite");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
    for f in &files {
        let sql = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        conn.execute_batch(&sql).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    conn.pragma_update(None, "user_version", files.len() as i64)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}
