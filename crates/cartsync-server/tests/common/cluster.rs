//! Temporary PostgreSQL clusters for the failover test: a primary and a
//! synchronous standby made with `initdb`, `pg_basebackup -R` and
//! `synchronous_standby_names`, on free ports under a temp directory, run
//! as the `postgres` user when the tests run as root (PostgreSQL refuses
//! root). Everything is stopped (`immediate`) and removed on drop, also
//! when the test fails.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// PostgreSQL's programs: `CARTSYNC_PG_BINDIR`, else `pg_config --bindir`,
/// else Debian's place for version 15.
pub fn bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARTSYNC_PG_BINDIR") {
        return dir.into();
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && Path::new(&dir).join("initdb").exists() {
            return dir.into();
        }
    }
    "/usr/lib/postgresql/15/bin".into()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL program (as `postgres` when we are root); panics with
/// its output when it fails.
fn pg(program: &str, args: &[&str]) -> Output {
    let bin = bindir().join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// One PostgreSQL data directory and the port it serves on.
pub struct Node {
    pub dir: PathBuf,
    pub port: u16,
}

impl Node {
    fn pg_ctl(&self, args: &[&str]) -> Output {
        let dir = self.dir.display().to_string();
        let log = format!("{dir}.log");
        let mut all = vec!["-D", &dir, "-l", &log, "-w", "-t", "60"];
        all.extend_from_slice(args);
        pg("pg_ctl", &all)
    }

    pub fn start(&self) {
        self.pg_ctl(&["start"]);
    }

    /// `pg_ctl stop -m immediate`: the postmaster and every backend die at
    /// once, as in a crash of the machine's PostgreSQL.
    pub fn kill(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }

    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    pub fn promote(&self) {
        self.pg_ctl(&["promote"]);
    }

    /// A client connection to `db` on this node.
    pub async fn client(&self, db: &str) -> tokio_postgres::Client {
        let url = format!("postgres://postgres@127.0.0.1:{}/{db}", self.port);
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        tokio::spawn(conn);
        client
    }
}

/// A primary with one synchronous standby (`standby1`).
pub struct Pair {
    root: tempfile::TempDir,
    pub primary: Node,
    pub standby: Node,
}

impl Pair {
    /// Creates, starts and replicates both; the database `cartsync` exists.
    pub async fn start() -> Pair {
        let root = tempfile::Builder::new().prefix("cartsync-failover-").tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres", &root.path().display().to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let primary = Node {
            dir: root.path().join("primary"),
            port: free_port(),
        };
        let standby = Node {
            dir: root.path().join("standby"),
            port: free_port(),
        };
        let sockets = root.path().display().to_string();
        pg(
            "initdb",
            &[
                "-D",
                &primary.dir.display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
        );
        // Replication lines for 127.0.0.1 come with initdb's pg_hba.conf
        // (trust, as asked): no password prompt for pg_basebackup.
        append(
            &primary.dir.join("postgresql.conf"),
            &format!(
                "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n\
                 wal_level = replica\nmax_wal_senders = 4\nsynchronous_commit = on\nshared_buffers = 16MB\n\
                 max_connections = 60\n",
                primary.port
            ),
        );
        primary.start();
        primary
            .client("postgres")
            .await
            .batch_execute("CREATE DATABASE cartsync")
            .await
            .unwrap();
        // `-c fast`: no wait for a spread checkpoint. The standby's name is
        // set in its primary_conninfo below; synchronous_standby_names is
        // set on the primary only after the copy, so the standby does not
        // inherit it (a promoted node with it would block every commit).
        let port = primary.port.to_string();
        pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &standby.dir.display().to_string(),
                "-X",
                "stream",
                "-c",
                "fast",
                "-R",
                "-w",
            ],
        );
        append(
            &standby.dir.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=standby1'\n",
                primary.port
            ),
        );
        append(
            &standby.dir.join("postgresql.conf"),
            &format!("\nport = {}\n", standby.port),
        );
        standby.start();
        let admin = primary.client("postgres").await;
        // Two statements: a multi-statement string is one implicit
        // transaction, and ALTER SYSTEM refuses to run in one.
        admin
            .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
            .await
            .unwrap();
        admin.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        let pair = Pair { root, primary, standby };
        pair.wait_sync().await;
        pair
    }

    /// Waits until the primary reports `standby1` as its synchronous
    /// standby.
    pub async fn wait_sync(&self) {
        let admin = self.primary.client("postgres").await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let rows = admin
                .query(
                    "SELECT 1 FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync'",
                    &[],
                )
                .await
                .unwrap();
            if !rows.is_empty() {
                return;
            }
            assert!(Instant::now() < deadline, "the standby never became synchronous");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// After a failover (the standby promoted): the promoted node is the
    /// primary now, the old primary the one to rebuild as its standby.
    pub fn swap_roles(&mut self) {
        std::mem::swap(&mut self.primary, &mut self.standby);
    }

    /// Makes `standby` (a stopped or dead node) a fresh synchronous
    /// standby of `primary`: its data directory is copied anew with
    /// `pg_basebackup`, it keeps its port, and the primary names it in
    /// `synchronous_standby_names` once it streams.
    pub async fn rebuild_standby(&self) {
        let dir = self.standby.dir.display().to_string();
        if self.standby.dir.join("postmaster.pid").exists() {
            let bin = bindir().join("pg_ctl");
            let mut cmd = if is_root() {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&bin);
                c
            } else {
                Command::new(&bin)
            };
            let _ = cmd.args(["-D", &dir, "-m", "immediate", "-w", "stop"]).output();
        }
        let _ = std::fs::remove_dir_all(&self.standby.dir);
        let port = self.primary.port.to_string();
        pg(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &dir,
                "-X",
                "stream",
                "-c",
                "fast",
                "-R",
                "-w",
            ],
        );
        // The copy carries the primary's port and settings: this node
        // keeps its own port, follows the primary under the name the
        // primary waits for, and must not wait for a standby of its own.
        append(
            &self.standby.dir.join("postgresql.auto.conf"),
            &format!(
                "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=standby1'\n\
                 synchronous_standby_names = ''\n",
                self.primary.port
            ),
        );
        append(
            &self.standby.dir.join("postgresql.conf"),
            &format!("\nport = {}\n", self.standby.port),
        );
        self.standby.start();
        let admin = self.primary.client("postgres").await;
        admin
            .batch_execute("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
            .await
            .unwrap();
        admin.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        self.wait_sync().await;
    }

    /// A multi-host URL naming both nodes, for the database `cartsync`.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/cartsync?target_session_attrs=read-write",
            self.primary.port, self.standby.port
        )
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for node in [&self.primary, &self.standby] {
            if node.dir.join("postmaster.pid").exists() {
                let dir = node.dir.display().to_string();
                let bin = bindir().join("pg_ctl");
                let mut cmd = if is_root() {
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]).arg(&bin);
                    c
                } else {
                    Command::new(&bin)
                };
                let _ = cmd.args(["-D", &dir, "-m", "immediate", "-w", "stop"]).output();
            }
        }
        let _ = &self.root; // removed with the TempDir
    }
}
