//! A moto server on a free port of 127.0.0.1, started for one test and killed after it.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running server.
pub struct MotoServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl MotoServer {
    /// Starts `moto_server` and waits until it listens (30 s at most).
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("address")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}): run scripts/test, which installs moto[server]")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on 127.0.0.1:{port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plain HTTP/1.1 POST to moto, for the services the SDK crates of this workspace do
    /// not cover (Step Functions, EventBridge, SQS): moto does not check signatures, only
    /// the credential scope's service. Returns the status and the body.
    pub fn post(
        &self,
        path: &str,
        content_type: &str,
        extra_headers: &str,
        service: &str,
        body: &str,
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\n{extra_headers}Authorization: AWS4-HMAC-SHA256 Credential=testing/20241218/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .expect("write to moto");
        let mut raw = String::new();
        s.read_to_string(&mut raw).expect("read from moto");
        let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        (
            head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0),
            payload.to_string(),
        )
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
