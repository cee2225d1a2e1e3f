//! `fsxn-lattice-heal`: Reacts to EC2 CreateNetworkInterface/AssignPrivateIpAddresses failures for lack of a /28 (both CloudTrail detail-types, the message prefix and InsufficientCidrBlocks) and runs as the Heal step: diagnoses the subnet and heals capacity (reserve, carve, replace the gateway).
//!
//! Input: an EventBridge event or a Step Functions input object (see `events/`). Output:
//! [`fsxn_lattice_lambda::StepOutput`]. Errors (`errorType`): Transient, NotReady,
//! InvalidInput, Conflict, NotFound, CapacityExhausted, QuotaExceeded, AccessDenied, Internal.
//! Configuration: `FSXN_LATTICE_CONFIG` (TOML, docs/config.md), validated at cold start.

use fsxn_lattice_lambda::{Function, InfrastructureScope, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve::<InfrastructureScope>(Function::Heal).await
}
