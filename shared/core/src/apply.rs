//! Apply: carry out a plan's actions through the ports, idempotently: in order, in waves of
//! same-kind actions that run at once under per-service gates and client-side rate limits
//! ([`crate::concurrency`]).
//!
//! Every action is safe to repeat: creates carry client tokens derived from the desired object,
//! DNS uses CREATE and DELETE of exact records (never UPSERT), "not found" on delete counts as done. Transient errors (and
//! `AccessDenied`, see [`RetryPolicy::retries`]) are retried with
//! capped exponential backoff and full jitter, honouring a server's `Retry-After`. The first
//! other error stops the run after its wave; the report says what was done.

use crate::concurrency::{Concurrency, Gates, RateLimiter, RateLimits, operation, service_of};
use crate::error::{CloudError, ErrorKind};
use crate::ids::AccountId;
use crate::plan::{Action, Plan, PlannedAction};
use crate::ports::*;
use crate::reconcile::Scope;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

/// How many times one `CreateVpcEndpoint` action derives a new client token because the last one
/// answered with an ended endpoint (see [`client_token_after_dead`]).
const MAX_DEAD_TOKEN_REPLAYS: usize = 3;

/// The client token to use when `token` answered with the ended endpoint `dead`: derived from
/// both, so it is the same on every replay of the step and new once the old endpoint is gone.
pub fn client_token_after_dead(token: &str, dead: &crate::ids::VpcEndpointId) -> String {
    crate::naming::client_token(&["endpoint-after", token, dead.as_str()])
}

/// How transient errors are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts per action, the first included.
    pub max_attempts: u32,
    /// First backoff.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Whether a call that failed with `e` on attempt `attempt` is tried again.
    ///
    /// Transient errors are, and so is `AccessDenied`: IAM is eventually consistent, so a role or
    /// policy just created or changed can be denied for a few seconds
    /// ([IAM: changes that I make are not always immediately visible](https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency)).
    /// Both use the same backoff and the same attempt budget; a denial that outlasts it ends the
    /// call as `AccessDenied` (never as `Transient`), so it reaches a person, not a retry loop.
    pub fn retries(&self, e: &CloudError, attempt: u32) -> bool {
        matches!(e.kind, ErrorKind::Transient | ErrorKind::AccessDenied) && attempt < self.max_attempts
    }

    /// The delay before attempt `attempt + 1`: "full jitter" over a capped exponential
    /// (a uniform draw between 0 and `min(max_delay, base_delay × 2^attempt)`, as the AWS
    /// Architecture Blog's "Exponential Backoff And Jitter" defines it), `jitter` being that
    /// draw in [0, 1) — [`Clock::jitter`], random per call. At least 1 ms.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        cap.mul_f64(jitter).max(Duration::from_millis(1))
    }
}

/// Calls `call` until it succeeds, fails with an error `policy` does not retry
/// ([`RetryPolicy::retries`]: transient errors and `AccessDenied`), or its attempts are spent.
/// Between attempts it sleeps on `clock` for the server's `Retry-After`, else for
/// [`RetryPolicy::delay`] with the clock's jitter. Returns the last result.
///
/// `key` names the call in the retry's debug log: reads pass their operation's name
/// (`"DescribeSubnets"`), [`apply`] an action's [`Action::summary`].
pub(crate) async fn with_retry<K, T, F, Fut>(clock: &K, policy: &RetryPolicy, key: &str, call: F) -> CloudResult<T>
where
    K: Clock + ?Sized,
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    with_retry_counted(clock, policy, key, call).await.0
}

/// [`with_retry`], also returning the number of attempts made (the first included).
pub(crate) async fn with_retry_counted<K, T, F, Fut>(
    clock: &K,
    policy: &RetryPolicy,
    key: &str,
    mut call: F,
) -> (CloudResult<T>, u32)
where
    K: Clock + ?Sized,
    F: FnMut() -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        match call().await {
            Err(e) if policy.retries(&e, attempt) => {
                let wait = e.retry_after.unwrap_or_else(|| policy.delay(attempt, clock.jitter()));
                tracing::debug!(call = key, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                clock.sleep(wait).await;
            }
            other => return (other, attempt),
        }
    }
}

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Done; `detail` names what was created or changed.
    Done {
        /// e.g. the new id.
        detail: String,
    },
    /// Already in the wanted state (a delete found nothing).
    AlreadyDone {
        /// Why.
        detail: String,
    },
    /// Not possible yet (a delete of something still in use, a write past the client-side
    /// rate limit); the next pass retries.
    Deferred {
        /// Why.
        detail: String,
    },
}

/// One applied action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The action.
    pub action: PlannedAction,
    /// Its outcome.
    pub outcome: Outcome,
    /// Attempts made.
    pub attempts: u32,
}

/// The result of applying a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Actions carried out, in order.
    pub applied: Vec<Applied>,
    /// The action that stopped the run, and its error: the first in plan order that failed.
    /// The other actions of its wave ran at the same time; those that succeeded are in
    /// `applied`.
    pub failed: Option<(PlannedAction, CloudError)>,
}

