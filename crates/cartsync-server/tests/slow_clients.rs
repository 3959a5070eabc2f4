//! Slow clients against the real binary over real sockets: a request
//! header never finished, a body trickled in a byte at a time, an idle
//! keep-alive connection, and a flood of half-sent headers larger than the
//! server's descriptor limit. Each is cut off after its timeout, without
//! holding a descriptor, and a plain `GET /healthz` still gets through.
//!
//! Measured before the fix (2026-12-01): a half-sent header was still open
//! after 70 s, and with 1,100 of them against a server limited to 1,024
//! descriptors `GET /healthz` timed out.

mod common;

use common::process::{free_addr, http, Killed};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HEADER_TIMEOUT_MS: u64 = 1_500;
const BODY_TIMEOUT_MS: u64 = 1_500;

/// The binary on a temp SQLite file with short timeouts and, when given,
/// a descriptor limit (`RLIMIT_NOFILE`) set in the child before exec.
fn start(dir: &std::path::Path, nofile: Option<u64>, extra: &[&str]) -> (Killed, SocketAddr) {
    let addr = free_addr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cartsync-server"));
    cmd.args(["--listen", &addr.to_string()])
        .args(["--database", &format!("sqlite://{}", dir.join("slow.db").display())])
        .args(["--header-timeout-ms", &HEADER_TIMEOUT_MS.to_string()])
        .args(["--body-timeout-ms", &BODY_TIMEOUT_MS.to_string()])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(n) = nofile {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between
        // fork and exec here.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = Killed(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((200, _)) = http(addr, "GET", "/healthz", None) {
            return (child, addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("server did not come up on {addr}");
}

/// How long until the server closes `s` (reads return 0 or fail), at most
/// `limit`; `None` when it is still open then. Whatever the server sends
/// before closing is returned too.
fn closed_after(s: &mut TcpStream, limit: Duration) -> (Option<Duration>, String) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return (None, String::from_utf8_lossy(&got).into());
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(200)))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (Some(started.elapsed()), String::from_utf8_lossy(&got).into()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (Some(started.elapsed()), String::from_utf8_lossy(&got).into()),
        }
    }
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn half_header(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")?;
    Ok(s)
}

#[test]
fn a_header_never_finished_is_cut_off_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), None, &[]);
    let mut s = half_header(addr).unwrap();
    let (closed, _) = closed_after(&mut s, Duration::from_millis(HEADER_TIMEOUT_MS * 4));
    let closed = closed.expect("a connection with half a header was still open after four header timeouts");
    assert!(
        closed >= Duration::from_millis(HEADER_TIMEOUT_MS - 200),
        "closed after {closed:?}: before the timeout"
    );
    // A header trickled a byte at a time is held to the same deadline.
    let mut s = TcpStream::connect(addr).unwrap();
    let started = Instant::now();
    let mut cut = false;
    for b in b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: abcdefghijklmnopqrstuvwxyz"
        .iter()
        .cycle()
        .take(200)
    {
        if s.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_millis(HEADER_TIMEOUT_MS * 4) {
            break;
        }
    }
    let (closed, _) = closed_after(&mut s, Duration::from_millis(500));
    assert!(
        cut || closed.is_some(),
        "a trickled header kept its connection for {:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_trickled_a_byte_at_a_time_gets_408_and_the_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), None, &[]);
    let (_, created) = http(addr, "POST", "/api/v1/carts", None).unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /api/v1/carts/{token}/mutations HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    .unwrap();
    let mut writer = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..400 {
            if writer.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    let started = Instant::now();
    let (closed, answer) = closed_after(&mut s, Duration::from_millis(BODY_TIMEOUT_MS * 4));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer:?}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer:?}");
    let closed = closed.expect("the connection stayed open after the 408");
    assert!(closed < Duration::from_millis(BODY_TIMEOUT_MS * 3), "{closed:?}");
    assert!(started.elapsed() >= Duration::from_millis(BODY_TIMEOUT_MS - 200));
    drop(s);
    trickle.join().unwrap();
    // Nothing was applied.
    let (_, events) = http(addr, "GET", &format!("/api/v1/carts/{token}/events"), None).unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 0);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), None, &[]);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: idle\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let n = s.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (closed, _) = closed_after(&mut s, Duration::from_millis(HEADER_TIMEOUT_MS * 4));
    assert!(closed.is_some(), "an idle keep-alive connection was held open");
}

/// The measured failure: 1,100 connections that each send half a header,
/// against a server allowed 1,024 descriptors.
#[test]
fn eleven_hundred_half_headers_do_not_starve_a_server_of_1024_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(dir.path(), Some(1024), &[]);
    let pid = server.0.id();
    let baseline = open_fds(pid);
    let mut slow = Vec::new();
    for i in 0..1100 {
        match half_header(addr) {
            Ok(s) => slow.push(s),
            Err(e) => panic!("connection {i}: {e}"),
        }
    }
    let opened = Instant::now();
    // The server holds at most its connection limit (three quarters of
    // 1,024), never all of its descriptors.
    let peak = open_fds(pid);
    assert!(peak <= 1024 - 64, "{peak} descriptors open");
    // A plain health check gets through within about two header timeouts
    // (the first wave is cut off, then it is accepted).
    let started = Instant::now();
    let answer = http(addr, "GET", "/healthz", None);
    let waited = started.elapsed();
    assert!(matches!(answer, Ok((200, _))), "healthz: {answer:?} after {waited:?}");
    assert!(
        waited < Duration::from_millis(HEADER_TIMEOUT_MS * 3 + 2_000),
        "healthz took {waited:?}"
    );
    // Every slow connection is closed by the server, none held.
    let mut still_open = 0;
    for s in &mut slow {
        let left = Duration::from_millis(HEADER_TIMEOUT_MS * 4 + 3_000).saturating_sub(opened.elapsed());
        if closed_after(s, left.max(Duration::from_millis(50))).0.is_none() {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "slow connections still open");
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(pid) > baseline + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        open_fds(pid) <= baseline + 2,
        "{} descriptors, {baseline} before",
        open_fds(pid)
    );
    eprintln!(
        "slow clients: 1100 half headers, peak {peak} descriptors (limit 1024), healthz answered after {waited:?}"
    );
}

#[test]
fn the_connection_limit_is_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = start(dir.path(), None, &["--max-connections", "4"]);
    let slow: Vec<_> = (0..4).map(|_| half_header(addr).unwrap()).collect();
    // All four slots are taken: a fifth connection waits to be accepted
    // (in the backlog) and is served once the slow ones are cut off.
    let started = Instant::now();
    let answer = http(addr, "GET", "/healthz", None);
    let waited = started.elapsed();
    assert!(matches!(answer, Ok((200, _))), "{answer:?}");
    assert!(
        waited >= Duration::from_millis(HEADER_TIMEOUT_MS / 2),
        "answered after {waited:?}: the limit did not hold"
    );
    drop(slow);
}
