//! Consumers in other accounts: [`AwsSharing`] (our RAM shares, and a session per consumer
//! account through the role `[[accounts]]` names) and [`AwsConsumer`] (that account's EC2,
//! Route 53 and RAM invitations, on the assumed role's credentials).
//!
//! STS facts relied on (botocore `sts/2011-06-15/service-2.json`, `AssumeRole`):
//! `RoleSessionName` is 2–64 characters of `[\w+=,.@-]`; `ExternalId` 2–1224 of
//! `[\w+=,.@:/-]`; `DurationSeconds` 900–43200, default 3600, and "if you assume a role using
//! role chaining and provide a DurationSeconds parameter value greater than one hour, the
//! operation fails": a Lambda function's execution-role session calling AssumeRole is role
//! chaining, so sessions last [`SESSION_SECONDS`]. A refused trust or identity policy answers
//! error code `AccessDenied` (HTTP 403), which `AssumeRoleError` does not model (matched by
//! code; the code string is widely observed, no AWS page found that states it: UNCONFIRMED).

use crate::error::translate;
use crate::{AwsEc2, AwsRam, AwsRoute53};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use fsxn_lattice_core::config::ConsumerAccount;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// `DurationSeconds` of every consumer-account session: the most role chaining allows.
pub const SESSION_SECONDS: u64 = 3600;
const _: () = assert!(
    SESSION_SECONDS >= 900 && SESSION_SECONDS <= 3600,
    "STS: 900 s at least, role chaining 3600 s at most"
);

/// `RoleSessionName` for stack `owner`: `fsxn-lattice-<owner>`, characters outside
/// `[\w+=,.@-]` replaced by `-`, cut to 64. It names the session in the consumer account's
/// CloudTrail (and its `sts:RoleSessionName` condition key).
pub fn session_name(owner: &str) -> String {
    let name: String = format!("fsxn-lattice-{owner}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    name
}

/// A consumer account as its role sees it: the EC2 and Route 53 adapters (the same code as the
/// home account's) and RAM for its invitations, every client built on the assumed role's
/// credentials (refreshed before they expire).
#[derive(Debug, Clone)]
pub struct AwsConsumer {
    /// The account.
    pub account: AccountId,
    /// EC2 in that account.
    pub ec2: AwsEc2,
    /// Route 53 in that account.
    pub route53: AwsRoute53,
    /// RAM in that account (invitations).
    pub ram: AwsRam,
}

impl AwsConsumer {
    /// Builds the clients from `config` (whose credentials are the account's role).
    pub fn new(account: AccountId, config: &SdkConfig) -> Self {
        Self {
            account,
            ec2: AwsEc2::new(aws_sdk_ec2::Client::new(config)),
            route53: AwsRoute53::new(aws_sdk_route53::Client::new(config)),
            ram: AwsRam::new(aws_sdk_ram::Client::new(config)),
        }
    }
}

/// Delegates each port method to one field (no trait delegation in Rust); the compiler checks
/// each line against its port.
macro_rules! delegate_consumer {
    ($($port:ident => $field:ident { $(fn $method:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)* })*) => {$(
        #[async_trait]
        impl $port for AwsConsumer {
            $(async fn $method(&self, $($arg: $ty),*) -> CloudResult<$ok> {
                $port::$method(&self.$field, $($arg),*).await
            })*
        }
    )*};
}

delegate_consumer! {
    NetworkRead => ec2 {
        fn describe_vpcs(ids: &[VpcId], attributes: VpcAttributes) -> Vec<Vpc>;
        fn describe_subnets(vpc_id: &VpcId) -> Vec<Subnet>;
        fn describe_network_interfaces(vpc_id: &VpcId) -> Vec<NetworkInterface>;
        fn describe_route_tables(vpc_id: &VpcId) -> Vec<RouteTable>;
        fn get_subnet_cidr_reservations(subnet_id: &SubnetId) -> Vec<CidrReservation>;
        fn describe_resource_endpoints(filters: &[EndpointFilter]) -> Vec<VpcEndpoint>;
    }
    NetworkWrite => ec2 {
        fn create_subnet(req: &CreateSubnetRequest) -> Subnet;
        fn delete_subnet(id: &SubnetId) -> ();
        fn create_subnet_cidr_reservation(req: &CreateCidrReservationRequest) -> CidrReservation;
        fn delete_subnet_cidr_reservation(id: &CidrReservationId) -> ();
        fn create_vpc_endpoint(req: &CreateVpcEndpointRequest) -> VpcEndpoint;
        fn delete_vpc_endpoint(id: &VpcEndpointId) -> ();
        fn associate_route_table(route_table_id: &RouteTableId, subnet_id: &SubnetId) -> String;
        fn disassociate_route_table(association_id: &str) -> ();
    }
    DnsRead => route53 {
        fn get_hosted_zone(id: &HostedZoneId) -> HostedZone;
        fn list_resource_record_sets(zone: &HostedZoneId) -> Vec<RecordSet>;
    }
    DnsWrite => route53 {
        fn change_resource_record_sets(zone: &HostedZoneId, changes: &[RecordChange]) -> String;
        fn get_change(change_id: &str) -> ChangeStatus;
    }
    Invitations => ram {
        fn list_share_invitations() -> Vec<ShareInvitation>;
        fn accept_share_invitation(invitation_arn: &str) -> ();
    }
}

/// The role's credentials: those of the `AssumeRole` call that proved the role (so opening a
/// session costs one call, not two), then, once they near expiry, aws-config's
/// [`AssumeRoleProvider`] with the same parameters.
#[derive(Debug)]
struct RoleCredentials {
    first: Mutex<Option<Credentials>>,
    refresh: AssumeRoleProvider,
}

impl ProvideCredentials for RoleCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        match first {
            Some(c)
                if c.expiry()
                    .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(60)) =>
            {
                future::ProvideCredentials::ready(Ok(c))
            }
            _ => self.refresh.provide_credentials(),
        }
    }
}