/// Options of one apply run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApplyOptions {
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Calls in flight per service (reads and writes).
    pub concurrency: Concurrency,
    /// Client-side write rate limits.
    pub rates: RateLimits,
    /// The longest an apply run waits for rate-limit tokens, and a Lambda step (a reconcile
    /// without polling) all its passes together; an action whose token comes later is
    /// [`Outcome::Deferred`] to the next pass (or, in a Lambda, the next poll), so a step never
    /// outlives its function's timeout waiting (150 endpoints at 0.3 per second would take 8
    /// minutes).
    pub rate_wait: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: Concurrency::default(),
            rates: RateLimits::default(),
            rate_wait: Duration::from_secs(20),
        }
    }
}

/// A [`Scope`] as a type, so that what a function may write is checked by the compiler: a
/// cloud carries out the actions of scope `S` if it implements [`Executes<S>`], which asks for
/// the reads and only the write ports of that scope.
pub trait ScopeType: Send + Sync + 'static {
    /// The scope at run time.
    const SCOPE: Scope;
}

/// [`Scope::All`]: needs every port ([`Cloud`]).
#[derive(Debug)]
pub enum AllScope {}
/// [`Scope::Infrastructure`]: needs the reads and [`InfraWrites`], no [`DnsWrite`].
#[derive(Debug)]
pub enum InfrastructureScope {}
/// [`Scope::Dns`]: needs the reads and [`DnsWrite`], no [`InfraWrites`].
#[derive(Debug)]
pub enum DnsScope {}
/// [`Scope::Directory`]: needs the reads only (the directory and the SVM tag write come from
/// [`DirectoryAccess::directory`], which only the function given `[directory]` has); no
/// [`InfraWrites`], no [`DnsWrite`].
#[derive(Debug)]
pub enum DirectoryScope {}

impl ScopeType for AllScope {
    const SCOPE: Scope = Scope::All;
}
impl ScopeType for InfrastructureScope {
    const SCOPE: Scope = Scope::Infrastructure;
}
impl ScopeType for DnsScope {
    const SCOPE: Scope = Scope::Dns;
}
impl ScopeType for DirectoryScope {
    const SCOPE: Scope = Scope::Directory;
}

/// Carries out the actions of scope `S` through the write ports that scope needs. Implemented
/// for every cloud that has them; nothing implements it by hand.
#[async_trait]
pub trait Executes<S: ScopeType>: Reads {
    /// Makes the call(s) of `action` once (no retry). An action outside `S` is an `Internal`
    /// error (a reconcile never passes one: [`Scope::retain`] keeps them out).
    async fn execute(&self, action: &Action) -> CloudResult<String>;
}

#[async_trait]
impl<C: Cloud + ?Sized> Executes<AllScope> for C {
    async fn execute(&self, action: &Action) -> CloudResult<String> {
        if Scope::Dns.allows(action) {
            run_dns(self, action).await
        } else if Scope::Directory.allows(action) {
            run_directory(self, action).await
        } else {
            run_infrastructure(self, action).await
        }
    }
}

#[async_trait]
impl<C: Reads + InfraWrites + ?Sized> Executes<InfrastructureScope> for C {
    async fn execute(&self, action: &Action) -> CloudResult<String> {
        run_infrastructure(self, action).await
    }
}

#[async_trait]
impl<C: Reads + DnsWrite + ?Sized> Executes<DnsScope> for C {
    async fn execute(&self, action: &Action) -> CloudResult<String> {
        run_dns(self, action).await
    }
}

#[async_trait]
impl<C: Reads + ?Sized> Executes<DirectoryScope> for C {
    async fn execute(&self, action: &Action) -> CloudResult<String> {
        run_directory(self, action).await
    }
}

/// Applies `plan` (any action) on a cloud with every port: [`apply_in`] for [`AllScope`].
pub async fn apply<C: Cloud + ?Sized>(
    cloud: &C,
    plan: &Plan,
    options: &ApplyOptions,
    on_applied: &mut (dyn FnMut(&Applied) -> ControlFlow<()> + Send),
) -> ApplyReport {
    apply_in::<AllScope, C>(cloud, plan, options, on_applied).await
}

/// Applies `plan`, whose actions are all in scope `S`, calling `on_applied` after each action.
/// `on_applied` returning [`ControlFlow::Break`] ends the run there, before the next action, as
/// a process dying between two actions would (the simulation injects crashes so); the report
/// then holds what was applied.
pub async fn apply_in<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    plan: &Plan,
    options: &ApplyOptions,
    on_applied: &mut (dyn FnMut(&Applied) -> ControlFlow<()> + Send),
) -> ApplyReport {
    let gates = Gates::new(options.concurrency);
    let now = cloud.now_millis();
    let limiter = RateLimiter::new(options.rates, now);
    let deadline_ms = now.saturating_add(options.rate_wait.as_millis() as u64);
    apply_with::<S, C>(cloud, plan, options, &gates, &limiter, deadline_ms, on_applied).await
}

