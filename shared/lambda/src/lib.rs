//! What every fsxn-lattice Lambda shares: the configuration read from the environment once per
//! cold start, the SDK clients, and [`step`] — one scoped reconcile that a function runs for its
//! trigger, returning a typed output for the next state or an error whose `error_type` is one of
//! the stable names Step Functions' `Retry`/`Catch` match ([`ErrorKind::as_str`]).

use fsxn_lattice_aws::iam::Capability;
use fsxn_lattice_aws::{AwsCloud, AwsOptions, load_sdk_config};
use fsxn_lattice_core::apply::RetryPolicy;
use fsxn_lattice_core::capacity::{SubnetCapacity, analyze_subnet};
use fsxn_lattice_core::config::{Config, ConfigError};
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::events::{Trigger, classify};
use fsxn_lattice_core::ports::Cloud;
use fsxn_lattice_core::reconcile::{Progress, ReconcileOptions, ReconcileStatus, Scope, observe, reconcile};
use lambda_runtime::Diagnostic;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use tracing::{info, warn};

/// The environment variable that holds the configuration file's TOML (docs/config.md); the
/// SAM template assembles it from the stack parameters.
pub const CONFIG_ENV: &str = "FSXN_LATTICE_CONFIG";

/// A cold start could not complete. The message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The variable is missing.
    #[error("environment variable {0} is not set (the SAM template sets it from the stack parameters)")]
    Missing(&'static str),
    /// The variable does not hold a valid configuration.
    #[error("environment variable {var}: {source}")]
    BadConfig {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
}

/// Reads and validates the configuration from an environment lookup.
pub fn config_from_env(get: impl Fn(&str) -> Option<String>) -> Result<Config, InitError> {
    let text = get(CONFIG_ENV)
        .filter(|t| !t.trim().is_empty())
        .ok_or(InitError::Missing(CONFIG_ENV))?;
    Config::from_toml(&text).map_err(|source| InitError::BadConfig {
        var: CONFIG_ENV,
        source,
    })
}

/// What a function holds across invocations.
#[derive(Debug)]
pub struct Runtime {
    /// The clients.
    pub cloud: AwsCloud,
    /// The configuration.
    pub config: Config,
}

impl Runtime {
    /// Reads the configuration and builds the SDK clients, once per cold start.
    pub async fn from_env() -> Result<Self, InitError> {
        let config = config_from_env(|k| std::env::var(k).ok())?;
        let sdk = load_sdk_config(&AwsOptions::default()).await;
        Ok(Self {
            cloud: AwsCloud::new(&sdk),
            config,
        })
    }
}

/// In-function retries stay short: Step Functions retries `Transient` again with backoff and
/// jitter, and the Lambda timeout bounds the whole step.
const STEP_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    base_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(5),
};

/// The four functions.
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
}

impl Function {
    /// The four, in template order.
    pub const ALL: [Function; 4] = [Self::Provision, Self::Heal, Self::PublishAlias, Self::Reconcile];

    /// The function's logical ID in template.yaml.
    pub fn template_resource(self) -> &'static str {
        match self {
            Self::Provision => "ProvisionFunction",
            Self::Heal => "HealFunction",
            Self::PublishAlias => "PublishAliasFunction",
            Self::Reconcile => "ReconcileFunction",
        }
    }

    /// The IAM capabilities its role needs ([`fsxn_lattice_aws::iam`]), from the scope it
    /// reconciles: every function observes (reads) first; then infrastructure, DNS or both.
    pub fn capabilities(self) -> &'static [Capability] {
        match self.scope() {
            Scope::Infrastructure => &[Capability::Read, Capability::Infrastructure],
            Scope::Dns => &[Capability::Read, Capability::Dns],
            Scope::All => &[Capability::Read, Capability::Infrastructure, Capability::Dns],
        }
    }

    fn scope(self) -> Scope {
        match self {
            Self::Provision | Self::Heal => Scope::Infrastructure,
            Self::PublishAlias => Scope::Dns,
            Self::Reconcile => Scope::All,
        }
    }

    fn accepts(self, t: &Trigger) -> bool {
        match (self, t) {
            (_, Trigger::Ignored { .. }) => false,
            (Self::Reconcile, _) => true,
            (Self::Provision | Self::PublishAlias, Trigger::FsxChanged { .. } | Trigger::ReconcileAll { .. }) => true,
            (Self::Heal, Trigger::GatewayCapacityExhausted { .. } | Trigger::ReconcileAll { .. }) => true,
            _ => false,
        }
    }
}