/// What [`AwsSharing`] keeps per account: the account as configured when its session was
/// opened (a changed role or external id opens a new one), and the session.
type Sessions = BTreeMap<AccountId, (ConsumerAccount, Arc<AwsConsumer>)>;

/// Our RAM shares (home account) and the consumer accounts' sessions: the core's [`Sharing`].
///
/// [`Sharing::assume`] calls STS `AssumeRole` with the account's role ARN, its external id, the
/// session name [`session_name`] and [`SESSION_SECONDS`] on the home credentials: a refused role
/// is an `AccessDenied` error naming the account and the role, before any read in it. The
/// session is kept per account for this value's lifetime (a Lambda sandbox's, or one CLI run)
/// and handed out again by [`Sharing::assume`] and [`Sharing::session`]; its credentials are
/// refreshed through STS as they expire.
pub struct AwsSharing {
    ram: AwsRam,
    sts: aws_sdk_sts::Client,
    config: SdkConfig,
    session_name: String,
    sessions: Mutex<Sessions>,
}

impl std::fmt::Debug for AwsSharing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let accounts: Vec<AccountId> = self
            .sessions
            .lock()
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("AwsSharing")
            .field("ram", &self.ram)
            .field("session_name", &self.session_name)
            .field("sessions", &accounts)
            .finish()
    }
}

impl AwsSharing {
    /// RAM and STS on the home account's `config`; sessions named for stack `owner`.
    pub fn new(config: &SdkConfig, owner: &str) -> Self {
        Self::from_parts(
            AwsRam::new(aws_sdk_ram::Client::new(config)),
            aws_sdk_sts::Client::new(config),
            config,
            owner,
        )
    }

