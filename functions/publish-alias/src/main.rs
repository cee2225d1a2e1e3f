//! `fsxn-lattice-publish-alias`: Runs as the PublishAlias step: publishes (and withdraws) alias CNAMEs with their ownership TXT once endpoints are available; NotReady before that.
//!
//! Input: an EventBridge event or a Step Functions input object (see `events/`). Output:
//! [`fsxn_lattice_lambda::StepOutput`]. Errors (`errorType`): Transient, NotReady,
//! InvalidInput, Conflict, NotFound, CapacityExhausted, QuotaExceeded, AccessDenied, Internal.
//! Configuration: `FSXN_LATTICE_CONFIG` (TOML, docs/config.md), validated at cold start.

use fsxn_lattice_lambda::{DnsScope, Function, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve::<DnsScope>(Function::PublishAlias).await
}
