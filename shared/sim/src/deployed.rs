//! The deployed split, executed end to end in the simulation: one Step Functions execution of
//! statemachine/fsxn-lattice.asl.json (as template.yaml deploys it) on a [`SimCloud`], each Task
//! running the core's [`step`] — the very code the Lambdas run — for the function its
//! `FunctionName` names, with Lambda failures injected from a seeded [`FaultPlan`]. For the
//! chaos harness and for tests of what is deployed, rather than of one `Scope::All` reconcile.

use crate::SimCloud;
use crate::stepfunctions::{
    AslError, Deployment, Execution, ExecutionOptions, StateMachine, TaskError, TaskHost, function_name,
};
use async_trait::async_trait;
use fsxn_lattice_core::config::Config;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ports::Cloud;
use fsxn_lattice_core::reconcile::Progress;
use fsxn_lattice_core::step::{Function, step_observed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

/// A Lambda failure, as `lambda:invoke` surfaces it to the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LambdaFault {
    /// The function ran out of time: its AWS calls took effect, its answer is lost, the clock
    /// moved by the function's timeout; `Lambda.Unknown`.
    Timeout,
    /// Lambda failed the invoke (the function did not run): `Lambda.ServiceException`.
    ServiceException,
    /// Lambda throttled the invoke (the function did not run):
    /// `Lambda.TooManyRequestsException`.
    TooManyRequests,
    /// The function returned one of its own errors without doing anything.
    Function(ErrorKind),
}

impl LambdaFault {
    /// The kinds a [`FaultPlan::Random`] draws from, uniformly.
    pub const RANDOM: [LambdaFault; 6] = [
        Self::Timeout,
        Self::ServiceException,
        Self::TooManyRequests,
        Self::Function(ErrorKind::Transient),
        Self::Function(ErrorKind::NotReady),
        Self::Function(ErrorKind::Conflict),
    ];

    /// With probability `rate` (0.0–1.0), a kind drawn uniformly from [`LambdaFault::RANDOM`].
    pub fn draw(rate: f64, rng: &mut impl Rng) -> Option<Self> {
        rng.random_bool(rate.clamp(0.0, 1.0))
            .then(|| Self::RANDOM[rng.random_range(0..Self::RANDOM.len())])
    }

    /// The error name the state machine's `Retry`/`Catch` see.
    pub fn error(self) -> &'static str {
        match self {
            Self::Timeout => "Lambda.Unknown",
            Self::ServiceException => "Lambda.ServiceException",
            Self::TooManyRequests => "Lambda.TooManyRequestsException",
            Self::Function(kind) => kind.as_str(),
        }
    }
}

/// Which invocations fail.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum FaultPlan {
    /// None.
    #[default]
    None,
    /// These invocations (0 is the execution's first), retries included.
    Scripted(BTreeMap<usize, LambdaFault>),
    /// Each invocation fails with probability `rate` (0.0–1.0), with a kind drawn from
    /// [`LambdaFault::RANDOM`]; seeded by [`RunOptions::seed`].
    Random {
        /// Probability.
        rate: f64,
    },
}

/// Settings of one execution.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunOptions {
    /// Seeds the retry jitter and the random faults: the same seed replays the same run.
    pub seed: u64,
    /// Lambda failures to inject.
    pub faults: FaultPlan,
}

/// One invocation's injected fault.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectedFault {
    /// The invocation (0 is the first).
    pub invocation: usize,
    /// The function.
    pub function: String,
    /// The fault.
    pub fault: LambdaFault,
}

/// What one execution did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeployedRun {
    /// The execution: status, path, invocations and their outcomes, virtual time.
    pub execution: Execution,
    /// The faults injected.
    pub faults: Vec<InjectedFault>,
    /// How long each invocation ran, in ms of the cloud's clock, in order: Lambda's billed
    /// duration but for the runtime's own overhead, on a cloud whose calls take time
    /// ([`crate::Timed`]); on a bare [`SimCloud`] only its sleeps count (whole seconds).
    pub invocation_ms: Vec<u64>,
}