    /// From clients built elsewhere (tests: mocked clients); `config` is what the consumer
    /// accounts' clients are built from, with the role's credentials.
    pub fn from_parts(ram: AwsRam, sts: aws_sdk_sts::Client, config: &SdkConfig, owner: &str) -> Self {
        Self {
            ram,
            sts,
            config: config.clone(),
            session_name: session_name(owner),
            sessions: Mutex::new(BTreeMap::new()),
        }
    }

    /// The session name sent to STS.
    pub fn session_name(&self) -> &str {
        &self.session_name
    }

    fn cached(&self, account: &ConsumerAccount) -> Option<Arc<AwsConsumer>> {
        let sessions = self.sessions.lock().ok()?;
        sessions
            .get(&account.id)
            .filter(|(configured, _)| configured == account)
            .map(|(_, s)| s.clone())
    }

    /// Opens a session in `account`: one `AssumeRole`, whose credentials the session starts on.
    async fn open(&self, account: &ConsumerAccount) -> CloudResult<AwsConsumer> {
        const OP: &str = "AssumeRole";
        let out = self
            .sts
            .assume_role()
            .role_arn(&account.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(account.external_id.clone())
            .duration_seconds(SESSION_SECONDS as i32)
            .send()
            .await
            .map_err(|e| {
                let mut e = translate(OP, e);
                e.message = format!(
                    "cannot assume {} in account {}{}: {}",
                    account.role_arn,
                    account.id,
                    if account.external_id.is_some() {
                        " (with its external id)"
                    } else {
                        ""
                    },
                    e.message
                );
                e
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| crate::error::malformed(OP, "Credentials"))?;
        let first = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "fsxn-lattice-assume-role",
        );
        let mut refresh = AssumeRoleProvider::builder(&account.role_arn)
            .configure(&self.config)
            .session_name(&self.session_name)
            .session_length(Duration::from_secs(SESSION_SECONDS));
        if let Some(x) = &account.external_id {
            refresh = refresh.external_id(x);
        }
        let provider = RoleCredentials {
            first: Mutex::new(Some(first)),
            refresh: refresh.build().await,
        };
        let config = self
            .config
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            // A cache of its own: the session's credentials are not the home account's.
            .identity_cache(IdentityCache::lazy().build())
            .build();
        Ok(AwsConsumer::new(account.id.clone(), &config))
    }
}

#[async_trait]
impl SharesRead for AwsSharing {
    async fn list_resource_shares(&self, owner: &str) -> CloudResult<Vec<ResourceShare>> {
        self.ram.list_resource_shares(owner).await
    }
}

#[async_trait]
impl SharesWrite for AwsSharing {
    async fn create_resource_share(&self, req: &CreateResourceShareRequest) -> CloudResult<ResourceShare> {
        self.ram.create_resource_share(req).await
    }
    async fn associate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        self.ram
            .associate_resource_share(share_arn, resource_arns, principals)
            .await
    }
    async fn disassociate_resource_share(
        &self,
        share_arn: &str,
        resource_arns: &[String],
        principals: &[AccountId],
    ) -> CloudResult<()> {
        self.ram
            .disassociate_resource_share(share_arn, resource_arns, principals)
            .await
    }
    async fn delete_resource_share(&self, share_arn: &str) -> CloudResult<()> {
        self.ram.delete_resource_share(share_arn).await
    }
}

#[async_trait]
impl Sharing for AwsSharing {
    async fn assume(&self, account: &ConsumerAccount) -> CloudResult<Arc<dyn ConsumerCloud>> {
        if let Some(s) = self.cached(account) {
            return Ok(s);
        }
        let session = Arc::new(self.open(account).await?);
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(account.id.clone(), (account.clone(), session.clone()));
        }
        Ok(session)
    }

    fn session(&self, account: &AccountId) -> Option<Arc<dyn ConsumerCloud>> {
        let sessions = self.sessions.lock().ok()?;
        sessions.get(account).map(|(_, s)| s.clone() as Arc<dyn ConsumerCloud>)
    }
}
