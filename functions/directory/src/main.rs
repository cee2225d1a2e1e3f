//! `fsxn-lattice-directory-function`: Runs as the Directory step (deployed only with `[directory]`): adds the alias's SPNs to the SVM's AD computer object and publishes its CNAME in the AD-integrated zone, over LDAPS or StartTLS with the bind secret from Secrets Manager; withdraws exactly what it added.
//!
//! Input: an EventBridge event or a Step Functions input object (see `events/`). Output:
//! [`fsxn_lattice_lambda::StepOutput`]. Errors (`errorType`): Transient, NotReady,
//! InvalidInput, Conflict, NotFound, AccessDenied, Internal.
//! Configuration: `FSXN_LATTICE_CONFIG` (TOML, docs/config.md) with a `[directory]` section,
//! validated at cold start.

use fsxn_lattice_lambda::{DirectoryScope, Function, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve::<DirectoryScope>(Function::Directory).await
}
