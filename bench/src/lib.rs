//! Performance evidence for fsxn-lattice (README "Performance"): API calls per reconcile in the
//! simulated cloud, cold start and peak memory of the release Lambda binaries against a Python
//! 3 / boto3 baseline under the same local Runtime API, artifact sizes. Core speed is measured
//! by the criterion benches in `benches/core.rs`. Nothing here reaches AWS.

pub mod api_calls;
pub mod artifacts;
pub mod cold_start;
pub mod cost;
pub mod fleet;
pub mod wall;
