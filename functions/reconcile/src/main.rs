//! `fsxn-lattice-reconcile`: Scheduled: reconciles everything, catching what lost or late events missed.
//!
//! Input: an EventBridge event or a Step Functions input object (see `events/`). Output:
//! [`fsxn_lattice_lambda::StepOutput`]. Errors (`errorType`): Transient, NotReady,
//! InvalidInput, Conflict, NotFound, CapacityExhausted, QuotaExceeded, AccessDenied, Internal.
//! Configuration: `FSXN_LATTICE_CONFIG` (TOML, docs/config.md), validated at cold start.

use fsxn_lattice_lambda::{AllScope, Function, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve::<AllScope>(Function::Reconcile).await
}
