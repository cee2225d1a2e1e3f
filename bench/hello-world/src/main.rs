//! `fsxn-lattice-hello-world`: the floor of a Rust Lambda cold start, measured next to the four
//! functions by `fsxn-lattice-bench cold-start` (README "Performance"). What every function
//! does before its own work and nothing else: the same runtime (`lambda_runtime` on a
//! multi-threaded tokio runtime, as `#[tokio::main]` in `functions/*/src/main.rs`), the same
//! default tracing subscriber (`fsxn_lattice_lambda::serve` installs it), the event read as JSON;
//! no configuration, no AWS SDK clients. It answers `{"status": "ignored"}`, the answer the
//! functions give the benchmark's event, so that the same check accepts both.
//!
//! Built with the workspace's release profile like the functions; never deployed.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"status": "ignored"}))
    }))
    .await
}
