//! A small blocking HTTP/1.1 client over one keep-alive `TcpStream`: just
//! enough for the load generator (JSON bodies, `Content-Length` or chunked
//! answers), so the client side costs little CPU next to the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One connection, reused for every request (reconnects if the server
/// closed it).
pub struct Conn {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
    request: Vec<u8>,
}

/// A status and the raw body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first `"version":<n>` in the body: the cart's version in a
    /// mutation answer, a 409 and a cart read (the cart object is first or
    /// its `version` is its first field). Avoids a full JSON parse per request.
    pub fn version(&self) -> Option<u64> {
        let key = b"\"version\":";
        let at = self.body.windows(key.len()).position(|w| w == key)? + key.len();
        let digits: Vec<u8> = self.body[at..]
            .iter()
            .skip_while(|b| **b == b' ')
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        std::str::from_utf8(&digits).ok()?.parse().ok()
    }

    /// The body as JSON (for the few answers the harness inspects).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            reader: None,
            request: Vec::with_capacity(1024),
        }
    }

    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.reader = Some(BufReader::with_capacity(64 * 1024, s));
        }
        Ok(self.reader.as_mut().expect("connected above"))
    }

    /// One request; retried once on a fresh connection if the kept-alive
    /// one turned out to be closed.
    pub fn call(&mut self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<Answer> {
        match self.try_call(method, path, body) {
            Ok(a) => Ok(a),
            Err(_) => {
                self.reader = None;
                self.try_call(method, path, body)
            }
        }
    }

    fn try_call(&mut self, method: &str, path: &str, body: Option<&str>) -> std::io::Result<Answer> {
        self.request.clear();
        let body = body.unwrap_or("");
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        )?;
        self.request.extend_from_slice(body.as_bytes());
        let request = std::mem::take(&mut self.request);
        let out = (|| {
            let r = self.stream()?;
            r.get_mut().write_all(&request)?;
            read_answer(r)
        })();
        self.request = request;
        match out {
            Ok((answer, keep_alive)) => {
                if !keep_alive {
                    self.reader = None;
                }
                Ok(answer)
            }
            Err(e) => {
                self.reader = None;
                Err(e)
            }
        }
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::other(what.to_string())
}

/// The answer and whether the connection can be reused.
fn read_answer(r: &mut BufReader<TcpStream>) -> std::io::Result<(Answer, bool)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(bad("connection closed"));
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("truncated headers"));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        let Some((name, value)) = h.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "connection" => close = value.eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                r.read_line(&mut line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if status != 304 && status != 204 {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok((Answer { status, body }, !close))
}