/// [`apply_in`] under `gates` and `limiter`, which a reconcile keeps across its passes (the
/// buckets drained by one pass are not full again at the next). No rate-limit wait goes past
/// `deadline_ms`: an action whose token comes later is deferred.
pub async fn apply_with<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    plan: &Plan,
    options: &ApplyOptions,
    gates: &Gates,
    limiter: &RateLimiter,
    deadline_ms: u64,
    on_applied: &mut (dyn FnMut(&Applied) -> ControlFlow<()> + Send),
) -> ApplyReport {
    let mut report = ApplyReport::default();
    for wave in waves(&plan.actions) {
        // The wave's calls run at once (under the gates and buckets); every outcome is reported
        // in plan order, and the first failure ends the run after the wave.
        let outcomes = futures_util::future::join_all(wave.iter().map(|planned| {
            let (gates, limiter) = (gates, limiter);
            async move {
                let op = operation(&planned.action);
                let _permit = gates.enter(service_of(op)).await;
                if let Err(wait) = limiter.take(cloud, op, deadline_ms).await {
                    let detail = format!(
                        "client-side rate limit of {op}: next token in {} ms, after this run's {} s; left to the next pass",
                        wait.as_millis(),
                        options.rate_wait.as_secs()
                    );
                    return (Ok(Outcome::Deferred { detail }), 0);
                }
                apply_one::<S, C>(cloud, planned, options).await
            }
        }))
        .await;
        for (planned, (outcome, attempts)) in wave.iter().zip(outcomes) {
            match outcome {
                Ok(outcome) => {
                    let applied = Applied {
                        action: (*planned).clone(),
                        outcome,
                        attempts,
                    };
                    let flow = on_applied(&applied);
                    report.applied.push(applied);
                    if flow.is_break() {
                        return report;
                    }
                }
                // The rest of the wave ran too: their outcomes are reported, and the first
                // failure (in plan order) ends the run after the wave.
                Err(e) => {
                    if report.failed.is_none() {
                        report.failed = Some(((*planned).clone(), e));
                    }
                }
            }
        }
        if report.failed.is_some() {
            return report;
        }
    }
    report
}

/// Splits `actions` into waves: runs of consecutive actions of the same kind, which the planner
/// never makes depend on each other (one configuration per SVM, one endpoint per SVM and
/// consumer, one reservation per block). Route 53 takes one change at a time per hosted zone
/// (`PriorRequestNotComplete`), so a DNS wave holds each zone at most once.
pub fn waves(actions: &[PlannedAction]) -> Vec<Vec<&PlannedAction>> {
    let zone = |a: &Action| match a {
        Action::PublishAlias { hosted_zone_id, .. }
        | Action::DeleteAlias { hosted_zone_id, .. }
        | Action::PublishVerificationTxt { hosted_zone_id, .. }
        | Action::DeleteVerificationTxt { hosted_zone_id, .. } => Some(hosted_zone_id.clone()),
        _ => None,
    };
    let mut waves: Vec<Vec<&PlannedAction>> = Vec::new();
    for planned in actions {
        let joins = waves.last().is_some_and(|w| {
            std::mem::discriminant(&w[0].action) == std::mem::discriminant(&planned.action)
                && zone(&planned.action).is_none_or(|z| w.iter().all(|p| zone(&p.action).as_ref() != Some(&z)))
        });
        match waves.last_mut() {
            Some(w) if joins => w.push(planned),
            _ => waves.push(vec![planned]),
        }
    }
    waves
}

/// One action, retried, with its outcome and the attempts it took.
async fn apply_one<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    planned: &PlannedAction,
    options: &ApplyOptions,
) -> (Result<Outcome, CloudError>, u32) {
    let (result, attempts) = with_retry_counted(cloud, &options.retry, &planned.action.summary(), || {
        Executes::<S>::execute(cloud, &planned.action)
    })
    .await;
    let outcome = match result {
        Ok(detail) => Ok(Outcome::Done { detail }),
        Err(e) if e.kind == ErrorKind::NotFound && planned.action.is_delete() => Ok(Outcome::AlreadyDone {
            detail: format!("already gone ({})", e.code),
        }),
        Err(e) if e.kind == ErrorKind::Conflict && planned.action.is_delete() => Ok(Outcome::Deferred {
            detail: format!("still in use: {}", e.message),
        }),
        Err(e) if already_applied(cloud, &planned.action, &e, &options.retry).await => {
            // An earlier attempt took effect but its response was lost (5xx/timeout after
            // the write), or another reconciler made the same object first: operations
            // without a client token then fail on overlap, and the object is ours.
            Ok(Outcome::AlreadyDone {
                detail: format!("already exists, made by us ({})", e.code),
            })
        }
        Err(e) => Err(e),
    };
    (outcome, attempts)
}

