//! What running fsxn-lattice costs: billed Lambda time and Step Functions transitions, measured
//! by running the deployed state machine (statemachine/, as template.yaml deploys it) on the
//! simulated cloud with its latency model ([`Latency::ASSUMED`]), then priced.
//!
//! Prices (us-east-1, USD; read 2026-11-27 from the sources named; check them before relying on
//! them, AWS changes prices):
//! - Lambda on arm64: $0.0000133334 per GB-second, $0.20 per million requests; free tier 400,000
//!   GB-seconds and 1 million requests a month (aws.amazon.com/lambda/pricing, via third-party
//!   transcriptions: the page renders its table client-side). INIT is billed for custom runtimes
//!   (`provided.al2023`) as for all since 2025-08-01 (AWS Compute Blog, "AWS Lambda standardizes
//!   billing for INIT Phase"); it is not in these figures (see the cold-start table).
//! - Step Functions Standard: $0.025 per 1,000 state transitions, 4,000 free a month; each retry
//!   is a transition (aws.amazon.com/step-functions/pricing).
//! - What the tool builds: VPC Lattice data processed for VPC resources $0.01 per GB (first PB);
//!   Transit Gateway $0.05 per attachment-hour and $0.02 per GB (third-party copies of
//!   aws.amazon.com/transit-gateway/pricing). The hourly price of a Resource VPC endpoint and of
//!   a resource configuration was not in any source we could read: it is printed as unknown, to
//!   be read on aws.amazon.com/privatelink/pricing and aws.amazon.com/vpc/lattice/pricing.

use fsxn_lattice_core::config::tag_keys;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, reconcile};
use fsxn_lattice_sim::deployed::{DeployedRun, DeployedStateMachine, RunOptions};
use fsxn_lattice_sim::latency::run;
use fsxn_lattice_sim::scenario::{ALIAS, SVM_ID, seed_world};
use fsxn_lattice_sim::stepfunctions::ExecutionStatus;
use fsxn_lattice_sim::{Latency, Timed};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// Lambda memory of every function (template.yaml `Globals.Function.MemorySize`), GB.
pub const MEMORY_GB: f64 = 256.0 / 1024.0;
/// Lambda arm64 price per GB-second.
pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda price per request.
pub const LAMBDA_REQUEST: f64 = 0.20 / 1_000_000.0;
/// Step Functions Standard price per state transition.
pub const TRANSITION: f64 = 0.025 / 1000.0;
/// Days in an average month.
pub const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// One kind of execution, measured.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    /// What it is.
    pub what: &'static str,
    /// State transitions (states entered).
    pub transitions: usize,
    /// Lambda invocations (retries included).
    pub invocations: usize,
    /// Their billed time, ms (each rounded up to 1 ms, as Lambda bills).
    pub lambda_ms: u64,
    /// From start to end, s (Wait states included).
    pub elapsed_s: f64,
}

impl Execution {
    fn of(what: &'static str, r: &DeployedRun, elapsed: Duration) -> Result<Self, String> {
        if r.execution.status != ExecutionStatus::Succeeded {
            return Err(format!("{what}: {:?} {:?}", r.execution.error, r.execution.cause));
        }
        Ok(Self {
            what,
            transitions: r.execution.path.len(),
            invocations: r.invocation_ms.len(),
            lambda_ms: r.invocation_ms.iter().map(|ms| (*ms).max(1)).sum(),
            elapsed_s: elapsed.as_secs_f64(),
        })
    }

    /// Its price: Lambda time and requests, and transitions.
    pub fn usd(&self) -> f64 {
        self.lambda_ms as f64 / 1000.0 * MEMORY_GB * LAMBDA_GB_SECOND
            + self.invocations as f64 * LAMBDA_REQUEST
            + self.transitions as f64 * TRANSITION
    }
}

