//! One scoped reconcile as a Lambda runs it for its trigger: [`step`] decodes the payload,
//! (heal: diagnoses the event's subnet), reconciles the function's scope once without waiting
//! (Step Functions polls), and maps the result to a typed [`StepOutput`] for the next state or a
//! [`FunctionError`] whose `kind.as_str()` is the Lambda `errorType` that the state machine's
//! `Retry`/`Catch` match.
//!
//! Pure but for the [`Cloud`] port, so the Lambdas (`fsxn-lattice-lambda`, over the AWS SDK), the
//! demo and the simulation's Step Functions executions run the same code: none of them
//! re-implements routing or diagnosis.

use crate::apply::{
    AllScope, DirectoryScope, DnsScope, Executes, InfrastructureScope, Outcome, RetryPolicy, ScopeType,
};
use crate::capacity::{SubnetCapacity, analyze_subnet};
use crate::concurrency::{Concurrency, Gates};
use crate::config::Config;
use crate::error::ErrorKind;
use crate::events::{Trigger, classify};
use crate::observe::{ZoneCache, observe_cached};
use crate::ports::Cloud;
use crate::reconcile::{Progress, ReconcileOptions, ReconcileStatus, Scope, reconcile_in};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tracing::{info, warn};

/// In-function retries stay short: Step Functions retries `Transient` again with backoff and
/// jitter, and the Lambda timeout bounds the whole step.
const STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(5),
};

/// The in-function retry budget of `function`'s AWS calls. Under the state machine, short
/// ([`STEP_RETRY`]): Step Functions retries `Transient` with backoff. The scheduled Reconcile
/// has no state machine above it — a failed call waits for the next schedule — so it gets the
/// full [`RetryPolicy::default`], well inside its 300 s timeout. (Found by chaos at fault rate
/// 0.6: with 4 attempts per call, an observe of ~15 reads succeeded about one time in eight.)
pub fn retry_policy(function: Function) -> RetryPolicy {
    match function {
        // Directory runs on the schedule too (a second target of it), with the same lack of
        // a state machine above it there; and a Step Functions retry of it reconnects to AD.
        Function::Reconcile | Function::Directory => RetryPolicy::default(),
        Function::Provision | Function::Heal | Function::PublishAlias => STEP_RETRY,
    }
}

/// The functions: four always, [`Function::Directory`] only with `[directory]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    /// Reacts to FSx changes: builds gateways, configurations and endpoints.
    Provision,
    /// Reacts to gateway address exhaustion: diagnoses the subnet and heals.
    Heal,
    /// Publishes and withdraws alias CNAMEs once endpoints are available.
    PublishAlias,
    /// Scheduled: everything, catching what lost events missed.
    Reconcile,
    /// With `[directory]` only: the alias's SPNs and its AD DNS record, after PublishAlias in the
    /// state machine (and on the schedule). The only function that reaches Active Directory:
    /// it runs in the VPC and reads the bind secret.
    Directory,
}

impl Function {
    /// All five, in template order ([`Function::Directory`] is deployed only with `[directory]`:
    /// template.yaml's condition `HasDirectory`).
    pub const ALL: [Function; 5] = [
        Self::Provision,
        Self::Heal,
        Self::PublishAlias,
        Self::Reconcile,
        Self::Directory,
    ];

    /// The function's logical ID in template.yaml.
    pub fn template_resource(self) -> &'static str {
        match self {
            Self::Provision => "ProvisionFunction",
            Self::Heal => "HealFunction",
            Self::PublishAlias => "PublishAliasFunction",
            Self::Reconcile => "ReconcileFunction",
            Self::Directory => "DirectoryFunction",
        }
    }

    /// The part of the world it reconciles: Provision and Heal the infrastructure, PublishAlias
    /// the DNS records, Directory the SPNs and AD DNS records, Reconcile everything else (with
    /// no access to the directory, it leaves that to Directory). The IAM capabilities of its role follow from it
    /// (`fsxn_lattice_lambda::FunctionCapabilities`).
    pub fn scope(self) -> Scope {
        match self {
            Self::Provision | Self::Heal => Scope::Infrastructure,
            Self::PublishAlias => Scope::Dns,
            Self::Reconcile => Scope::All,
            Self::Directory => Scope::Directory,
        }
    }

    fn accepts(self, t: &Trigger) -> bool {
        match (self, t) {
            (_, Trigger::Ignored { .. }) => false,
            (Self::Reconcile, _) => true,
            (
                Self::Provision | Self::PublishAlias | Self::Directory,
                Trigger::FsxChanged { .. } | Trigger::ReconcileAll { .. },
            ) => true,
            (Self::Heal, Trigger::GatewayCapacityExhausted { .. } | Trigger::ReconcileAll { .. }) => true,
            _ => false,
        }
    }
}

