//! Test helpers shared by the workspace's integration tests. `runtime_api` is a minimal AWS
//! Lambda Runtime API on 127.0.0.1, enough to run a function binary as Lambda would: hand it
//! events, collect its responses and errors, see its init error.

/// A Lambda Runtime API emulator.
pub mod runtime_api {
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
}

pub mod function {
    //! Runs a function binary under [`crate::runtime_api::Emulator`], with AWS pointed at a
    //! closed port of 127.0.0.1 so that any AWS call fails at once and nothing leaves the machine.

    use crate::runtime_api::{Emulator, Outcome};
    use serde_json::Value;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// What a run produced.
    #[derive(Debug)]
    pub struct Run {
        /// One outcome per event handled, in order.
        pub outcomes: Vec<Outcome>,
        /// The exit status if the process ended by itself (a failed cold start).
        pub exit: Option<std::process::ExitStatus>,
        /// Everything it logged (stdout and stderr).
        pub logs: String,
    }

    /// Gives `cmd` the environment Lambda gives a function, with the Runtime API at
    /// `runtime_api`, fake credentials, and every AWS endpoint at a closed port of 127.0.0.1.
    pub fn lambda_environment(cmd: &mut Command, runtime_api: &str) {
        cmd.env_remove("AWS_PROFILE")
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "fsxn-lattice-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fsxn-lattice-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            // boto3 reads the region from here.
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Port 9 of 127.0.0.1: nothing listens, connections are refused at once.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    }

    /// Runs `binary` for `events` with `env` added to a Lambda-like environment.
    pub fn run(binary: &str, events: Vec<Value>, env: &[(&str, &str)]) -> Run {
        run_command(Command::new(binary), events, env)
    }

    /// [`run`] for a prepared command (e.g. an arm64 bootstrap under `qemu-aarch64-static`).
    pub fn run_command(mut cmd: Command, events: Vec<Value>, env: &[(&str, &str)]) -> Run {
        let binary = format!("{:?}", cmd.get_program());
        let expected = events.len();
        let emulator = Emulator::start(events);
        let logs = std::env::temp_dir().join(format!(
            "fsxn-lattice-fn-{}-{}.log",
            std::process::id(),
            emulator.address.replace(':', "_")
        ));
        let log_file = std::fs::File::create(&logs).expect("log file");
        lambda_environment(&mut cmd, &emulator.address);
        cmd.stdout(Stdio::from(log_file.try_clone().expect("clone log file")))
            .stderr(Stdio::from(log_file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let mut outcomes = Vec::new();
        let mut exit = None;
        let deadline = Instant::now() + Duration::from_secs(120);
        while outcomes.len() < expected && Instant::now() < deadline {
            if let Some(o) = emulator.next(Duration::from_millis(200)) {
                outcomes.push(o);
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                exit = Some(status);
                break;
            }
        }
        if exit.is_none() {
            let _ = child.kill();
        }
        // Reap the process in every case (after a kill, or again after it exited by itself).
        let _ = child.wait();
        let logs_text = std::fs::read_to_string(&logs).unwrap_or_default();
        let _ = std::fs::remove_file(&logs);
        Run {
            outcomes,
            exit,
            logs: logs_text,
        }
    }

    /// An event fixture from `events/`.
    pub fn event(name: &str) -> Value {
        let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
            .expect("fixture is JSON")
    }

    /// The demo's configuration (owner "demo", pinned FSx subnets).
    pub const CONFIG: &str = r#"
owner = "demo"
[gateway]
security_group_ids = ["sg-03730d9e2b49e7cbc"]
[[consumers]]
name = "clients"
vpc_id = "vpc-0764d7f66aa8fa58a"
subnet_ids = ["subnet-0493d3cebba9cc691"]
"#;
}

pub mod contract {
    //! The contract every function binary keeps, checked against the real binary.

    use crate::function::{CONFIG, event, run};
    use crate::runtime_api::Outcome;

    /// A trigger the function does not handle is answered `ignored` without an AWS call; its own
    /// trigger reaches AWS (a closed local port here: `Transient`, naming the failed call); a
    /// payload that is no event and no step input is `InvalidInput`.
    pub fn ignores_reaches_aws_refuses(binary: &str, not_handled: &str, handled: &str) {
        let r = run(
            binary,
            vec![event(not_handled), event(handled), serde_json::json!([1, 2])],
            &[("FSXN_LATTICE_CONFIG", CONFIG)],
        );
        assert_eq!(r.outcomes.len(), 3, "{r:?}");
        match &r.outcomes[0] {
            Outcome::Response(v) => assert_eq!(v["status"], "ignored", "{not_handled}: {v}"),
            o => panic!("{not_handled}: {o:?}"),
        }
        match &r.outcomes[1] {
            Outcome::Error { error_type, message } => {
                assert_eq!(error_type, "Transient", "{handled}: {message}");
                assert!(message.contains(" failed ("), "{message}");
            }
            o => panic!("{handled}: {o:?}"),
        }
        assert!(
            matches!(&r.outcomes[2], Outcome::Error { error_type, .. } if error_type == "InvalidInput"),
            "{:?}",
            r.outcomes[2]
        );
    }
}

pub mod moto {
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
}