/// A function failed. `kind.as_str()` becomes the Lambda `errorType`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct FunctionError {
    /// Stable type.
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic {
            error_type: e.kind.as_str().to_string(),
            error_message: e.message,
        }
    }
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

/// The typed output for the next state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutput {
    /// Which function produced it.
    pub function: Function,
    /// `converged`, `waiting` (poll again) or `ignored`.
    pub status: String,
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
    let trigger = decode(payload)?;
    let mut out = StepOutput {
        function,
        status: "converged".into(),
        trigger: trigger.clone(),
        passes: 0,
        applied: Vec::new(),
        waiting: Vec::new(),
        deferred: 0,
        warnings: Vec::new(),
        refusals: Vec::new(),
        diagnoses: Vec::new(),
        manual_steps: Vec::new(),
    };
    if let Some(t) = &trigger
        && !function.accepts(t)
    {
        out.status = "ignored".into();
        out.warnings.push(match t {
            Trigger::Ignored { reason } => reason.clone(),
            other => format!("{:?} does not handle {} triggers", function, other.name()),
        });
        info!(function = ?function, trigger = t.name(), "ignored");
        return Ok(out);
    }
    if let (
        Function::Heal,
        Some(Trigger::GatewayCapacityExhausted {
            subnet_id: Some(subnet),
            ..
        }),
    ) = (function, &trigger)
    {
        // Diagnose first: the output says why the ENI failed (free addresses vs free /28).
        let (observed, _) = observe(cloud, config, &STEP_RETRY).await.map_err(|e| FunctionError {
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
        ..Default::default()
    };
    options.apply.retry = STEP_RETRY;
    let report = reconcile(cloud, config, &options, &mut |p| {
        if let Progress::Applied { applied, .. } = p {
            info!(action = %applied.action.action.summary(), why = %applied.action.why, outcome = ?applied.outcome, attempts = applied.attempts, "applied");
        }
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
            outcome: serde_json::to_value(&a.outcome)
                .ok()
                .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
                .unwrap_or_default(),
        })
        .collect();
    let plan = &report.last_plan;
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
    info!(function = ?function, status = ?report.status, passes = report.passes, applied = out.applied.len(), waiting = out.waiting.len(), "reconciled");
    match report.status {
        ReconcileStatus::Converged => {}
        ReconcileStatus::Waiting => out.status = "waiting".into(),
        ReconcileStatus::Failed | ReconcileStatus::Interrupted => {
            let e = report
                .error
                .map(|e| (e.kind, e.to_string()))
                .unwrap_or((ErrorKind::Internal, "stopped".into()));
            return Err(FunctionError {
                kind: e.0,
                message: e.1,
            });
        }
        ReconcileStatus::PassBudgetExhausted => {
            return Err(FunctionError {
                kind: ErrorKind::Transient,
                message: format!("still planning after {} passes", report.passes),
            });
        }
    }
    let exhausted: Vec<&String> = out
        .refusals
        .iter()
        .filter(|r| r.ends_with("(CapacityExhausted)"))
        .collect();
    if function.scope() != Scope::Dns && !exhausted.is_empty() {
        return Err(FunctionError {
            kind: ErrorKind::CapacityExhausted,
            message: exhausted.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; "),
        });
    }
    if function == Function::PublishAlias && out.status == "waiting" {
        return Err(FunctionError {
            kind: ErrorKind::NotReady,
            message: out.waiting.join("; "),
        });
    }
    Ok(out)
}

/// Serves a function under the Lambda runtime: JSON logs, configuration and clients built once.
pub async fn serve(function: Function) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let runtime = Runtime::from_env()
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    let runtime = &runtime;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            step(&runtime.cloud, &runtime.config, function, &event.payload).await
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsxn_lattice_core::config::tag_keys;
    use fsxn_lattice_sim::scenario::{ALIAS, SVM_ID, seed_world};
    use pollster::block_on;

    fn event(name: &str) -> Value {
        serde_json::from_slice(&std::fs::read(format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap())
            .unwrap()
    }

    #[test]
    fn the_configuration_comes_from_one_variable_and_errors_name_it() {
        let err = config_from_env(|_| None).unwrap_err().to_string();
        assert!(err.contains(CONFIG_ENV), "{err}");
        let err = config_from_env(|_| Some("owner = 1".into())).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("environment variable {CONFIG_ENV}: invalid configuration")),
            "{err}"
        );
        let ok = config_from_env(|_| Some(fsxn_lattice_sim::scenario::SEED_CONFIG.into())).unwrap();
        assert_eq!(ok.owner, "demo");
    }

    #[test]
    fn payloads_decode_into_triggers_or_step_input_or_invalid_input() {
        assert!(matches!(
            decode(&event("fsx-tag-resource-svm.json")),
            Ok(Some(Trigger::FsxChanged { .. }))
        ));
        assert_eq!(decode(&serde_json::json!({"status": "waiting"})), Ok(None));
        for bad in [
            serde_json::json!(null),
            serde_json::json!([1]),
            serde_json::json!({"detail-type": "AWS API Call via CloudTrail"}),
        ] {
            assert_eq!(decode(&bad).unwrap_err().kind, ErrorKind::InvalidInput, "{bad}");
        }
        let d: Diagnostic = FunctionError {
            kind: ErrorKind::NotReady,
            message: "m".into(),
        }
        .into();
        assert_eq!(d.error_type, "NotReady");
    }

    #[test]
    fn provision_then_heal_then_publish_alias_run_the_seed_loop_in_the_simulated_cloud() {
        let w = seed_world(21);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let tag_event = w.cloud.drain_events().remove(0);
        // Provision: pinned subnets, endpoint created and pending.
        let out = block_on(step(&w.cloud, &w.config, Function::Provision, &tag_event)).unwrap();
        assert_eq!(out.status, "waiting");
        assert!(
            out.applied
                .iter()
                .any(|a| a.action.starts_with("create Resource VPC endpoint"))
        );
        // Publishing now is too early: NotReady, for Step Functions to retry.
        let early = block_on(step(
            &w.cloud,
            &w.config,
            Function::PublishAlias,
            &serde_json::json!({}),
        ))
        .unwrap_err();
        assert_eq!(early.kind, ErrorKind::NotReady);
        // The ENI fails; the CloudTrail event goes to heal, which diagnoses and replaces.
        w.cloud.advance(Duration::from_secs(15));
        let failure = w
            .cloud
            .drain_events()
            .into_iter()
            .find(|e| e["detail"]["errorCode"].is_string())
            .unwrap();
        assert!(
            block_on(step(&w.cloud, &w.config, Function::Provision, &failure))
                .unwrap()
                .status
                == "ignored"
        );
        let healed = block_on(step(&w.cloud, &w.config, Function::Heal, &failure)).unwrap();
        assert_eq!(healed.diagnoses[0].free_addresses, 212);
        assert!(healed.diagnoses[0].free_prefix_blocks.is_empty());
        assert!(
            healed
                .applied
                .iter()
                .any(|a| a.action.starts_with("create subnet") || a.action.starts_with("reserve"))
        );
        // Step Functions polls provision until the endpoint is available, then publishes.
        let mut status = String::new();
        for _ in 0..40 {
            w.cloud.advance(Duration::from_secs(15));
            let out = block_on(step(&w.cloud, &w.config, Function::Provision, &serde_json::json!({}))).unwrap();
            status = out.status.clone();
            if status == "converged" {
                assert_eq!(out.deferred, 1, "the alias is left to publish-alias");
                break;
            }
        }
        assert_eq!(status, "converged");
        let published = block_on(step(
            &w.cloud,
            &w.config,
            Function::PublishAlias,
            &serde_json::json!({}),
        ))
        .unwrap();
        assert!(
            published.applied.iter().any(|a| a.action.starts_with("UPSERT CNAME")),
            "{published:?}"
        );
        assert!(
            published
                .manual_steps
                .iter()
                .any(|m| m.contains("msDS-AdditionalDnsHostname"))
        );
        let nothing = block_on(step(
            &w.cloud,
            &w.config,
            Function::Reconcile,
            &event("scheduled-reconcile.json"),
        ))
        .unwrap();
        assert!(
            nothing.applied.is_empty() && nothing.status == "converged",
            "{nothing:?}"
        );
    }

    #[test]
    fn heal_without_carving_fails_with_capacity_exhausted() {
        let w = seed_world(22);
        let no_carving = Config::from_toml(
            &fsxn_lattice_sim::scenario::SEED_CONFIG
                .replace("allow_subnet_creation = true", "allow_subnet_creation = false"),
        )
        .unwrap();
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
        let tag_event = w.cloud.drain_events().remove(0);
        block_on(step(&w.cloud, &no_carving, Function::Provision, &tag_event)).unwrap();
        w.cloud.advance(Duration::from_secs(15));
        let failure = w
            .cloud
            .drain_events()
            .into_iter()
            .find(|e| e["detail"]["errorCode"].is_string())
            .unwrap();
        let err = block_on(step(&w.cloud, &no_carving, Function::Heal, &failure)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::CapacityExhausted, "{err}");
        assert!(err.message.contains("allow_subnet_creation is off"), "{err}");
    }
}