/// For the writes that carry no client token (`CreateSubnet`, `CreateSubnetCidrReservation`,
/// `AssociateRouteTable`, the alias's Route 53 CREATE): whether what the action asks for exists
/// already, exactly as asked.
async fn already_applied<C: Reads + ?Sized>(cloud: &C, action: &Action, e: &CloudError, policy: &RetryPolicy) -> bool {
    if !matches!(e.kind, ErrorKind::Conflict | ErrorKind::InvalidInput) {
        return false;
    }
    match action {
        Action::ReserveCidr {
            subnet_id, cidr, tags, ..
        } => with_retry(cloud, policy, "GetSubnetCidrReservations", || {
            cloud.get_subnet_cidr_reservations(subnet_id)
        })
        .await
        .is_ok_and(|rs| rs.iter().any(|r| r.cidr == *cidr && &r.tags == tags)),
        Action::CreateSubnet { vpc_id, cidr, tags, .. } => {
            with_retry(cloud, policy, "DescribeSubnets", || cloud.describe_subnets(vpc_id))
                .await
                .is_ok_and(|ss| ss.iter().any(|s| s.cidr == *cidr && &s.tags == tags))
        }
        // CREATE after a lost response, or another reconciler published the same records first:
        // done if the zone holds exactly what was asked for (a different record is someone
        // else's, and the failure stands).
        Action::PublishAlias {
            hosted_zone_id,
            cname,
            txt,
            account,
            ..
        } => {
            let there = match account {
                Some(a) => match session(cloud, a) {
                    Ok(s) => Some(s),
                    Err(_) => return false,
                },
                None => None,
            };
            with_retry(cloud, policy, "ListResourceRecordSets", || async {
                match &there {
                    Some(s) => s.list_resource_record_sets(hosted_zone_id).await,
                    None => cloud.list_resource_record_sets(hosted_zone_id).await,
                }
            })
            .await
            .is_ok_and(|rs| rs.contains(cname) && txt.as_ref().is_none_or(|t| rs.contains(t)))
        }
        // Accepted already (a lost response, or a racing execution): done.
        Action::AcceptShareInvitation { .. } => e.code == "ResourceShareInvitationAlreadyAcceptedException",
        // `Resource.AlreadyAssociated` after a lost response: done if it is the association
        // asked for.
        Action::AssociateRouteTable {
            vpc_id,
            route_table_id,
            subnet_id,
        } => with_retry(cloud, policy, "DescribeRouteTables", || {
            cloud.describe_route_tables(vpc_id)
        })
        .await
        .is_ok_and(|ts| {
            ts.iter()
                .any(|t| &t.id == route_table_id && t.associations.iter().any(|a| &a.subnet_id == subnet_id))
        }),
        _ => false,
    }
}

/// An action that `run_*` does not carry out: outside the scope asked for.
fn outside_scope(action: &Action) -> CloudError {
    CloudError::new(
        ErrorKind::Internal,
        "Apply",
        "OutsideScope",
        format!("{} is outside the scope being applied", action.summary()),
    )
}

