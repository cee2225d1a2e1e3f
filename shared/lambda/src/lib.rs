//! What every fsxn-lattice Lambda shares: the configuration read from the environment once per
//! cold start, the SDK clients (built on first use, allowed only the writes of the function's
//! scope), and [`step`] — one scoped reconcile that a function runs for its
//! trigger, returning a typed output for the next state or an error whose `error_type` is one of
//! the stable names Step Functions' `Retry`/`Catch` match
//! ([`fsxn_lattice_core::error::ErrorKind::as_str`]). The step itself lives in the SDK-free core
//! ([`fsxn_lattice_core::step`]) so the simulation runs the same code; it is re-exported here.

use fsxn_lattice_aws::iam::Capability;
use fsxn_lattice_aws::{AwsCloud, AwsOptions, load_sdk_config};
pub use fsxn_lattice_core::apply::{AllScope, DirectoryScope, DnsScope, Executes, InfrastructureScope, ScopeType};
use fsxn_lattice_core::config::{Config, ConfigError};
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::reconcile::Scope;
pub use fsxn_lattice_core::step::{
    AppliedAction, Function, FunctionError, StepOutput, StepStatus, Triage, decode, run_in, step, triage,
};
use lambda_runtime::Diagnostic;
use serde_json::Value;
use std::sync::Arc;

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

/// What a function holds across invocations, built once per cold start: its configuration
/// and, on first use, its SDK clients allowed the writes of scope `S` (not the Lambda runtime —
/// that is `lambda_runtime`, which [`serve`] runs). The clients are built lazily: an invocation
/// that [`triage`] answers without AWS (an event the function ignores) never loads the SDK
/// configuration.
#[derive(Debug)]
pub struct FunctionContext<S: ScopeType> {
    /// The configuration from `FSXN_LATTICE_CONFIG`.
    pub config: Config,
    cloud: tokio::sync::OnceCell<AwsCloud<S>>,
}

impl<S: ScopeType> FunctionContext<S> {
    /// Reads and validates the configuration, once per cold start; no AWS call, no SDK.
    pub fn from_env() -> Result<Self, InitError> {
        Ok(Self::new(config_from_env(|k| std::env::var(k).ok())?))
    }

    /// A context for `config` whose clients are built on first use.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            cloud: tokio::sync::OnceCell::new(),
        }
    }

    /// The SDK clients, built on the first call (the standard credential and region chain),
    /// with RAM and STS when the configuration lists `[[accounts]]` and the scope reaches them
    /// ([`AwsCloud::for_config`]): the consumer accounts' sessions then live as long as the
    /// sandbox, their credentials renewed through STS.
    pub async fn cloud(&self) -> &AwsCloud<S> {
        self.cloud
            .get_or_init(|| async {
                AwsCloud::for_config(&load_sdk_config(&AwsOptions::default()).await, &self.config)
            })
            .await
    }

    /// Runs `function` (of scope `S`) for `payload`: [`triage`] first, then, if there is work,
    /// [`run_in`] on the clients with what the scope attaches for the invocation ([`Attach`]).
    pub async fn handle(&self, function: Function, payload: &Value) -> Result<StepOutput, FunctionError>
    where
        S: Attach,
        AwsCloud<S>: Executes<S>,
    {
        match triage(function, payload)? {
            Triage::Ignored(out) => Ok(*out),
            Triage::Run(trigger) => {
                let cloud = S::attach(self.cloud().await, &self.config).await?;
                run_in::<S, AwsCloud<S>>(&cloud, &self.config, function, trigger, &mut |_| {}).await
            }
        }
    }
}

/// What a scope's function adds to its clients for one invocation: nothing, but for the
/// Directory function, which connects to Active Directory with the bind secret.
#[allow(async_fn_in_trait)] // called only here, on concrete scopes; never `dyn`
pub trait Attach: ScopeType + Sized {
    /// The clients for one invocation.
    async fn attach(cloud: &AwsCloud<Self>, _config: &Config) -> Result<AwsCloud<Self>, FunctionError> {
        Ok(cloud.clone())
    }
}