/// The deployed state machine, parsed once, with the functions' timeouts.
#[derive(Debug)]
pub struct DeployedStateMachine {
    /// The parsed definition.
    pub machine: StateMachine,
    /// Timeout per function logical ID.
    pub timeouts: BTreeMap<String, Duration>,
    /// Functions Lambda runs one at a time (their own `ReservedConcurrentExecutions: 1`):
    /// an invocation while one is running is throttled (`Lambda.TooManyRequestsException`).
    pub serialized: std::collections::BTreeSet<String>,
    /// Those of them running now, across every execution of this machine.
    running: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// Marks a serialized function running until dropped (also when its invocation's future is
/// dropped: a sandbox that died frees its slot).
struct Running<'a>(&'a std::sync::Mutex<std::collections::BTreeSet<String>>, String);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.1);
    }
}

impl DeployedStateMachine {
    /// The repository's definition as template.yaml deploys it.
    pub fn from_repository() -> Result<Self, AslError> {
        Self::new(&Deployment::from_repository()?)
    }

    /// The repository's definition as template.yaml deploys it for `config`: with `[directory]`,
    /// the stack is given `DirectorySecretArn` (condition `HasDirectory`), which deploys the
    /// Directory function and its state.
    pub fn from_repository_for(config: &Config) -> Result<Self, AslError> {
        Self::new(&Deployment::from_repository()?.with_condition("HasDirectory", config.directory.is_some()))
    }

    /// A deployment (e.g. one with a smaller `MaxPolls`).
    pub fn new(deployment: &Deployment) -> Result<Self, AslError> {
        Ok(Self {
            machine: deployment.state_machine()?,
            timeouts: deployment.function_timeouts.clone(),
            serialized: deployment.serialized.clone(),
            running: std::sync::Mutex::default(),
        })
    }

    /// Runs one execution for `input` (an EventBridge event, as the rules deliver it, or any
    /// execution input) on `cloud`. Waits and retry delays advance the cloud's clock.
    pub fn run(&self, cloud: &SimCloud, config: &Config, input: Value, options: &RunOptions) -> DeployedRun {
        pollster::block_on(self.run_on(cloud, config, input, options, &|| false, &mut |_| {}))
    }

