//! Commands against real AWS: `plan` and `doctor` (read-only), `apply`, and
//! `capacity --vpc/--subnet`.
//! Built only with the `aws` feature; without it each command says so and changes nothing.

use crate::CliError;
use crate::map::SubnetInputs;
use fsxn_lattice_core::audit::Attempt;
use fsxn_lattice_core::config::Config;
use fsxn_lattice_core::desired::Desired;
use fsxn_lattice_core::doctor::{AuditObservation, Check, GatherOptions};
use fsxn_lattice_core::ids::{SubnetId, VpcId};
use fsxn_lattice_core::observe::Observed;
use fsxn_lattice_core::plan::Plan;
use fsxn_lattice_core::reconcile::{Progress, ReconcileReport};

/// `--profile`, `--region`, `--endpoint-url`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AwsArgs {
    /// Named profile of the shared AWS config (default: the standard credential chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// Region (default: from the profile or AWS_REGION).
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint URL for every service, e.g. a local stand-in (AWS_ENDPOINT_URL works too).
    #[arg(long = "endpoint-url")]
    pub endpoint_url: Option<String>,
}

/// What the live doctor read, for [`fsxn_lattice_core::doctor::diagnose`]: the planner's and
/// the audit reads, and with `[directory]` the directory's checks, to append to the diagnosis.
pub struct DoctorReads {
    /// The planner's reads (or the error that stopped them).
    pub observed: Attempt<(Observed, Desired)>,
    /// The account-level reads.
    pub audit: AuditObservation,
    /// The directory's checks; empty without `[directory]`.
    pub directory: Vec<Check>,
}

/// Checks what a live `capacity` read found against what was asked: a VPC named with --vpc
/// that does not exist (`vpc_exists`: DescribeVpcs found it), or a --subnet in none of the VPCs
/// `searched`, is a `NotFound` error naming it, not an empty table. A VPC that exists but has no
/// subnets is an empty answer, not an error.
#[cfg_attr(not(feature = "aws"), allow(dead_code))] // the live read is the `aws` build's
pub fn check_found(
    vpc: Option<&VpcId>,
    vpc_exists: bool,
    wanted: &[SubnetId],
    searched: &[VpcId],
    found: &[SubnetId],
) -> Result<(), CliError> {
    if let Some(vpc) = vpc
        && !vpc_exists
    {
        return Err(CliError::not_found(format!(
            "VPC {vpc} not found in this account and Region (check --vpc, --region and --profile)"
        )));
    }
    if let Some(missing) = wanted.iter().find(|w| !found.contains(w)) {
        return Err(CliError::not_found(format!(
            "subnet {missing} not found in {}; name its VPC with --vpc",
            if searched.is_empty() {
                "any FSx VPC (there is none)".to_string()
            } else {
                searched.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
            }
        )));
    }
    Ok(())
}

#[cfg(feature = "aws")]
mod imp {
    use super::*;
    use fsxn_lattice_aws::{AwsAudit, AwsCloud, AwsOptions, AwsSecrets, load_sdk_config};
    use fsxn_lattice_core::doctor::{directory_targets, gather, unreadable_secret};
    use fsxn_lattice_core::observe::observe;
    use fsxn_lattice_core::plan::plan as make_plan;
    use fsxn_lattice_core::ports::{NetworkRead, *};
    use fsxn_lattice_core::reconcile::{ReconcileOptions, reconcile};

    /// A person is waiting: give up on an unreachable endpoint after a few quick attempts (the
    /// SDK retries each attempt too).
    fn retry() -> fsxn_lattice_core::apply::RetryPolicy {
        fsxn_lattice_core::apply::RetryPolicy {
            max_attempts: 4,
            ..Default::default()
        }
    }

    fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::internal(format!("cannot start the async runtime: {e}")))
    }

    /// The clients, with the consumer accounts' sessions when a config lists `[[accounts]]`.
    async fn cloud(aws: &AwsArgs, config: Option<&Config>) -> AwsCloud {
        let options = AwsOptions {
            profile: aws.profile.clone(),
            region: aws.region.clone(),
            endpoint_url: aws.endpoint_url.clone(),
        };
        let sdk = load_sdk_config(&options).await;
        match config {
            Some(config) => AwsCloud::for_config(&sdk, config),
            None => AwsCloud::new(&sdk),
        }
    }

    pub fn plan(config: &Config, aws: &AwsArgs) -> Result<Plan, CliError> {
        runtime()?.block_on(async {
            let cloud = cloud(aws, Some(config)).await;
            let (observed, desired) = observe(&cloud, config, &retry()).await.map_err(CliError::cloud)?;
            Ok(make_plan(config, &desired, &observed))
        })
    }

    pub fn apply(
        config: &Config,
        aws: &AwsArgs,
        max_wait: std::time::Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<ReconcileReport, CliError> {
        runtime()?.block_on(async {
            let cloud = cloud(aws, Some(config)).await;
            let mut options = ReconcileOptions {
                max_wait,
                ..ReconcileOptions::default()
            };
            options.apply.retry = retry();
            Ok(reconcile(&cloud, config, &options, progress).await)
        })
    }

    /// Reads the account for the doctor: the planner's reads plus the audit reads, with the
    /// Region the SDK resolved (profile, environment or --region); with `[directory]`, also
    /// the directory's checks ([`directory_checks`]), to append to the diagnosis.
    pub fn doctor(config: &Config, aws: &AwsArgs, mut options: GatherOptions) -> Result<DoctorReads, CliError> {
        runtime()?.block_on(async {
            let sdk = load_sdk_config(&AwsOptions {
                profile: aws.profile.clone(),
                region: aws.region.clone(),
                endpoint_url: aws.endpoint_url.clone(),
            })
            .await;
            options.region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
                CliError::invalid("no Region: pass --region, set AWS_REGION, or use a profile with one")
            })?;
            let cloud: AwsCloud = AwsCloud::for_config(&sdk, config);
            let audit = AwsAudit::new(&sdk);
            let (observed, audit) = gather(&cloud, &audit, config, &options).await;
            let directory = directory_checks(&cloud.secrets, config, &observed).await;
            Ok(DoctorReads {
                observed,
                audit,
                directory,
            })
        })
    }

    /// With `[directory]`: reads the bind secret (`secretsmanager:GetSecretValue` on
    /// `secret_arn`) and runs [`fsxn_lattice_directory::check`] once per SMB exposure with an
    /// alias ([`directory_targets`]), or once for the connection and the zone when there is
    /// none; a line two runs share (the DC, TLS, bind) is reported once. A secret that cannot
    /// be read or used is one failed line naming it, never its value. The checks connect from
    /// here, not from the Directory function's subnets: an unreachable DC says so in its fix.
    pub async fn directory_checks(
        secrets: &AwsSecrets,
        config: &Config,
        observed: &Attempt<(Observed, Desired)>,
    ) -> Vec<Check> {
        use fsxn_lattice_directory::{AliasOwner, CheckTarget, Credentials, DirectorySettings, check};
        let Some(directory) = &config.directory else {
            return Vec::new();
        };
        let arn = &directory.secret_arn;
        let credentials = match secrets.get_secret_string(arn).await {
            Ok(secret) => Credentials::from_secret_json(&secret),
            Err(e) => return vec![unreadable_secret(arn, &e)],
        };
        let credentials = match credentials {
            Ok(c) => c,
            Err(e) => return vec![unreadable_secret(arn, &fsxn_lattice_directory::port::to_cloud_error(e))],
        };
        let settings = DirectorySettings::from(directory);
        let targets = match observed {
            Ok((o, d)) => directory_targets(config, o, d),
            Err(_) => Vec::new(),
        };
        if targets.is_empty() {
            let target = CheckTarget {
                zone: Some(directory.dns_zone()),
                ..CheckTarget::default()
            };
            return check(&settings, &credentials, &target).await;
        }
        let mut out: Vec<Check> = Vec::new();
        for t in targets {
            out.extend(t.outside_zone());
            let target = CheckTarget {
                computer: Some(t.computer),
                owner: t.in_zone.then(|| AliasOwner {
                    owner: config.owner.clone(),
                    svm: t.svm_id.to_string(),
                }),
                alias: Some(t.alias),
                zone: Some(t.zone),
                record: t.record,
            };
            for c in check(&settings, &credentials, &target).await {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    /// Reads the subnets (with their ENIs and CIDR reservations) that `capacity` analyses.
    pub fn capacity(vpc: Option<&str>, subnets: &[String], aws: &AwsArgs) -> Result<Vec<SubnetInputs>, CliError> {
        let vpc = vpc
            .map(VpcId::parse)
            .transpose()
            .map_err(|e| CliError::invalid(e.to_string()))?;
        let wanted: Vec<SubnetId> = subnets
            .iter()
            .map(SubnetId::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::invalid(e.to_string()))?;
        runtime()?.block_on(async {
            let cloud = cloud(aws, None).await;
            // DescribeSubnets filtered by an unknown VPC answers an empty list: ask for the VPC.
            let vpc_exists = match &vpc {
                Some(v) => !cloud
                    .describe_vpcs(std::slice::from_ref(v), fsxn_lattice_core::ports::VpcAttributes::None)
                    .await
                    .map_err(CliError::cloud)?
                    .is_empty(),
                None => true,
            };
            check_found(vpc.as_ref(), vpc_exists, &[], &[], &[])?;
            let mut vpcs: Vec<VpcId> = vpc.clone().into_iter().collect();
            if !wanted.is_empty() {
                // A subnet's VPC is found by looking: DescribeSubnets by id is not a port, so the
                // subnet must be named with its VPC or found among the VPCs of the FSx file systems.
                for fs in cloud.describe_file_systems().await.map_err(CliError::cloud)? {
                    if !vpcs.contains(&fs.vpc_id) {
                        vpcs.push(fs.vpc_id);
                    }
                }
            }
            let mut out = Vec::new();
            for v in &vpcs {
                let subnets = cloud.describe_subnets(v).await.map_err(CliError::cloud)?;
                let enis = cloud.describe_network_interfaces(v).await.map_err(CliError::cloud)?;
                for s in subnets.iter().filter(|s| wanted.is_empty() || wanted.contains(&s.id)) {
                    let res = cloud
                        .get_subnet_cidr_reservations(&s.id)
                        .await
                        .map_err(CliError::cloud)?;
                    out.push(SubnetInputs {
                        subnet: s.clone(),
                        network_interfaces: enis.iter().filter(|e| e.subnet_id == s.id).cloned().collect(),
                        reservations: res,
                    });
                }
            }
            let found: Vec<SubnetId> = out.iter().map(|c| c.subnet.id.clone()).collect();
            check_found(vpc.as_ref(), vpc_exists, &wanted, &vpcs, &found)?;
            Ok(out)
        })
    }
}

#[cfg(not(feature = "aws"))]
mod imp {
    use super::*;

    fn unsupported() -> CliError {
        CliError::unsupported(
            "this build has no AWS support; build it with `cargo install --path cli --features aws` (or `cargo run --features aws --bin fsxn-lattice -- …`)",
        )
    }

    pub fn plan(_: &Config, _: &AwsArgs) -> Result<Plan, CliError> {
        Err(unsupported())
    }

    pub fn apply(
        _: &Config,
        _: &AwsArgs,
        _: std::time::Duration,
        _: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<ReconcileReport, CliError> {
        Err(unsupported())
    }

    pub fn capacity(_: Option<&str>, _: &[String], _: &AwsArgs) -> Result<Vec<SubnetInputs>, CliError> {
        Err(unsupported())
    }

    pub fn doctor(_: &Config, _: &AwsArgs, _: GatherOptions) -> Result<DoctorReads, CliError> {
        Err(unsupported())
    }
}

pub use imp::{apply, capacity, doctor, plan};

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vpc(s: &str) -> VpcId {
        VpcId::parse(s).unwrap()
    }
    fn subnet(s: &str) -> SubnetId {
        SubnetId::parse(s).unwrap()
    }

    #[test]
    fn an_unknown_vpc_or_subnet_is_not_found_not_an_empty_table() {
        let v = vpc("vpc-0000000000000dead");
        let vs = std::slice::from_ref(&v);
        let e = check_found(Some(&v), false, &[], vs, &[]).unwrap_err();
        assert_eq!((e.kind.as_str(), e.code), ("NotFound", 2));
        assert!(
            e.message.contains("VPC vpc-0000000000000dead not found"),
            "{}",
            e.message
        );
        // A VPC that exists with no subnets is an empty answer.
        assert!(check_found(Some(&v), true, &[], vs, &[]).is_ok());
        // A subnet in none of the VPCs searched.
        let s = subnet("subnet-0000000000000dead");
        let other = subnet("subnet-029a939990627d570");
        let e = check_found(
            Some(&v),
            true,
            &[other.clone(), s.clone()],
            vs,
            std::slice::from_ref(&other),
        )
        .unwrap_err();
        assert_eq!((e.kind.as_str(), e.code), ("NotFound", 2));
        assert!(
            e.message
                .starts_with("subnet subnet-0000000000000dead not found in vpc-0000000000000dead"),
            "{}",
            e.message
        );
        let e = check_found(None, true, std::slice::from_ref(&s), &[], &[]).unwrap_err();
        assert!(e.message.contains("any FSx VPC (there is none)"), "{}", e.message);
        assert!(check_found(None, true, std::slice::from_ref(&s), vs, std::slice::from_ref(&s)).is_ok());
        // The VPC is checked first: its absence is the cause, not the subnets'.
        let e = check_found(Some(&vpc("vpc-0000000000000beef")), false, &[s], &[], &[]).unwrap_err();
        assert!(e.message.starts_with("VPC vpc-0000000000000beef"), "{}", e.message);
    }
}