/// The measured executions and the scheduled reconcile.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// First provisioning of the seed's SVM (its heal included, as it happened on AWS).
    pub provisioning: Execution,
    /// An event that changes nothing (a duplicate delivery, a tag someone else edited).
    pub no_op_event: Execution,
    /// The scheduled Reconcile, steady state: billed ms.
    pub scheduled_ms: u64,
}

/// Runs the seed's story on the deployed state machine with latency.
pub fn measure() -> Result<Measured, String> {
    let w = seed_world(7);
    let timed = Timed::new(&w.cloud, Latency::ASSUMED);
    let sm = DeployedStateMachine::from_repository().map_err(|e| e.to_string())?;
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb,nfs");
    w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    let tag = w.cloud.drain_events().remove(0);
    let execute = |input: Value| {
        let t0 = w.cloud.now_micros();
        let r = run(
            &timed,
            sm.run_on(&timed, &w.config, input, &RunOptions::default(), &|| false, &mut |_| {}),
        );
        (r, Duration::from_micros(w.cloud.now_micros() - t0))
    };
    let (first, t) = execute(tag.clone());
    let mut provisioning = Execution::of("first provisioning (one SVM, heal included)", &first, t)?;
    // The executions the provisioning's own events start (the seed's ENI failure: a heal that
    // finds the work done), as EventBridge would.
    for event in w.cloud.drain_events() {
        let (r, t) = execute(event);
        if let Ok(e) = Execution::of("", &r, t) {
            provisioning.transitions += e.transitions;
            provisioning.invocations += e.invocations;
            provisioning.lambda_ms += e.lambda_ms;
        }
    }
    if w.cloud.connect(ALIAS, 445).is_none() {
        return Err("the seed's SVM is not reachable through its alias after provisioning".into());
    }
    let (again, t) = execute(tag);
    let no_op_event = Execution::of("an event that changes nothing", &again, t)?;
    let options = ReconcileOptions {
        poll_interval: Duration::ZERO,
        ..ReconcileOptions::default()
    };
    let t0 = w.cloud.now_micros();
    let steady = run(&timed, reconcile(&timed, &w.config, &options, &mut |_| {}));
    if steady.status != ReconcileStatus::Converged || !steady.applied.is_empty() {
        return Err(format!("the scheduled reconcile was not a no-op: {:?}", steady.status));
    }
    let scheduled_ms = ((w.cloud.now_micros() - t0) / 1000).max(1);
    Ok(Measured {
        provisioning,
        no_op_event,
        scheduled_ms,
    })
}

/// A month of operation.
#[derive(Debug, Clone, Serialize)]
pub struct Month {
    /// Scheduled reconciles.
    pub scheduled: f64,
    /// Events that reach the state machine.
    pub events: f64,
    /// Lambda GB-seconds.
    pub gb_seconds: f64,
    /// Lambda requests.
    pub requests: f64,
    /// Step Functions transitions.
    pub transitions: f64,
    /// Before any free tier, USD.
    pub usd: f64,
}

/// A month with a reconcile every `schedule_minutes` and `events_per_day` events that change
/// nothing (each change costs a provisioning-like execution on top).
pub fn month(m: &Measured, schedule_minutes: f64, events_per_day: f64) -> Month {
    let scheduled = DAYS_PER_MONTH * 24.0 * 60.0 / schedule_minutes;
    let events = DAYS_PER_MONTH * events_per_day;
    let lambda_s = scheduled * m.scheduled_ms as f64 / 1000.0 + events * m.no_op_event.lambda_ms as f64 / 1000.0;
    let gb_seconds = lambda_s * MEMORY_GB;
    let requests = scheduled + events * m.no_op_event.invocations as f64;
    let transitions = events * m.no_op_event.transitions as f64;
    Month {
        scheduled,
        events,
        gb_seconds,
        requests,
        transitions,
        usd: gb_seconds * LAMBDA_GB_SECOND + requests * LAMBDA_REQUEST + transitions * TRANSITION,
    }
}
