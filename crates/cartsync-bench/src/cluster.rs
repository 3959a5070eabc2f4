//! Three server instances on one PostgreSQL database and one Redis, behind
//! nginx (the config `scripts/nginx-conf.sh` writes, as `make
//! demo-cluster` runs it): the same write load through the balancer, with
//! the CPU of all three instances per applied mutation.

use crate::load;
use crate::server::{workspace_root, Scratch, Server, Store};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Balanced {
    pub instances: Vec<Server>,
    pub addr: SocketAddr,
    nginx: Child,
    _scratch: Scratch,
}

impl Balanced {
    pub fn start(store: &Store, n: usize) -> Result<Balanced, String> {
        let instances = (0..n).map(|_| Server::start(store)).collect::<Result<Vec<_>, _>>()?;
        let scratch = Scratch::new("nginx").map_err(|e| e.to_string())?;
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?;
        let dir = scratch.0.canonicalize().map_err(|e| e.to_string())?;
        let mut args = vec![dir.display().to_string(), addr.to_string()];
        args.extend(instances.iter().map(|s| s.addr.to_string()));
        let conf = Command::new(workspace_root().join("scripts/nginx-conf.sh"))
            .args(&args)
            .output()
            .map_err(|e| e.to_string())?;
        std::fs::write(dir.join("nginx.conf"), &conf.stdout).map_err(|e| e.to_string())?;
        let nginx = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("nginx (apt-get install nginx-light): {e}"))?;
        let b = Balanced {
            instances,
            addr,
            nginx,
            _scratch: scratch,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if crate::http::Conn::new(addr)
                .call("GET", "/healthz", None)
                .is_ok_and(|a| a.status == 200)
            {
                return Ok(b);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("nginx did not answer".into())
    }

    fn cpu(&self) -> f64 {
        self.instances.iter().filter_map(Server::cpu_secs).sum()
    }

    fn applied(&self) -> u64 {
        self.instances
            .iter()
            .map(|s| load::counter(&load::metrics(s.addr), "cartsync_mutations_total", "applied"))
            .sum()
    }
}

impl Drop for Balanced {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.nginx.id().to_string()])
            .status();
        let _ = self.nginx.wait();
    }
}

/// Write levels through the balancer.
pub fn levels(b: &Balanced, clients: &[usize], run: u32, warmup: Duration, secs: Duration) -> Result<Value, String> {
    println!("| clients | mutations/s | p50 ms | p99 ms | errors | CPU of the three instances µs/mutation |");
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut rows = Vec::new();
    for (i, &c) in clients.iter().enumerate() {
        let (a0, c0) = (b.applied(), b.cpu());
        let r = load::mutations(b.addr, run + i as u32, c, c, false, warmup, secs)?;
        let (a1, c1) = (b.applied(), b.cpu());
        let cpu = (c1 - c0) * 1e6 / (a1 - a0).max(1) as f64;
        println!(
            "| {c} | {:.0} | {:.2} | {:.2} | {} | {cpu:.0} |",
            r.latency.rate(),
            r.latency.p50_us as f64 / 1000.0,
            r.latency.p99_us as f64 / 1000.0,
            r.errors
        );
        rows.push(json!({"clients": c, "latency": r.latency.json(), "errors": r.errors, "cpu_us_per_mutation": cpu}));
    }
    Ok(Value::Array(rows))
}