/// A function failed. `kind.as_str()` becomes the Lambda `errorType` (the lambda crate's
/// `diagnostic`), which is what Step Functions' `Retry`/`Catch` match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct FunctionError {
    /// Stable type.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

/// One applied action, as the output reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAction {
    /// Summary.
    pub action: String,
    /// Why it was planned.
    pub why: String,
    /// Outcome.
    pub outcome: String,
}

/// What a step's output tells the state machine to do next (its `Provisioned` Choice matches
/// these strings, so they are public API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// `converged`: nothing left to do in this function's scope.
    Converged,
    /// `waiting`: something is being created or deleted; poll again.
    Waiting,
    /// `ignored`: the trigger is not this function's.
    Ignored,
}

impl StepStatus {
    /// The string the output carries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::Waiting => "waiting",
            Self::Ignored => "ignored",
        }
    }
}

/// The typed output for the next state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutput {
    /// Which function produced it.
    pub function: Function,
    /// Whether the state machine publishes, polls again, or ends.
    pub status: StepStatus,
    /// The trigger, when an event started it.
    pub trigger: Option<Trigger>,
    /// Passes made.
    pub passes: u32,
    /// What was applied.
    pub applied: Vec<AppliedAction>,
    /// What is still being waited for.
    pub waiting: Vec<String>,
    /// Actions left to another function (e.g. the alias, for publish-alias).
    pub deferred: usize,
    /// Warnings.
    pub warnings: Vec<String>,
    /// Refusals (subject: reason).
    pub refusals: Vec<String>,
    /// Capacity of the subnets decisions were based on (heal: the event's subnet first).
    pub diagnoses: Vec<SubnetCapacity>,
    /// Steps left to a person.
    pub manual_steps: Vec<String>,
    /// Deletions held for the Directory function ([`crate::plan::Plan::held_for_directory`]).
    #[serde(default)]
    pub held_for_directory: Vec<String>,
    /// What is kept because a consumer account cannot be read
    /// ([`crate::plan::Plan::held_for_accounts`]); its consumers are among the refusals.
    #[serde(default)]
    pub held_for_accounts: Vec<String>,
}

impl StepOutput {
    /// The output of `function` for `trigger` before anything was done: no pass, nothing
    /// applied, waited for or reported.
    pub fn new(function: Function, status: StepStatus, trigger: Option<Trigger>) -> Self {
        Self {
            function,
            status,
            trigger,
            passes: 0,
            applied: Vec::new(),
            waiting: Vec::new(),
            deferred: 0,
            warnings: Vec::new(),
            refusals: Vec::new(),
            diagnoses: Vec::new(),
            manual_steps: Vec::new(),
            held_for_directory: Vec::new(),
            held_for_accounts: Vec::new(),
        }
    }
}