/// Carries out a directory action through the ports of [`DirectoryAccess::directory`]; without
/// them, an `InvalidInput` error says so.
async fn run_directory<C: Reads + ?Sized>(cloud: &C, action: &Action) -> CloudResult<String> {
    if !Scope::Directory.allows(action) {
        return Err(outside_scope(action));
    }
    let Some((dir, tags)) = cloud.directory() else {
        return Err(CloudError::new(
            ErrorKind::InvalidInput,
            "Directory",
            "NoDirectoryAccess",
            format!(
                "{}: this run has no access to Active Directory (no [directory] credentials given to it)",
                action.summary()
            ),
        ));
    };
    Ok(match action {
        Action::RegisterSpn {
            svm_id,
            record_tag,
            computer,
            alias,
            previous,
            account,
            missing,
        } => {
            // What is missing is claimed in the record before it is written: the record tag
            // goes first, so a write whose tag could not be kept (no permission, the 50-tag
            // limit) never happens, and values written by an attempt whose response was lost
            // are still ours at the next pass. A claimed value the write then did not add is
            // dropped from the record below (or, after a crash, found missing and added by the
            // next pass under the same claim).
            let mut claim = previous.clone();
            claim.added.extend(missing.iter().copied());
            claim.account = Some(account.clone());
            if claim != *previous {
                tags.tag_svm(svm_id, record_tag, &claim.to_tag_value()).await?;
            }
            let record = dir.ensure_spn(computer, alias, &claim).await?;
            if record != claim {
                tags.tag_svm(svm_id, record_tag, &record.to_tag_value()).await?;
            }
            format!(
                "{computer} carries them; ours recorded on {svm_id}: {}",
                record.to_tag_value()
            )
        }
        Action::UnregisterSpn {
            svm_id,
            record_tag,
            computer,
            record,
        } => {
            let removed = dir.remove_spn(computer, record).await?;
            tags.untag_svm(svm_id, record_tag).await?;
            if removed.is_empty() {
                format!("nothing of ours left on {computer}; record removed from {svm_id}")
            } else {
                format!(
                    "removed {} from {computer}; record removed from {svm_id}",
                    removed.join(", ")
                )
            }
        }
        Action::PublishDirectoryAlias {
            svm_id,
            owner,
            zone,
            alias,
            target,
            endpoint_id,
            ttl,
            record_tag,
            recorded,
            ..
        } => {
            // The tag first names every endpoint the CNAME may point at during the write (the
            // old ones and the new), so the other functions, which cannot read AD, keep them
            // all; once the CNAME points at the new one, the tag names only it. A crash between
            // leaves more endpoints kept, never one deleted under the CNAME.
            let mut during: Vec<String> = recorded.iter().map(ToString::to_string).collect();
            if !recorded.contains(endpoint_id) {
                during.push(endpoint_id.to_string());
                tags.tag_svm(svm_id, record_tag, &during.join(" ")).await?;
            }
            let done = dir.ensure_alias_cname(zone, alias, target, *ttl, owner, svm_id).await?;
            if recorded != std::slice::from_ref(endpoint_id) {
                tags.tag_svm(svm_id, record_tag, endpoint_id.as_str()).await?;
            }
            format!("{done}; {svm_id} records {endpoint_id} as its target")
        }
        Action::WithdrawDirectoryAlias {
            svm_id,
            owner,
            zone,
            alias,
            record_tag,
        } => {
            let done = match alias {
                Some(alias) => dir.remove_alias_cname(zone, alias, owner, svm_id).await?,
                None => "no record of ours".to_string(),
            };
            match record_tag {
                Some(key) => {
                    tags.untag_svm(svm_id, key).await?;
                    format!("{done}; target record removed from {svm_id}")
                }
                None => done,
            }
        }
        _ => return Err(outside_scope(action)),
    })
}

/// Carries out a DNS action (the alias's records) through [`DnsWrite`].
async fn run_dns<C: Reads + DnsWrite + ?Sized>(cloud: &C, action: &Action) -> CloudResult<String> {
    Ok(match action {
        Action::PublishAlias {
            hosted_zone_id,
            cname,
            replaces_cname,
            txt,
            replaces_txt,
            account,
        } => {
            let mut changes: Vec<RecordChange> = replaces_cname.iter().cloned().map(RecordChange::Delete).collect();
            changes.push(RecordChange::Create(cname.clone()));
            if let Some(txt) = txt {
                changes.extend(replaces_txt.iter().cloned().map(RecordChange::Delete));
                changes.push(RecordChange::Create(txt.clone()));
            }
            let change = match account {
                Some(a) => {
                    session(cloud, a)?
                        .change_resource_record_sets(hosted_zone_id, &changes)
                        .await?
                }
                None => cloud.change_resource_record_sets(hosted_zone_id, &changes).await?,
            };
            format!("change {change} submitted")
        }
        Action::DeleteAlias {
            hosted_zone_id,
            cname,
            txt,
            account,
        } => {
            let mut changes: Vec<RecordChange> = cname.iter().cloned().map(RecordChange::Delete).collect();
            changes.push(RecordChange::Delete(txt.clone()));
            let change = match account {
                Some(a) => {
                    session(cloud, a)?
                        .change_resource_record_sets(hosted_zone_id, &changes)
                        .await?
                }
                None => cloud.change_resource_record_sets(hosted_zone_id, &changes).await?,
            };
            format!("change {change} submitted")
        }
        Action::PublishVerificationTxt { hosted_zone_id, record } => {
            let change = cloud
                .change_resource_record_sets(hosted_zone_id, &[RecordChange::Create(record.clone())])
                .await?;
            format!("change {change} submitted")
        }
        Action::DeleteVerificationTxt { hosted_zone_id, record } => {
            let change = cloud
                .change_resource_record_sets(hosted_zone_id, &[RecordChange::Delete(record.clone())])
                .await?;
            format!("change {change} submitted")
        }
        _ => return Err(outside_scope(action)),
    })
}

/// The session opened for `account` when it was observed ([`Sharing::session`]).
fn session<C: Reads + ?Sized>(cloud: &C, account: &AccountId) -> CloudResult<Arc<dyn ConsumerCloud>> {
    cloud.sharing().and_then(|s| s.session(account)).ok_or_else(|| {
        CloudError::new(
            ErrorKind::AccessDenied,
            "AssumeRole",
            "NoSession",
            format!("no session in account {account}: it was not observed through its role by this cloud"),
        )
    })
}

/// RAM, for the share actions.
fn sharing<C: Reads + ?Sized>(cloud: &C) -> CloudResult<&dyn Sharing> {
    cloud.sharing().ok_or_else(|| {
        CloudError::new(
            ErrorKind::AccessDenied,
            "CreateResourceShare",
            "NoAccountAccess",
            "this cloud has no RAM adapter: consumers in other accounts cannot be served from it",
        )
    })
}

