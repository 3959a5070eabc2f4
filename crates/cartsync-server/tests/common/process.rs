//! Driving the real binary: start it on a free port, a tiny blocking
//! HTTP/1.1 client (one request per connection), kill it.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A tiny blocking HTTP/1.1 client: one request per connection.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("truncated response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    // JSON bodies must parse (a kill can truncate one); others are text.
    let json = if head.to_ascii_lowercase().contains("content-type: application/json") {
        serde_json::from_str(rest).map_err(|_| std::io::Error::other("truncated body"))?
    } else {
        Value::String(rest.to_string())
    };
    Ok((status, json))
}

pub fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start(db: &Path) -> (Killed, SocketAddr) {
    start_with(&["--database".into(), format!("sqlite://{}", db.display())])
}

/// The binary with these flags (plus a listen address and a secret),
/// once `/healthz` answers 200.
pub fn start_with(args: &[String]) -> (Killed, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_cartsync-server"))
        .args(["--listen", &addr.to_string()])
        .args(args)
        .args(["--secret", "crash-test"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(addr, "GET", "/healthz", None) {
            return (child, addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not come up on {addr}");
}
