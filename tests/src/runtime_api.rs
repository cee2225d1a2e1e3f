//! A Lambda Runtime API emulator.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// What the function posted back for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`
    Response(Value),
    /// `POST /runtime/invocation/{id}/error`: `errorType`, `errorMessage`.
    Error {
        /// `errorType`
        error_type: String,
        /// `errorMessage`
        message: String,
    },
    /// `POST /runtime/init/error`
    InitError {
        /// `errorType`
        error_type: String,
        /// `errorMessage`
        message: String,
    },
}

/// A Runtime API serving `events` in order, one per `next` call.
pub struct Emulator {
    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    outcomes: mpsc::Receiver<Outcome>,
}

impl Emulator {
    /// Starts serving on a free port of 127.0.0.1.
    pub fn start(events: Vec<Value>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address").to_string();
        let (tx, outcomes) = mpsc::channel();
        std::thread::spawn(move || {
            let mut queue = events.into_iter().enumerate();
            // `next` requests after the last event: held open, unanswered, as Lambda does
            // between invocations, so the function waits (and stays measurable) until killed.
            let mut parked = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                if let Some(waiting) = serve(stream, &mut queue, &tx) {
                    parked.push(waiting);
                }
            }
        });
        Self { address, outcomes }
    }

    /// The next outcome, within `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Outcome> {
        self.outcomes.recv_timeout(timeout).ok()
    }
}

fn error_of(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    (
        v["errorType"].as_str().unwrap_or_default().to_string(),
        v["errorMessage"].as_str().unwrap_or_default().to_string(),
    )
}

/// Handles one HTTP request; returns the connection of a `next` request that has no event
/// to answer with.
fn serve(
    mut stream: TcpStream,
    queue: &mut impl Iterator<Item = (usize, Value)>,
    tx: &mpsc::Sender<Outcome>,
) -> Option<TcpStream> {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return None;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).to_string();
    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
    let reply = |stream: &mut TcpStream, status: &str, headers: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    if path.ends_with("/invocation/next") {
        match queue.next() {
            Some((i, event)) => {
                let headers = format!(
                    "Lambda-Runtime-Aws-Request-Id: req-{i}\r\nLambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\nLambda-Runtime-Trace-Id: Root=1-0-0\r\n",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_millis() + 60_000)
                        .unwrap_or(0)
                );
                reply(&mut stream, "200 OK", &headers, &event.to_string());
                None
            }
            // No more events: keep the connection open; the caller kills the process.
            None => Some(stream),
        }
    } else if path.ends_with("/response") {
        let _ = tx.send(Outcome::Response(
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        ));
        reply(&mut stream, "202 Accepted", "", "{}");
        None
    } else if path.ends_with("/init/error") {
        let (error_type, message) = error_of(&body);
        let _ = tx.send(Outcome::InitError { error_type, message });
        reply(&mut stream, "202 Accepted", "", "{}");
        None
    } else if path.ends_with("/error") {
        let (error_type, message) = error_of(&body);
        let _ = tx.send(Outcome::Error { error_type, message });
        reply(&mut stream, "202 Accepted", "", "{}");
        None
    } else {
        reply(&mut stream, "404 Not Found", "", "{}");
        None
    }
}