    /// [`DeployedStateMachine::run`] on any [`Cloud`], awaiting its port calls and its clock
    /// (waits, retry delays and timeouts are `cloud.sleep`), so executions can interleave with
    /// each other at every call. `progress` hears every pass and action of every invocation.
    /// `died` is asked whenever an invocation's future is pending: `true` means the function's
    /// sandbox died in the middle of a call (whatever that call did stands), and the state
    /// machine sees `Lambda.Unknown`, as for a runtime that exited.
    pub async fn run_on<C: Cloud + ?Sized>(
        &self,
        cloud: &C,
        config: &Config,
        input: Value,
        options: &RunOptions,
        died: &dyn Fn() -> bool,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> DeployedRun {
        let mut host = Host {
            machine: self,
            cloud,
            config,
            options,
            rng: ChaCha8Rng::seed_from_u64(options.seed ^ 0x1a3b_daf4_0017),
            faults: Vec::new(),
            invocation_ms: Vec::new(),
            n: 0,
            died,
            progress,
        };
        let execution = self
            .machine
            .execute_async(
                input,
                &ExecutionOptions {
                    seed: options.seed,
                    ..ExecutionOptions::default()
                },
                &mut host,
            )
            .await;
        DeployedRun {
            execution,
            faults: host.faults,
            invocation_ms: host.invocation_ms,
        }
    }

    /// One Lambda invocation of `function` with `fault` injected: none runs [`invoke`];
    /// [`LambdaFault::Timeout`] runs it, loses its answer and sleeps the function's timeout;
    /// the others fail without running it.
    #[allow(clippy::too_many_arguments)]
    pub async fn invoke_with<C: Cloud + ?Sized>(
        &self,
        cloud: &C,
        config: &Config,
        function: Function,
        payload: &Value,
        fault: Option<LambdaFault>,
        died: &dyn Fn() -> bool,
        progress: &mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Value, TaskError> {
        let id = function.template_resource().to_string();
        let _running = if self.serialized.contains(&id) {
            let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !running.insert(id.clone()) {
                return Err(TaskError {
                    error: "Lambda.TooManyRequestsException".into(),
                    cause: format!("Rate Exceeded: {id} runs one invocation at a time (reserved concurrency 1)"),
                });
            }
            Some(Running(&self.running, id))
        } else {
            None
        };
        match fault {
            None => invoke(cloud, config, function, payload, died, progress).await,
            Some(LambdaFault::Timeout) => {
                // The work happens; the answer never comes.
                let _ = invoke(cloud, config, function, payload, died, progress).await;
                let timeout = self
                    .timeouts
                    .get(function.template_resource())
                    .copied()
                    .unwrap_or(Duration::from_secs(3));
                cloud.sleep(timeout).await;
                let message = format!("Task timed out after {:.2} seconds", timeout.as_secs_f64());
                Err(TaskError {
                    error: "Lambda.Unknown".into(),
                    cause: format!(
                        "The cause could not be determined because Lambda did not return an error type. Returned payload: {}",
                        json!({"errorMessage": message})
                    ),
                })
            }
            Some(f @ (LambdaFault::ServiceException | LambdaFault::TooManyRequests)) => Err(TaskError {
                error: f.error().into(),
                cause: format!("{} (injected)", f.error()),
            }),
            Some(f @ LambdaFault::Function(_)) => Err(TaskError::function(f.error(), "injected")),
        }
    }
}

/// Runs one function's [`step`] on `cloud`, as Lambda would: its output as JSON, or its error;
/// `Lambda.Unknown` if `died` says the sandbox died in the middle of a call.
pub async fn invoke<C: Cloud + ?Sized>(
    cloud: &C,
    config: &Config,
    function: Function,
    payload: &Value,
    died: &dyn Fn() -> bool,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Value, TaskError> {
    let mut fut = std::pin::pin!(step_observed(cloud, config, function, payload, progress));
    let out = std::future::poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(r) => Poll::Ready(Some(r)),
        Poll::Pending if died() => Poll::Ready(None),
        Poll::Pending => Poll::Pending,
    })
    .await;
    match out {
        Some(Ok(out)) => serde_json::to_value(&out).map_err(|e| TaskError::function("Internal", &e.to_string())),
        Some(Err(e)) => Err(TaskError::function(e.kind.as_str(), &e.message)),
        None => Err(TaskError {
            error: "Lambda.Unknown".into(),
            cause: json!({"errorType": "Runtime.ExitError", "errorMessage": "RequestId: sim Error: Runtime exited"})
                .to_string(),
        }),
    }
}

/// What one execution's Tasks and waits run on.
struct Host<'a, C: ?Sized> {
    machine: &'a DeployedStateMachine,
    cloud: &'a C,
    config: &'a Config,
    options: &'a RunOptions,
    rng: ChaCha8Rng,
    faults: Vec<InjectedFault>,
    invocation_ms: Vec<u64>,
    n: usize,
    died: &'a dyn Fn() -> bool,
    progress: &'a mut (dyn FnMut(&Progress) + Send),
}