impl Attach for AllScope {}
impl Attach for InfrastructureScope {}
impl Attach for DnsScope {}

/// Reads the bind secret (`secretsmanager:GetSecretValue` on `[directory] secret_arn`, the only
/// secret its role may read) and connects to a domain controller over LDAPS or StartTLS, for
/// each invocation: a connection kept in a frozen sandbox would be dropped by the DC's idle
/// timeout, and a rotated password is picked up at the next invocation. The secret's text is
/// never logged; a secret that is not `{"username": …, "password": …}` is `InvalidInput`.
impl Attach for DirectoryScope {
    async fn attach(cloud: &AwsCloud<Self>, config: &Config) -> Result<AwsCloud<Self>, FunctionError> {
        use fsxn_lattice_directory::{Credentials, Directory, DirectorySettings, LdapDirectory, port::to_cloud_error};
        let failed = |e: CloudError| FunctionError {
            kind: e.kind,
            message: e.to_string(),
        };
        let Some(settings) = &config.directory else {
            return Err(FunctionError {
                kind: ErrorKind::InvalidInput,
                message: format!("the Directory function needs a [directory] section in {CONFIG_ENV}"),
            });
        };
        let secret = cloud
            .secrets
            .get_secret_string(&settings.secret_arn)
            .await
            .map_err(failed)?;
        let credentials = Credentials::from_secret_json(&secret).map_err(|e| failed(to_cloud_error(e)))?;
        // The CA bundle may come with the secret (a PEM chain does not fit a stack parameter);
        // the configuration's own wins.
        let mut connection = DirectorySettings::from(settings);
        if connection.tls.ca_bundle_pem.is_none() {
            connection.tls.ca_bundle_pem =
                Credentials::ca_bundle_from_secret_json(&secret).map_err(|e| failed(to_cloud_error(e)))?;
        }
        drop(secret);
        let directory = Directory::connect(&connection, &credentials)
            .await
            .map_err(|e| failed(to_cloud_error(e)))?;
        tracing::info!(controller = directory.controller(), "connected to the directory");
        Ok(cloud.clone().with_directory(Arc::new(LdapDirectory::new(directory))))
    }
}

/// The IAM capabilities a function's role needs ([`fsxn_lattice_aws::iam`]), from the scope it
/// reconciles: every function observes (reads) first; then infrastructure, DNS or both. Kept
/// here, beside the SDK, so the core stays free of it.
pub trait FunctionCapabilities {
    /// The capabilities.
    fn capabilities(self) -> &'static [Capability];
    /// What it needs besides when the stack serves consumers in other accounts
    /// (`[[accounts]]`; template.yaml `ConsumerAccountRoleArns`): every function reads our RAM
    /// shares and assumes the consumer roles (the Directory function plans the SPNs and AD DNS
    /// of their consumers from what it reads there), and those that change the infrastructure
    /// change the shares. What the functions do in a consumer account is the
    /// consumer role's ([`fsxn_lattice_aws::iam::CONSUMER_OPERATIONS`]), not theirs.
    fn account_capabilities(self) -> &'static [Capability];
}

impl FunctionCapabilities for Function {
    fn capabilities(self) -> &'static [Capability] {
        match self.scope() {
            Scope::Infrastructure => &[Capability::Read, Capability::Infrastructure],
            Scope::Dns => &[Capability::Read, Capability::Dns],
            // Reconcile has no directory access: the Directory function does that part.
            Scope::All => &[Capability::Read, Capability::Infrastructure, Capability::Dns],
            Scope::Directory => &[Capability::Read, Capability::Directory],
        }
    }

    fn account_capabilities(self) -> &'static [Capability] {
        match self.scope() {
            Scope::Infrastructure | Scope::All => &[Capability::Accounts, Capability::Shares],
            Scope::Dns | Scope::Directory => &[Capability::Accounts],
        }
    }
}

