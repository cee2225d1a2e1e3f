//! `fsxn-lattice-provision`: Reacts to FSx CloudTrail events (create/update/delete/tag of SVMs and file systems) and runs as the Provision step: builds or re-creates the gateway, configuration and endpoints of exposed SVMs.
//!
//! Input: an EventBridge event or a Step Functions input object (see `events/`). Output:
//! [`fsxn_lattice_lambda::StepOutput`]. Errors (`errorType`): Transient, NotReady,
//! InvalidInput, Conflict, NotFound, CapacityExhausted, QuotaExceeded, AccessDenied, Internal.
//! Configuration: `FSXN_LATTICE_CONFIG` (TOML, docs/config.md), validated at cold start.

use fsxn_lattice_lambda::{Function, InfrastructureScope, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve::<InfrastructureScope>(Function::Provision).await
}