/// Decodes a payload: an EventBridge event (it has `detail-type`) becomes a trigger; any other
/// JSON object is a Step Functions input and means "reconcile"; anything else is invalid.
pub fn decode(payload: &Value) -> Result<Option<Trigger>, FunctionError> {
    let invalid = |message: String| FunctionError {
        kind: ErrorKind::InvalidInput,
        message,
    };
    match payload {
        Value::Object(o) if o.contains_key("detail-type") => {
            classify(payload).map(Some).map_err(|e| invalid(e.to_string()))
        }
        Value::Object(_) => Ok(None),
        other => Err(invalid(format!(
            "expected an EventBridge event or a Step Functions input object, got {}",
            kind_of(other)
        ))),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Runs `function` for `payload`: decode, (heal: diagnose), one scoped reconcile without
/// in-Lambda waiting (Step Functions polls), then map the result to an output or a typed error.
pub async fn step<C: Cloud + ?Sized>(
    cloud: &C,
    config: &Config,
    function: Function,
    payload: &Value,
) -> Result<StepOutput, FunctionError> {
    step_observed(cloud, config, function, payload, &mut |_| {}).await
}

/// [`step`], telling `progress` every pass planned and action applied as the reconcile makes
/// them (the simulation counts passes with it, whether the step then succeeds or fails).
pub async fn step_observed<C: Cloud + ?Sized>(
    cloud: &C,
    config: &Config,
    function: Function,
    payload: &Value,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<StepOutput, FunctionError> {
    match function.scope() {
        Scope::All => step_in::<AllScope, C>(cloud, config, function, payload, progress).await,
        Scope::Infrastructure => step_in::<InfrastructureScope, C>(cloud, config, function, payload, progress).await,
        Scope::Dns => step_in::<DnsScope, C>(cloud, config, function, payload, progress).await,
        Scope::Directory => step_in::<DirectoryScope, C>(cloud, config, function, payload, progress).await,
    }
}

/// [`step_observed`] for a function of scope `S`, on a cloud with the reads and only the writes
/// of `S`: PublishAlias needs no EC2 or VPC Lattice writes, Provision and Heal no Route 53
/// writes, as their IAM roles in template.yaml. A `function` of another scope is an `Internal`
/// error.
///
/// ```no_run
/// # use fsxn_lattice_core::{apply::DnsScope, config::Config, ports::*, step::*};
/// async fn publish_alias<C: Reads + DnsWrite>(cloud: &C, config: &Config) {
///     let _ = step_in::<DnsScope, C>(cloud, config, Function::PublishAlias, &serde_json::json!({}), &mut |_| {}).await;
/// }
/// ```
/// Provision needs the infrastructure writes, which that cloud lacks:
/// ```compile_fail,E0277
/// # use fsxn_lattice_core::{apply::InfrastructureScope, config::Config, ports::*, step::*};
/// async fn provision<C: Reads + DnsWrite>(cloud: &C, config: &Config) {
///     let _ = step_in::<InfrastructureScope, C>(cloud, config, Function::Provision, &serde_json::json!({}), &mut |_| {}).await;
/// }
/// ```
pub async fn step_in<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    config: &Config,
    function: Function,
    payload: &Value,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<StepOutput, FunctionError> {
    check_scope::<S>(function)?;
    match triage(function, payload)? {
        Triage::Ignored(out) => Ok(*out),
        Triage::Run(trigger) => run_in::<S, C>(cloud, config, function, trigger, progress).await,
    }
}

fn check_scope<S: ScopeType>(function: Function) -> Result<(), FunctionError> {
    if function.scope() == S::SCOPE {
        return Ok(());
    }
    Err(FunctionError {
        kind: ErrorKind::Internal,
        message: format!("{function:?} reconciles {:?}, not {:?}", function.scope(), S::SCOPE),
    })
}

/// What a payload asks of a function, decided without any AWS call: a Lambda answers
/// [`Triage::Ignored`] before it has loaded the SDK configuration or built a client.
#[derive(Debug, Clone, PartialEq)]
pub enum Triage {
    /// The function does not handle this trigger: the output to return (status `ignored`, the
    /// reason in `warnings`).
    Ignored(Box<StepOutput>),
    /// Run [`run_in`] for this trigger (`None`: a Step Functions input, reconcile the scope).
    Run(Option<Trigger>),
}

/// Decodes `payload` and decides whether `function` handles it. `InvalidInput` for a payload
/// that is neither an EventBridge event nor a Step Functions input object.
pub fn triage(function: Function, payload: &Value) -> Result<Triage, FunctionError> {
    let trigger = decode(payload)?;
    if let Some(t) = &trigger
        && !function.accepts(t)
    {
        let mut out = StepOutput::new(function, StepStatus::Ignored, trigger.clone());
        out.warnings.push(match t {
            Trigger::Ignored { reason } => reason.clone(),
            other => format!("{:?} does not handle {} triggers", function, other.name()),
        });
        info!(function = ?function, trigger = t.name(), "ignored");
        return Ok(Triage::Ignored(Box::new(out)));
    }
    Ok(Triage::Run(trigger))
}

/// The rest of [`step_in`] once [`triage`] said [`Triage::Run`]: (heal: diagnose), one scoped
/// reconcile, and the output or typed error. A `function` of another scope than `S` is an
/// `Internal` error.
pub async fn run_in<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    config: &Config,
    function: Function,
    trigger: Option<Trigger>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<StepOutput, FunctionError> {
    check_scope::<S>(function)?;
    let mut out = StepOutput::new(function, StepStatus::Converged, trigger.clone());
    if let (
        Function::Heal,
        Some(Trigger::GatewayCapacityExhausted {
            subnet_id: Some(subnet),
            ..
        }),
    ) = (function, &trigger)
    {
        // Diagnose first: the output says why the ENI failed (free addresses vs free /28).
        let gates = Gates::new(Concurrency::default());
        let (observed, _) = observe_cached(cloud, config, &STEP_RETRY, &gates, &mut ZoneCache::default(), false)
            .await
            .map_err(|e| FunctionError {
                kind: e.kind,
                message: e.to_string(),
            })?;
        if let Some(s) = observed.subnets.iter().find(|s| &s.id == subnet) {
            let c = analyze_subnet(s, &observed.network_interfaces, &observed.cidr_reservations);
            info!(subnet = %subnet, free_addresses = c.free_addresses, free_blocks = c.free_prefix_blocks.len(), "diagnosed");
            out.diagnoses.push(c);
        } else {
            warn!(subnet = %subnet, "the event's subnet is not in an FSx VPC this deployment watches");
        }
    }
    let mut options = ReconcileOptions {
        max_passes: 10,
        poll_interval: Duration::ZERO,
        scope: function.scope(),
        directory: function == Function::Directory,
        ..Default::default()
    };
    options.apply.retry = retry_policy(function);
    let report = reconcile_in::<S, C>(cloud, config, &options, &mut |p| {
        if let Progress::Applied { applied, .. } = &p {
            info!(action = %applied.action.action.summary(), why = %applied.action.why, outcome = ?applied.outcome, attempts = applied.attempts, "applied");
        }
        progress(&p);
    })
    .await;
    out.passes = report.passes;
    out.deferred = report.deferred;
    out.applied = report
        .applied
        .iter()
        .map(|a| AppliedAction {
            action: a.action.action.summary(),
            why: a.action.why.clone(),
            outcome: match &a.outcome {
                Outcome::Done { detail } | Outcome::AlreadyDone { detail } | Outcome::Deferred { detail } => {
                    detail.clone()
                }
            },
        })
        .collect();
    let plan = &report.last_plan;
    let exhausted: Vec<String> = plan
        .refusals
        .iter()
        .filter(|r| r.kind == ErrorKind::CapacityExhausted)
        .map(|r| format!("{}: {} ({})", r.subject, r.reason, r.kind))
        .collect();
    out.waiting = plan.waiting.clone();
    out.warnings.extend(plan.warnings.iter().cloned());
    out.refusals = plan
        .refusals
        .iter()
        .map(|r| format!("{}: {} ({})", r.subject, r.reason, r.kind))
        .collect();
    out.diagnoses.extend(
        plan.diagnoses
            .iter()
            .filter(|d| !out.diagnoses.iter().any(|x| x.subnet_id == d.subnet_id))
            .cloned()
            .collect::<Vec<_>>(),
    );
    out.manual_steps = plan.manual_steps.iter().map(|m| m.instruction.clone()).collect();
    out.held_for_directory = plan.held_for_directory.clone();
    out.held_for_accounts = plan.held_for_accounts.clone();
    info!(function = ?function, status = ?report.status, passes = report.passes, applied = out.applied.len(), waiting = out.waiting.len(), "reconciled");
    if let Some(kind) = report.error_type() {
        let message = match (&report.error, report.status) {
            (Some(e), _) => e.to_string(),
            (None, ReconcileStatus::PassBudgetExhausted) => {
                format!("still planning after {} passes", report.passes)
            }
            (None, _) => "stopped".into(),
        };
        return Err(FunctionError { kind, message });
    }
    if report.status == ReconcileStatus::Waiting {
        out.status = StepStatus::Waiting;
    }
    if matches!(function.scope(), Scope::Infrastructure | Scope::All) && !exhausted.is_empty() {
        return Err(FunctionError {
            kind: ErrorKind::CapacityExhausted,
            message: exhausted.join("; "),
        });
    }
    if matches!(function, Function::PublishAlias | Function::Directory) && out.status == StepStatus::Waiting {
        let waits = if function == Function::Directory && !plan.directory_waiting.is_empty() {
            &plan.directory_waiting
        } else {
            &out.waiting
        };
        return Err(FunctionError {
            kind: ErrorKind::NotReady,
            message: waits.join("; "),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CloudError;
    use crate::ids::*;
    use crate::model::*;
    use crate::ports::*;
    use async_trait::async_trait;

    /// A cloud with every read and the Route 53 writes, but no EC2 or VPC Lattice writes: what
    /// PublishAlias's IAM role allows. An empty account; its hosted zone is missing.
    struct DnsOnly;

    #[async_trait]
    impl FsxRead for DnsOnly {
        async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
            Ok(vec![])
        }
        async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
            Ok(vec![])
        }
    }

    #[async_trait]
    impl NetworkRead for DnsOnly {
        async fn describe_vpcs(&self, _: &[VpcId], _: VpcAttributes) -> CloudResult<Vec<Vpc>> {
            Ok(vec![])
        }
        async fn describe_subnets(&self, _: &VpcId) -> CloudResult<Vec<Subnet>> {
            Ok(vec![])
        }
        async fn describe_network_interfaces(&self, _: &VpcId) -> CloudResult<Vec<NetworkInterface>> {
            Ok(vec![])
        }
        async fn describe_route_tables(&self, _: &VpcId) -> CloudResult<Vec<RouteTable>> {
            Ok(vec![])
        }
        async fn get_subnet_cidr_reservations(&self, _: &SubnetId) -> CloudResult<Vec<CidrReservation>> {
            Ok(vec![])
        }
        async fn describe_resource_endpoints(&self, _: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>> {
            Ok(vec![])
        }
    }

    #[async_trait]
    impl LatticeRead for DnsOnly {
        async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>> {
            Ok(vec![])
        }
        async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>> {
            Ok(vec![])
        }
        async fn list_service_network_associations(
            &self,
            _: &ResourceConfigurationId,
        ) -> CloudResult<Vec<ServiceNetworkAssociation>> {
            Ok(vec![])
        }
        async fn list_domain_verifications(&self) -> CloudResult<Vec<DomainVerification>> {
            Ok(vec![])
        }
    }

    #[async_trait]
    impl DnsRead for DnsOnly {
        async fn get_hosted_zone(&self, _: &HostedZoneId) -> CloudResult<HostedZone> {
            Err(CloudError::new(
                ErrorKind::NotFound,
                "GetHostedZone",
                "NoSuchHostedZone",
                "none",
            ))
        }
        async fn list_resource_record_sets(&self, _: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
            Ok(vec![])
        }
    }

    #[async_trait]
    impl DnsWrite for DnsOnly {
        async fn change_resource_record_sets(&self, _: &HostedZoneId, _: &[RecordChange]) -> CloudResult<String> {
            Ok("C1".into())
        }
        async fn get_change(&self, _: &str) -> CloudResult<ChangeStatus> {
            Ok(ChangeStatus::Insync)
        }
    }

    impl DirectoryAccess for DnsOnly {}
    impl AccountAccess for DnsOnly {}

    #[async_trait]
    impl Clock for DnsOnly {
        fn now(&self) -> u64 {
            0
        }
        async fn sleep(&self, _: Duration) {}
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    /// The ports split means something: PublishAlias runs on a cloud that cannot write EC2 or
    /// VPC Lattice (Provision on it does not compile: the `compile_fail` example of
    /// [`step_in`]), and a function is refused by the entry point of another scope.
    #[test]
    fn publish_alias_runs_on_a_cloud_without_infrastructure_writes() {
        let config = Config::from_toml(
            r#"
owner = "t"
[gateway]
security_group_ids = ["sg-1"]
[[consumers]]
name = "c"
vpc_id = "vpc-2"
subnet_ids = ["subnet-c1"]
hosted_zone_id = "ZONE1"
"#,
        )
        .expect("config");
        let run = |f| {
            pollster::block_on(step_in::<DnsScope, _>(
                &DnsOnly,
                &config,
                f,
                &Value::from(serde_json::Map::new()),
                &mut |_| {},
            ))
        };
        let out = run(Function::PublishAlias).expect("an empty account converges");
        assert_eq!(
            (out.function, out.status, out.passes),
            (Function::PublishAlias, StepStatus::Converged, 1)
        );
        let err = run(Function::Provision).expect_err("Provision is not of the DNS scope");
        assert_eq!(err.kind, ErrorKind::Internal);
    }

    #[test]
    fn only_the_scheduled_reconcile_retries_calls_with_the_full_budget() {
        assert_eq!(retry_policy(Function::Reconcile), RetryPolicy::default());
        assert!(RetryPolicy::default().max_attempts > STEP_RETRY.max_attempts);
        for f in [Function::Provision, Function::Heal, Function::PublishAlias] {
            assert_eq!(retry_policy(f), STEP_RETRY, "{f:?} runs under Step Functions' Retry");
        }
    }

    #[test]
    fn the_output_carries_the_status_strings_the_state_machine_matches() {
        for (status, text) in [
            (StepStatus::Converged, "converged"),
            (StepStatus::Waiting, "waiting"),
            (StepStatus::Ignored, "ignored"),
        ] {
            assert_eq!(serde_json::to_value(status).ok(), Some(Value::from(text)));
            assert_eq!(status.as_str(), text);
            assert_eq!(
                serde_json::from_value::<StepStatus>(Value::from(text)).ok(),
                Some(status)
            );
        }
        let out = StepOutput {
            passes: 1,
            waiting: vec!["vpce-1 is pending".into()],
            ..StepOutput::new(Function::PublishAlias, StepStatus::Waiting, None)
        };
        let v = serde_json::to_value(&out).unwrap_or_default();
        assert_eq!(v["status"], "waiting");
        assert_eq!(v["function"], "publish-alias");
    }
}