/// The Lambda error for a failed step: `errorType` is the stable `kind.as_str()` that Step
/// Functions' `Retry`/`Catch` match.
pub fn diagnostic(e: FunctionError) -> Diagnostic {
    Diagnostic {
        error_type: e.kind.as_str().to_string(),
        error_message: e.message,
    }
}

/// Serves `function` under the Lambda runtime with clients allowed only the writes of its
/// scope `S` (`serve::<DnsScope>(Function::PublishAlias)`): JSON logs; the configuration read
/// and validated at cold start, a function of another scope refused there; the clients built
/// on first use.
pub async fn serve<S: Attach>(function: Function) -> Result<(), lambda_runtime::Error>
where
    AwsCloud<S>: Executes<S>,
{
    lambda_runtime::tracing::init_default_subscriber();
    if function.scope() != S::SCOPE {
        let message = format!("{function:?} reconciles {:?}, not {:?}", function.scope(), S::SCOPE);
        tracing::error!(%message, "cold start failed");
        return Err(message.into());
    }
    let context = FunctionContext::<S>::from_env().inspect_err(|e| tracing::error!(error = %e, "cold start failed"))?;
    if function == Function::Directory && context.config.directory.is_none() {
        let message = format!("the Directory function needs a [directory] section in {CONFIG_ENV}");
        tracing::error!(%message, "cold start failed");
        return Err(message.into());
    }
    let context = &context;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| async move {
            context.handle(function, &event.payload).await.map_err(diagnostic)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use fsxn_lattice_core::config::tag_keys;
    use fsxn_lattice_core::error::ErrorKind;
    use fsxn_lattice_core::events::Trigger;
    use fsxn_lattice_sim::scenario::{ALIAS, SVM_ID, seed_world};
    use pollster::block_on;
    use std::time::Duration;

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
        let d = diagnostic(FunctionError {
            kind: ErrorKind::NotReady,
            message: "m".into(),
        });
        assert_eq!((d.error_type.as_str(), d.error_message.as_str()), ("NotReady", "m"));
    }

    #[test]
    fn provision_then_heal_then_publish_alias_run_the_seed_loop_in_the_simulated_cloud() {
        let w = seed_world(21);
        w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "ssh,smb,nfs");
        w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
        let tag_event = w.cloud.drain_events().remove(0);
        // Provision: pinned subnets, endpoint created and pending.
        let out = block_on(step(&w.cloud, &w.config, Function::Provision, &tag_event)).unwrap();
        assert_eq!(out.status, StepStatus::Waiting);
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
                == StepStatus::Ignored
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
        let mut status = StepStatus::Waiting;
        for _ in 0..40 {
            w.cloud.advance(Duration::from_secs(15));
            let out = block_on(step(&w.cloud, &w.config, Function::Provision, &serde_json::json!({}))).unwrap();
            status = out.status;
            if status == StepStatus::Converged {
                assert_eq!(out.deferred, 1, "the alias is left to publish-alias");
                break;
            }
        }
        assert_eq!(status, StepStatus::Converged);
        let published = block_on(step(
            &w.cloud,
            &w.config,
            Function::PublishAlias,
            &serde_json::json!({}),
        ))
        .unwrap();
        assert!(
            published.applied.iter().any(|a| a.action.starts_with("CREATE CNAME")),
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
            nothing.applied.is_empty() && nothing.status == StepStatus::Converged,
            "{nothing:?}"
        );
    }

    #[test]
    fn an_ignored_event_is_answered_without_building_a_client() {
        let config = config_from_env(|_| Some(fsxn_lattice_sim::scenario::SEED_CONFIG.into())).unwrap();
        let context = FunctionContext::<InfrastructureScope>::new(config);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let out = rt
            .block_on(context.handle(Function::Provision, &event("fsx-create-backup.json")))
            .unwrap();
        assert_eq!(out.status, StepStatus::Ignored, "{out:?}");
        assert!(
            context.cloud.get().is_none(),
            "no SDK configuration loaded for an ignored event"
        );
        let err = rt
            .block_on(context.handle(Function::Provision, &serde_json::json!("not an object")))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(context.cloud.get().is_none());
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