#[async_trait(?Send)]
impl<C: Cloud + ?Sized> TaskHost for Host<'_, C> {
    async fn sleep(&mut self, d: Duration) {
        self.cloud.sleep(d).await;
    }

    async fn invoke(&mut self, name: &str, payload: &Value) -> Result<Value, TaskError> {
        let invocation = self.n;
        self.n += 1;
        let id = function_name(name);
        let Some(function) = Function::ALL.into_iter().find(|f| f.template_resource() == id) else {
            return Err(TaskError {
                error: "Lambda.ResourceNotFoundException".into(),
                cause: format!("Function not found: {name}"),
            });
        };
        let fault = match &self.options.faults {
            FaultPlan::None => None,
            FaultPlan::Scripted(m) => m.get(&invocation).copied(),
            FaultPlan::Random { rate } => LambdaFault::draw(*rate, &mut self.rng),
        };
        if let Some(fault) = fault {
            self.faults.push(InjectedFault {
                invocation,
                function: id.to_string(),
                fault,
            });
        }
        let started = self.cloud.now_millis();
        let out = self
            .machine
            .invoke_with(
                self.cloud,
                self.config,
                function,
                payload,
                fault,
                self.died,
                self.progress,
            )
            .await;
        self.invocation_ms.push(self.cloud.now_millis() - started);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;
    use crate::scenario::{ALIAS, FSX_SUBNETS, SVM_ID, SeedWorld, seed_world};
    use crate::stepfunctions::ExecutionStatus;
    use fsxn_lattice_core::config::tag_keys;

    fn tagged(seed: u64) -> (SeedWorld, Value) {
        let w = seed_world(seed);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let events = w.cloud.drain_events();
        assert_eq!(events[0]["detail"]["eventName"], "TagResource");
        (w, events[0].clone())
    }

    fn states_of(x: &Execution, f: &str) -> Vec<Value> {
        x.invocations
            .iter()
            .filter(|i| function_name(&i.function) == f)
            .filter_map(|i| i.outcome.clone().ok())
            .collect()
    }

    #[test]
    fn the_seed_tag_event_provisions_polls_and_publishes_an_alias_that_connects() {
        let (w, tag) = tagged(21);
        let sm = DeployedStateMachine::from_repository().unwrap();
        let r = sm.run(&w.cloud, &w.config, tag, &RunOptions::default());
        let x = &r.execution;
        assert_eq!(
            x.status,
            ExecutionStatus::Succeeded,
            "{:?} {:?} {:?}",
            x.error,
            x.cause,
            x.path
        );
        assert_eq!(&x.path[..4], ["Init", "Route", "RouteBySource", "Provision"]);
        assert_eq!(x.path.last().map(String::as_str), Some("Done"));
        assert!(x.entered["WaitForAws"] >= 1, "the endpoint was polled: {:?}", x.path);
        assert_eq!(x.entered["PublishAlias"], 1);
        let published = states_of(x, "PublishAliasFunction");
        assert!(
            published[0]["applied"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["action"].as_str().unwrap().starts_with("CREATE CNAME")),
            "{published:?}"
        );
        let c = w.cloud.connect(ALIAS, 445).expect("the alias reaches the SVM over SMB");
        assert_eq!(c.target.to_string(), crate::scenario::SVM_IP);
        // The seed's ENI failure happened on the way; the CloudTrail record's own execution
        // (EventBridge starts one per event) heals nothing more and publishes nothing new.
        let failure = w
            .cloud
            .drain_events()
            .into_iter()
            .find(|e| e["source"] == "aws.ec2" && e["detail"]["errorCode"].is_string())
            .expect("the seed's insufficient-IP CloudTrail record");
        let again = sm.run(&w.cloud, &w.config, failure, &RunOptions::default());
        assert_eq!(again.execution.status, ExecutionStatus::Succeeded);
        assert_eq!(
            &again.execution.path[..5],
            ["Init", "Route", "RouteBySource", "Heal", "CountHeal"]
        );
        assert!(w.cloud.connect(ALIAS, 445).is_some());
    }

    #[test]
    fn with_the_directory_the_execution_adds_the_spns_and_the_ad_record_after_publishing() {
        use crate::scenario::{COMPUTER, seed_world_with_directory};
        let w = seed_world_with_directory(24);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let tag = w.cloud.drain_events().remove(0);
        // Without the Directory function (a stack without DirectorySecretArn) the execution
        // ends after PublishAlias, and nothing reaches AD: the other functions cannot.
        let without = DeployedStateMachine::from_repository().unwrap();
        let r = without.run(&w.cloud, &w.config, tag.clone(), &RunOptions::default());
        assert_eq!(r.execution.status, ExecutionStatus::Succeeded, "{:?}", r.execution.path);
        assert!(!r.execution.entered.contains_key("Directory"), "{:?}", r.execution.path);
        assert!(w.cloud.kerberos_for(ALIAS).is_err());
        assert!(w.cloud.ad_values(COMPUTER).unwrap().1.is_empty());
        // Deployed for this configuration: the Directory step follows PublishAlias, once.
        let sm = DeployedStateMachine::from_repository_for(&w.config).unwrap();
        let r = sm.run(&w.cloud, &w.config, tag, &RunOptions::default());
        let x = &r.execution;
        assert_eq!(
            x.status,
            ExecutionStatus::Succeeded,
            "{:?} {:?} {:?}",
            x.error,
            x.cause,
            x.path
        );
        let at = |state: &str| x.path.iter().position(|p| p == state);
        assert!(at("PublishAlias") < at("Directory"), "{:?}", x.path);
        assert_eq!(x.entered["Directory"], 1, "{:?}", x.path);
        assert_eq!(x.path.last().map(String::as_str), Some("Done"));
        assert!(w.cloud.kerberos_for(ALIAS).is_ok());
        assert_eq!(w.cloud.ad_values(COMPUTER).unwrap().1.len(), 1);
        // The scheduled reconcile has nothing left to do, and no manual step to print.
        let out = pollster::block_on(invoke(
            &w.cloud,
            &w.config,
            Function::Reconcile,
            &json!({}),
            &|| false,
            &mut |_| {},
        ))
        .unwrap();
        assert_eq!(out["status"], "converged", "{out}");
        assert_eq!(out["applied"], json!([]), "{out}");
        assert_eq!(out["manual_steps"], json!([]), "{out}");
    }

    #[test]
    fn the_seed_eni_failure_event_heals_first_then_provisions_and_publishes() {
        let (w, tag) = tagged(22);
        // The first execution gives up at once (MaxPolls 0), before the ENI fails.
        let impatient =
            DeployedStateMachine::new(&Deployment::from_repository().unwrap().with("MaxPolls", "0")).unwrap();
        let first = impatient.run(&w.cloud, &w.config, tag, &RunOptions::default());
        assert_eq!(first.execution.error.as_deref(), Some("NotReady"));
        assert!(w.cloud.connect(ALIAS, 445).is_none());
        w.cloud.advance(Duration::from_secs(15));
        let failure = w
            .cloud
            .drain_events()
            .into_iter()
            .find(|e| e["source"] == "aws.ec2" && e["detail"]["errorCode"].is_string())
            .expect("the seed's insufficient-IP CloudTrail record");
        let sm = DeployedStateMachine::from_repository().unwrap();
        let r = sm.run(&w.cloud, &w.config, failure, &RunOptions::default());
        let x = &r.execution;
        assert_eq!(
            x.status,
            ExecutionStatus::Succeeded,
            "{:?} {:?} {:?}",
            x.error,
            x.cause,
            x.path
        );
        assert_eq!(
            &x.path[..6],
            ["Init", "Route", "RouteBySource", "Heal", "CountHeal", "Provision"]
        );
        let heal = &states_of(x, "HealFunction")[0];
        assert_eq!(heal["diagnoses"][0]["subnet_id"], FSX_SUBNETS[0]);
        assert_eq!(heal["diagnoses"][0]["free_addresses"], 212);
        assert!(
            heal["applied"].as_array().unwrap().iter().any(|a| {
                let a = a["action"].as_str().unwrap();
                a.starts_with("create subnet") || a.starts_with("reserve")
            }),
            "{heal}"
        );
        assert!(w.cloud.connect(ALIAS, 445).is_some());
    }

    #[test]
    fn injected_lambda_failures_are_retried_as_the_definition_says_and_still_publish() {
        let (w, tag) = tagged(23);
        let sm = DeployedStateMachine::from_repository().unwrap();
        let faults = FaultPlan::Scripted(BTreeMap::from([
            (0, LambdaFault::Timeout),
            (1, LambdaFault::TooManyRequests),
            (2, LambdaFault::Function(ErrorKind::Transient)),
        ]));
        let before = w.cloud.now_secs();
        let r = sm.run(&w.cloud, &w.config, tag, &RunOptions { seed: 5, faults });
        let x = &r.execution;
        assert_eq!(x.status, ExecutionStatus::Succeeded, "{:?} {:?}", x.error, x.path);
        assert_eq!(r.faults.len(), 3);
        assert_eq!(
            x.retries.iter().take(3).map(|r| r.error.as_str()).collect::<Vec<_>>(),
            ["Lambda.Unknown", "Lambda.TooManyRequestsException", "Transient"]
        );
        assert_eq!(x.invocations.iter().filter(|i| i.outcome.is_err()).count(), 3);
        // The timed-out invocation cost its timeout (120 s) and its retry interval (30 s).
        assert!(w.cloud.now_secs() - before >= 150, "{}", w.cloud.now_secs() - before);
        assert!(w.cloud.connect(ALIAS, 445).is_some());
    }

    /// Found by chaos at fault rate 0: after an opt-out, Provision holds the teardown for the
    /// alias withdrawal and PublishAlias withdraws it, but the teardown it unblocks is not
    /// PublishAlias's to do — it either ended the execution leaving endpoints and the
    /// configuration to the next scheduled reconcile, or (with a configuration waiting for its
    /// endpoints to go) retried `NotReady` for five minutes and failed the execution.
    #[test]
    fn an_opt_out_is_torn_down_by_its_own_execution_not_left_to_the_schedule() {
        let (w, tag) = tagged(25);
        let sm = DeployedStateMachine::from_repository().unwrap();
        let built = sm.run(&w.cloud, &w.config, tag, &RunOptions::default());
        assert_eq!(built.execution.status, ExecutionStatus::Succeeded);
        assert!(w.cloud.connect(ALIAS, 445).is_some());
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "off");
        let events = w.cloud.drain_events();
        let off = events
            .iter()
            .rev()
            .find(|e| e["detail"]["eventName"] == "TagResource")
            .expect("the opt-out's CloudTrail record")
            .clone();
        let r = sm.run(&w.cloud, &w.config, off, &RunOptions::default());
        let x = &r.execution;
        assert_eq!(
            x.status,
            ExecutionStatus::Succeeded,
            "{:?} {:?} {:?}",
            x.error,
            x.cause,
            x.path
        );
        assert!(x.entered["Published"] >= 1, "{:?}", x.path);
        assert!(
            x.entered["Provision"] >= 2,
            "back to Provision for the teardown: {:?}",
            x.path
        );
        assert!(w.cloud.connect(ALIAS, 445).is_none());
        let s = w.cloud.snapshot();
        let live: Vec<_> = s
            .endpoints
            .iter()
            .filter(|e| e.state.is_live())
            .map(|e| &e.id)
            .collect();
        assert!(live.is_empty(), "endpoints left: {live:?}");
        assert!(s.configurations.is_empty(), "{:?}", s.configurations);
        let names: Vec<&str> = s.records.values().flatten().map(|r| r.name.as_str()).collect();
        assert!(
            !names.iter().any(|n| n.contains(ALIAS.trim_end_matches('.'))),
            "{names:?}"
        );
    }

    /// Review: the PublishAlias opt-out fix (above) for the Directory step. After an opt-out
    /// with `[directory]`, Provision holds the endpoint for the Directory function (the target
    /// record names it), PublishAlias withdraws the Route 53 alias, the Directory function
    /// withdraws the AD record and untags — and then its plan still has the endpoint deletion
    /// (deferred) and "the configuration waits for its endpoints to go" (waiting): Waiting, so
    /// `NotReady`, which the Directory state retries 10 × 30 s and then fails the execution.
    #[test]
    fn review_an_opt_out_with_the_directory_is_torn_down_by_its_own_execution() {
        use crate::scenario::seed_world_with_directory;
        let w = seed_world_with_directory(26);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let tag = w.cloud.drain_events().remove(0);
        let sm = DeployedStateMachine::from_repository_for(&w.config).unwrap();
        let built = sm.run(&w.cloud, &w.config, tag, &RunOptions::default());
        assert_eq!(
            built.execution.status,
            ExecutionStatus::Succeeded,
            "{:?}",
            built.execution.path
        );
        assert!(w.cloud.kerberos_for(ALIAS).is_ok());
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "off");
        let events = w.cloud.drain_events();
        let off = events
            .iter()
            .rev()
            .find(|e| e["detail"]["eventName"] == "TagResource")
            .expect("the opt-out's CloudTrail record")
            .clone();
        let r = sm.run(&w.cloud, &w.config, off, &RunOptions::default());
        let x = &r.execution;
        let directory_errors: Vec<String> = x.retries.iter().map(|r| format!("{} {}", r.state, r.error)).collect();
        assert_eq!(
            x.status,
            ExecutionStatus::Succeeded,
            "{:?} {:?}\npath {:?}\nretries {:#?}\nlast failed invocation {:?}",
            x.error,
            x.cause,
            x.path,
            directory_errors,
            x.invocations
                .iter()
                .rev()
                .find(|i| i.outcome.is_err())
                .map(|i| &i.outcome)
        );
        let s = w.cloud.snapshot();
        let live: Vec<_> = s
            .endpoints
            .iter()
            .filter(|e| e.state.is_live())
            .map(|e| &e.id)
            .collect();
        assert!(live.is_empty(), "endpoints left: {live:?}");
    }

    /// Review: the SPN record tag is writable by anyone with `fsx:TagResource` on an SVM (the
    /// same people who set `expose`/`alias`), and since the record names its object by
    /// objectGUID, `remove_spn` acts on whatever object that GUID is. A forged record naming
    /// another computer's GUID and its own host name as the "alias" makes the Directory
    /// function's bind account strip that computer's HOST/ SPNs — values fsxn-lattice never
    /// added.
    #[test]
    fn review_a_forged_spn_record_removes_nothing_from_another_computer() {
        use crate::scenario::seed_world_with_directory;
        use fsxn_lattice_core::directory::{SpnRecord, SpnValue};
        let w = seed_world_with_directory(27);
        // Another server in the domain, with the SPNs its join wrote.
        w.cloud.add_ad_computer("FILER2");
        let before = w.cloud.ad_values("FILER2").unwrap();
        assert!(
            before.0.iter().any(|s| s == "HOST/filer2.corp.non-97.net"),
            "{before:?}"
        );
        let victim = w.cloud.ad_guid("FILER2").unwrap();
        // An FSx tagger (no AD rights) writes a record under our key on an SVM it may tag.
        let mut forged = SpnRecord::empty("filer2.corp.non-97.net");
        forged.added.extend(SpnValue::ALL);
        forged.account = Some(victim);
        w.cloud.tag_fsx(
            SVM_ID,
            &fsxn_lattice_core::naming::directory_tag("demo"),
            &forged.to_tag_value(),
        );
        w.cloud.drain_events();
        let out = pollster::block_on(invoke(
            &w.cloud,
            &w.config,
            Function::Directory,
            &json!({}),
            &|| false,
            &mut |_| {},
        ));
        let after = w.cloud.ad_values("FILER2").unwrap();
        assert_eq!(after, before, "FILER2's own SPNs were removed: {out:?}");
    }

    /// Review: markers are trusted wherever they are found in the zone. In an AD-integrated
    /// zone with secure dynamic updates, Authenticated Users may create new nodes, so any
    /// domain user can write `_fsxn-lattice.<name>` with our marker text (it is readable in
    /// the zone); the Directory function then "withdraws" `<name>`: an administrator's CNAME
    /// is deleted by the bind account, which holds Delete on dnsNode objects in the zone.
    #[test]
    fn review_a_forged_marker_does_not_delete_an_administrators_cname() {
        use crate::AdRecord;
        use crate::scenario::seed_world_with_directory;
        let w = seed_world_with_directory(28);
        let victim = "intranet.corp.non-97.net";
        w.cloud
            .add_ad_record(victim, AdRecord::Cname("web01.corp.non-97.net".into()));
        // Written by any domain user (the node is theirs; the bind account may delete it).
        w.cloud.add_ad_record(
            &format!("_fsxn-lattice.{victim}"),
            AdRecord::Txt(fsxn_lattice_core::directory::marker("demo", "svm-0000000000000dead")),
        );
        let out = pollster::block_on(invoke(
            &w.cloud,
            &w.config,
            Function::Directory,
            &json!({}),
            &|| false,
            &mut |_| {},
        ));
        assert_eq!(
            w.cloud.ad_records(victim),
            [AdRecord::Cname("web01.corp.non-97.net".into())],
            "the administrator's CNAME is gone: {out:?}"
        );
    }

    #[test]
    fn a_seed_replays_the_same_execution() {
        let run = |seed| {
            let (w, tag) = tagged(24);
            let sm = DeployedStateMachine::from_repository().unwrap();
            let r = sm.run(
                &w.cloud,
                &w.config,
                tag,
                &RunOptions {
                    seed,
                    faults: FaultPlan::Random { rate: 0.3 },
                },
            );
            (r, w.cloud.api_calls(), w.cloud.now_secs())
        };
        let (a, calls_a, t_a) = run(9);
        let (b, calls_b, t_b) = run(9);
        assert!(!a.faults.is_empty(), "rate 0.3 injected something");
        assert_eq!((&a, &calls_a, t_a), (&b, &calls_b, t_b));
        let (c, _, _) = run(10);
        assert_ne!(a.faults, c.faults, "another seed, another plan");
    }
}
