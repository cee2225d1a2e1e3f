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
    serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).expect("fixture is JSON")
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

/// A `[directory]` section to append to [`CONFIG`] (the Directory function needs one).
pub const DIRECTORY: &str = r#"
[directory]
domain = "corp.non-97.net"
secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd"
"#;