/// Carries out an infrastructure action (subnets, reservations, route tables, gateways,
/// configurations, endpoints, shares) through [`NetworkWrite`] and [`LatticeWrite`], and, for
/// consumers in other accounts, RAM and the sessions opened in them.
async fn run_infrastructure<C: Reads + InfraWrites + ?Sized>(cloud: &C, action: &Action) -> CloudResult<String> {
    Ok(match action {
        Action::CreateResourceShare {
            account,
            name,
            resource_arns,
            allow_external_principals,
            client_token,
            tags,
        } => {
            let share = sharing(cloud)?
                .create_resource_share(&CreateResourceShareRequest {
                    name: name.clone(),
                    resource_arns: resource_arns.clone(),
                    principals: vec![account.clone()],
                    allow_external_principals: *allow_external_principals,
                    client_token: client_token.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("created {} ({:?})", share.arn, share.status)
        }
        Action::AssociateResourceShare {
            share_arn,
            resource_arns,
            principals,
            ..
        } => {
            sharing(cloud)?
                .associate_resource_share(share_arn, resource_arns, principals)
                .await?;
            format!("associating with {share_arn}")
        }
        Action::AcceptShareInvitation {
            account,
            invitation_arn,
            ..
        } => {
            session(cloud, account)?.accept_share_invitation(invitation_arn).await?;
            format!("accepted {invitation_arn}")
        }
        Action::DisassociateResourceShare {
            share_arn,
            resource_arns,
            principals,
            ..
        } => {
            sharing(cloud)?
                .disassociate_resource_share(share_arn, resource_arns, principals)
                .await?;
            format!("disassociating from {share_arn}")
        }
        Action::CreateServiceNetworkAssociation {
            configuration_id,
            service_network,
            client_token,
            tags,
            ..
        } => {
            let a = cloud
                .create_service_network_association(&CreateServiceNetworkAssociationRequest {
                    configuration_id: configuration_id.clone(),
                    service_network: service_network.clone(),
                    client_token: client_token.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("created {} ({:?})", a.id, a.status)
        }
        Action::DeleteServiceNetworkAssociation { association_id, .. } => {
            cloud.delete_service_network_association(association_id).await?;
            format!("deleting {association_id}")
        }
        Action::DeleteResourceShare { share_arn, .. } => {
            sharing(cloud)?.delete_resource_share(share_arn).await?;
            format!("deleting {share_arn}")
        }
        Action::CreateSubnet {
            vpc_id,
            availability_zone,
            cidr,
            tags,
        } => {
            let s = cloud
                .create_subnet(&CreateSubnetRequest {
                    vpc_id: vpc_id.clone(),
                    availability_zone: availability_zone.clone(),
                    cidr: *cidr,
                    tags: tags.clone(),
                })
                .await?;
            format!("created {}", s.id)
        }
        Action::ReserveCidr {
            subnet_id,
            cidr,
            description,
            tags,
        } => {
            let r = cloud
                .create_subnet_cidr_reservation(&CreateCidrReservationRequest {
                    subnet_id: subnet_id.clone(),
                    cidr: *cidr,
                    reservation_type: crate::model::ReservationType::Prefix,
                    description: description.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("created {}", r.id)
        }
        Action::CreateResourceGateway {
            name,
            vpc_id,
            subnet_ids,
            security_group_ids,
            ipv4_addresses_per_eni,
            client_token,
            tags,
        } => {
            let g = cloud
                .create_resource_gateway(&CreateResourceGatewayRequest {
                    name: name.clone(),
                    vpc_id: vpc_id.clone(),
                    subnet_ids: subnet_ids.clone(),
                    security_group_ids: security_group_ids.clone(),
                    ipv4_addresses_per_eni: *ipv4_addresses_per_eni,
                    client_token: client_token.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("created {} ({:?})", g.id, g.status)
        }
        Action::UpdateResourceGateway {
            gateway_id,
            security_group_ids,
        } => {
            cloud.update_resource_gateway(gateway_id, security_group_ids).await?;
            format!("updated {gateway_id}")
        }
        Action::CreateResourceConfiguration {
            name,
            gateway_id,
            ip_address,
            port_ranges,
            custom_domain_name,
            domain_verification_id,
            client_token,
            tags,
        } => {
            let c = cloud
                .create_resource_configuration(&CreateResourceConfigurationRequest {
                    name: name.clone(),
                    gateway_id: gateway_id.clone(),
                    ip_address: *ip_address,
                    port_ranges: port_ranges.clone(),
                    custom_domain_name: custom_domain_name.clone(),
                    domain_verification_id: domain_verification_id.clone(),
                    client_token: client_token.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("created {} ({:?})", c.id, c.status)
        }
        Action::AssociateRouteTable {
            route_table_id,
            subnet_id,
            ..
        } => {
            let id = cloud.associate_route_table(route_table_id, subnet_id).await?;
            format!("associated ({id})")
        }
        Action::DisassociateRouteTable { association_id, .. } => {
            cloud.disassociate_route_table(association_id).await?;
            format!("disassociated {association_id}")
        }
        Action::UpdateResourceConfiguration {
            configuration_id,
            ip_address,
            port_ranges,
            tags,
        } => {
            cloud
                .update_resource_configuration(configuration_id, *ip_address, port_ranges, tags)
                .await?;
            format!("updated {configuration_id}")
        }
        Action::CreateVpcEndpoint {
            vpc_id,
            subnet_ids,
            security_group_ids,
            resource_configuration_arn,
            client_token,
            tags,
            account,
            private_dns,
        } => {
            let there = match account {
                Some(a) => Some(session(cloud, a)?),
                None => None,
            };
            let mut req = CreateVpcEndpointRequest {
                vpc_id: vpc_id.clone(),
                subnet_ids: subnet_ids.clone(),
                security_group_ids: security_group_ids.clone(),
                resource_configuration_arn: resource_configuration_arn.clone(),
                private_dns_enabled: true,
                private_dns: private_dns.clone(),
                client_token: client_token.clone(),
                tags: tags.clone(),
            };
            // Whether EC2 answers a client token reused after its endpoint was deleted with the
            // dead endpoint or with a new one is not documented (UNCONFIRMED). If it answers
            // with one that is deleting, deleted or ended, that is not the endpoint asked for:
            // ask again with a token derived from the dead one's id — deterministic, so a
            // replay of this step derives the same token, and different once the old one is gone.
            let mut dead = Vec::new();
            loop {
                let e = match &there {
                    Some(there) => there.create_vpc_endpoint(&req).await?,
                    None => cloud.create_vpc_endpoint(&req).await?,
                };
                if e.state.is_live() {
                    break format!("created {} ({})", e.id, e.state.as_str());
                }
                dead.push(e.id.to_string());
                if dead.len() > MAX_DEAD_TOKEN_REPLAYS {
                    return Err(CloudError::new(
                        ErrorKind::Internal,
                        "CreateVpcEndpoint",
                        "ClientTokenReplaysDeadEndpoint",
                        format!(
                            "client tokens keep returning ended endpoints ({}): not creating another",
                            dead.join(", ")
                        ),
                    ));
                }
                req.client_token = client_token_after_dead(client_token, &e.id);
            }
        }
        Action::DeleteVpcEndpoint {
            vpc_endpoint_id,
            account,
        } => {
            match account {
                Some(a) => session(cloud, a)?.delete_vpc_endpoint(vpc_endpoint_id).await?,
                None => cloud.delete_vpc_endpoint(vpc_endpoint_id).await?,
            }
            format!("deleting {vpc_endpoint_id}")
        }
        Action::DeleteResourceConfiguration { configuration_id } => {
            cloud.delete_resource_configuration(configuration_id).await?;
            format!("deleted {configuration_id}")
        }
        Action::DeleteResourceGateway { gateway_id } => {
            cloud.delete_resource_gateway(gateway_id).await?;
            format!("deleting {gateway_id}")
        }
        Action::StartDomainVerification {
            domain_name,
            client_token,
            tags,
        } => {
            let v = cloud
                .start_domain_verification(&StartDomainVerificationRequest {
                    domain_name: domain_name.clone(),
                    client_token: client_token.clone(),
                    tags: tags.clone(),
                })
                .await?;
            format!("started {} ({:?})", v.id, v.status)
        }
        Action::DeleteDomainVerification { verification_id, .. } => {
            cloud.delete_domain_verification(verification_id).await?;
            format!("deleted {verification_id}")
        }
        Action::ReleaseCidr { reservation_id } => {
            cloud.delete_subnet_cidr_reservation(reservation_id).await?;
            format!("deleted {reservation_id}")
        }
        Action::DeleteSubnet { subnet_id } => {
            cloud.delete_subnet(subnet_id).await?;
            format!("deleted {subnet_id}")
        }
        Action::PublishAlias { .. }
        | Action::DeleteAlias { .. }
        | Action::PublishVerificationTxt { .. }
        | Action::DeleteVerificationTxt { .. }
        | Action::RegisterSpn { .. }
        | Action::UnregisterSpn { .. }
        | Action::PublishDirectoryAlias { .. }
        | Action::WithdrawDirectoryAlias { .. } => return Err(outside_scope(action)),
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn waves_are_runs_of_one_kind_and_hold_each_hosted_zone_once() {
        use crate::ids::*;
        use crate::model::{RecordSet, RecordType};
        let p = |action| PlannedAction {
            action,
            why: String::new(),
        };
        let endpoint = |n: u32| {
            p(Action::DeleteVpcEndpoint {
                account: None,
                vpc_endpoint_id: VpcEndpointId::parse(format!("vpce-{n:017x}")).unwrap(),
            })
        };
        let alias = |zone: &str| {
            p(Action::DeleteAlias {
                account: None,
                hosted_zone_id: HostedZoneId::parse(zone).unwrap(),
                cname: None,
                txt: RecordSet {
                    name: format!("_fsxn-lattice.a.{zone}"),
                    record_type: RecordType::TXT,
                    ttl: 300,
                    values: vec!["\"x\"".into()],
                    routing: None,
                },
            })
        };
        let actions = vec![
            alias("Z1"),
            alias("Z2"),
            alias("Z1"),
            endpoint(1),
            endpoint(2),
            endpoint(3),
            p(Action::DeleteSubnet {
                subnet_id: SubnetId::parse("subnet-0123456789abcdef0").unwrap(),
            }),
            endpoint(4),
        ];
        let sizes: Vec<usize> = waves(&actions).iter().map(Vec::len).collect();
        // Z1 twice: two waves; three endpoints together; the subnet alone; the last endpoint
        // after it (order across kinds is the planner's dependency order).
        assert_eq!(sizes, [2, 1, 3, 1, 1]);
        assert_eq!(waves(&actions).concat().len(), actions.len());
    }
    use super::*;

    #[test]
    fn backoff_is_full_jitter_under_a_capped_exponential() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            // Full jitter under an exponential cap: base × 2^attempt, at most max_delay.
            let cap = p.base_delay.saturating_mul(1 << attempt).min(p.max_delay);
            assert_eq!(p.delay(attempt, 0.0), Duration::from_millis(1), "never zero");
            assert_eq!(p.delay(attempt, 0.5), cap / 2);
            assert_eq!(p.delay(attempt, 1.0), cap, "attempt {attempt}");
            for bad in [-1.0, 7.0, f64::NAN, f64::INFINITY] {
                let d = p.delay(attempt, bad);
                assert!(d >= Duration::from_millis(1) && d <= cap, "{bad}: {d:?}");
            }
        }
        assert_eq!(p.delay(1, 1.0), p.base_delay * 2, "the first retry is short");
        assert_eq!(p.delay(30, 1.0), p.max_delay);
    }

    /// A clock that records the sleeps it is asked for; its jitter is always 0.25.
    #[derive(Default)]
    struct Sleeps(std::sync::Mutex<Vec<Duration>>);

    const JITTER: f64 = 0.25;

    #[async_trait::async_trait]
    impl Clock for Sleeps {
        fn now(&self) -> u64 {
            0
        }
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
        fn jitter(&self) -> f64 {
            JITTER
        }
    }

    /// Runs `with_retry_counted` over `answers` (one per attempt, in order): the result, the
    /// attempts and the sleeps.
    fn retried(policy: &RetryPolicy, answers: Vec<CloudResult<u32>>) -> (CloudResult<u32>, u32, Vec<Duration>) {
        let clock = Sleeps::default();
        let mut answers = answers.into_iter();
        let (result, attempts) = pollster::block_on(with_retry_counted(&clock, policy, "key", || {
            let answer = answers.next().expect("an answer per attempt");
            async move { answer }
        }));
        (result, attempts, clock.0.into_inner().unwrap())
    }

    #[test]
    fn with_retry_retries_what_the_policy_retries_sleeping_its_delays_and_returns_the_last_result() {
        let p = RetryPolicy::default();
        let err = |kind| CloudError::new(kind, "Op", "Code", "message");
        // Transient and AccessDenied are retried, with delay(attempt, jitter) between attempts.
        let (r, attempts, sleeps) = retried(
            &p,
            vec![Err(err(ErrorKind::Transient)), Err(err(ErrorKind::AccessDenied)), Ok(7)],
        );
        assert_eq!((r, attempts), (Ok(7), 3));
        assert_eq!(sleeps, [p.delay(1, JITTER), p.delay(2, JITTER)]);
        // A server's Retry-After is honoured instead.
        let mut throttled = err(ErrorKind::Transient);
        throttled.retry_after = Some(Duration::from_secs(3));
        let (r, attempts, sleeps) = retried(&p, vec![Err(throttled), Ok(1)]);
        assert_eq!((r, attempts, sleeps), (Ok(1), 2, vec![Duration::from_secs(3)]));
        // Anything else is not retried: one attempt, no sleep, that error.
        let (r, attempts, sleeps) = retried(&p, vec![Err(err(ErrorKind::NotFound))]);
        assert_eq!((r, attempts, sleeps), (Err(err(ErrorKind::NotFound)), 1, vec![]));
        // Spent: max_attempts attempts, a sleep between each two, the last error.
        let p = RetryPolicy { max_attempts: 3, ..p };
        let (r, attempts, sleeps) = retried(&p, (0..3).map(|_| Err(err(ErrorKind::AccessDenied))).collect());
        assert_eq!((r, attempts), (Err(err(ErrorKind::AccessDenied)), 3));
        assert_eq!(sleeps, [p.delay(1, JITTER), p.delay(2, JITTER)]);
    }
}
