//! observe → plan → apply, repeated until the plan is empty, something is refused, or the
//! pass budget is spent. A reconcile ignores *why* it was called: every trigger leads here.

use crate::apply::{
    AllScope, Applied, ApplyOptions, DirectoryScope, DnsScope, Executes, InfrastructureScope, Outcome, ScopeType,
    apply_with,
};
use crate::concurrency::{Gates, RateLimiter};
use crate::config::Config;
use crate::error::{CloudError, ErrorKind};
use crate::observe::{ZoneCache, observe_cached};
use crate::plan::{Action, Plan, PlannedAction, plan};
use crate::ports::Cloud;
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::time::Duration;

/// Which actions a reconcile may carry out. Separate Lambdas own separate scopes: the
/// infrastructure functions build gateways, configurations and endpoints; the alias function
/// publishes DNS. Actions outside the scope are counted as `deferred`, never applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything.
    #[default]
    All,
    /// Subnets, reservations, gateways, configurations, endpoints.
    Infrastructure,
    /// Alias CNAMEs and their ownership records.
    Dns,
    /// Active Directory (with `[directory]`): the alias's SPNs and its AD DNS record.
    Directory,
}

impl Scope {
    /// Whether the scope covers this action.
    pub fn allows(self, action: &Action) -> bool {
        let dns = matches!(
            action,
            Action::PublishAlias { .. }
                | Action::DeleteAlias { .. }
                | Action::PublishVerificationTxt { .. }
                | Action::DeleteVerificationTxt { .. }
        );
        let directory = matches!(
            action,
            Action::RegisterSpn { .. }
                | Action::UnregisterSpn { .. }
                | Action::PublishDirectoryAlias { .. }
                | Action::WithdrawDirectoryAlias { .. }
        );
        match self {
            Self::All => true,
            Self::Infrastructure => !dns && !directory,
            Self::Dns => dns,
            Self::Directory => directory,
        }
    }

    /// Keeps the actions this scope carries out. Outside [`Scope::All`], while an alias
    /// withdrawal is left to the DNS function, no teardown happens either (endpoints,
    /// configurations, gateways, reservations, subnets): the plan withdraws DNS before tearing
    /// down, and an endpoint deleted first leaves its alias dangling — for a consumer removed
    /// from the config, for ever, since its zone is known only from our endpoints' tags.
    /// Returns whether teardown was held back so: what waits on it (a configuration for its
    /// endpoints, a gateway for its configurations) waits on the DNS function, not on AWS.
    pub fn retain(self, actions: &mut Vec<PlannedAction>) -> bool {
        let withdrawal_left = actions.iter().any(|a| {
            matches!(
                a.action,
                Action::DeleteAlias { .. } | Action::WithdrawDirectoryAlias { .. }
            ) && !self.allows(&a.action)
        });
        actions.retain(|a| self.allows(&a.action) && !(withdrawal_left && a.action.is_teardown()));
        withdrawal_left
    }
}

/// Options of a reconcile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconcileOptions {
    /// At most this many observe → plan → apply passes.
    pub max_passes: u32,
    /// When the plan only waits (endpoint pending, gateway deleting): sleep and poll again, up
    /// to `max_wait` in all. When zero, return `Waiting` at once (Step Functions polls instead).
    pub poll_interval: Duration,
    /// Total waiting budget.
    pub max_wait: Duration,
    /// Apply options.
    pub apply: ApplyOptions,
    /// What may be applied.
    pub scope: Scope,
    /// Whether this run reads and writes Active Directory when its cloud can
    /// ([`crate::ports::DirectoryAccess`]): the CLI's and the simulation's clouds reach it for
    /// every scope, but of the deployed functions only Directory does, so the step turns it
    /// off for the others (their plans then leave the directory to it).
    pub directory: bool,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        Self {
            max_passes: 30,
            poll_interval: Duration::from_secs(15),
            max_wait: Duration::from_secs(15 * 60),
            apply: ApplyOptions::default(),
            scope: Scope::All,
            directory: true,
        }
    }
}

/// How a reconcile ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileStatus {
    /// Nothing left to do or wait for.
    Converged,
    /// Only waiting is left (poll again later).
    Waiting,
    /// An action failed with a non-transient error, or observing failed.
    Failed,
    /// The pass budget ran out with actions still planned.
    PassBudgetExhausted,
}

/// Progress, reported as it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A plan was made.
    Planned {
        /// Pass number (1-based).
        pass: u32,
        /// The plan.
        plan: Box<Plan>,
    },
    /// An action was applied.
    Applied {
        /// Pass.
        pass: u32,
        /// What.
        applied: Box<Applied>,
    },
    /// Waiting before the next poll.
    Waiting {
        /// Pass.
        pass: u32,
        /// For how long.
        seconds: u64,
        /// What for.
        what: Vec<String>,
    },
}

/// The result of a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileReport {
    /// How it ended.
    pub status: ReconcileStatus,
    /// Passes made.
    pub passes: u32,
    /// Everything applied.
    pub applied: Vec<Applied>,
    /// The last plan made.
    pub last_plan: Plan,
    /// The error that ended it, if any.
    pub error: Option<CloudError>,
    /// Actions of the last plan left to another scope.
    pub deferred: usize,
}

impl ReconcileReport {
    /// The stable error type a function returns for this report, if it fails: the error
    /// that ended it; `Transient` when the pass budget ran out (the next attempt goes on);
    /// `Internal` for a failure without an error. Converged and waiting are not failures (the
    /// state machine polls a waiting step). `core::step` maps reports with this, so the
    /// functions and everything that reads a report agree.
    pub fn error_type(&self) -> Option<ErrorKind> {
        match self.status {
            ReconcileStatus::Converged | ReconcileStatus::Waiting => None,
            ReconcileStatus::Failed => Some(self.error.as_ref().map_or(ErrorKind::Internal, |e| e.kind)),
            ReconcileStatus::PassBudgetExhausted => Some(ErrorKind::Transient),
        }
    }
}

/// Runs passes until converged, waiting, failed or out of budget, in `options.scope`, on a cloud
/// with every port: [`reconcile_in`] for the scope's type.
pub async fn reconcile<C: Cloud + ?Sized>(
    cloud: &C,
    config: &Config,
    options: &ReconcileOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> ReconcileReport {
    match options.scope {
        Scope::All => reconcile_in::<AllScope, C>(cloud, config, options, progress).await,
        Scope::Infrastructure => reconcile_in::<InfrastructureScope, C>(cloud, config, options, progress).await,
        Scope::Dns => reconcile_in::<DnsScope, C>(cloud, config, options, progress).await,
        Scope::Directory => reconcile_in::<DirectoryScope, C>(cloud, config, options, progress).await,
    }
}

/// Runs passes until converged, waiting, failed or out of budget, in scope `S` (which takes the
/// place of `options.scope`), on a cloud with the reads and only the writes of `S`.
pub async fn reconcile_in<S: ScopeType, C: Executes<S> + ?Sized>(
    cloud: &C,
    config: &Config,
    options: &ReconcileOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> ReconcileReport {
    let scope = S::SCOPE;
    let mut report = ReconcileReport {
        status: ReconcileStatus::PassBudgetExhausted,
        passes: 0,
        applied: Vec::new(),
        last_plan: Plan::default(),
        error: None,
        deferred: 0,
    };
    let mut waited = Duration::ZERO;
    let end = |mut r: ReconcileReport, status, error| {
        r.status = status;
        r.error = error;
        r
    };
    let gates = Gates::new(options.apply.concurrency);
    let started_ms = cloud.now_millis();
    let limiter = RateLimiter::new(options.apply.rates, started_ms);
    let rate_wait_ms = options.apply.rate_wait.as_millis() as u64;
    // A Lambda step (no polling here: Step Functions polls) has one rate-wait budget for all its
    // passes, or ten passes of 20 s each would outlive its 120 s timeout (found by review: the
    // passes share the buckets, so each one waited its full budget for a few tokens). A
    // polling reconcile (the CLI) gives each pass its own.
    let step_deadline = options
        .poll_interval
        .is_zero()
        .then(|| started_ms.saturating_add(rate_wait_ms));
    let mut zones = ZoneCache::default();
    for pass in 1..=options.max_passes {
        report.passes = pass;
        let (observed, desired) = match observe_cached(
            cloud,
            config,
            &options.apply.retry,
            &gates,
            &mut zones,
            options.directory,
        )
        .await
        {
            Ok(o) => o,
            Err(e) => return end(report, ReconcileStatus::Failed, Some(e)),
        };
        let mut p = plan(config, &desired, &observed);
        progress(Progress::Planned {
            pass,
            plan: Box::new(p.clone()),
        });
        // Directory actions left by another scope are not counted: no function of the state
        // machine's Provision/PublishAlias loop does them (the directory's function, or the
        // scheduled reconcile, does), so counting them would send the execution back to
        // Provision for nothing until its poll budget ran out.
        let counted = |v: &[PlannedAction]| v.iter().filter(|a| !Scope::Directory.allows(&a.action)).count();
        let before = counted(&p.actions);
        let teardown_held = scope.retain(&mut p.actions);
        report.deferred = before - counted(&p.actions);
        report.last_plan = p;
        if report.last_plan.actions.is_empty() {
            // Teardown held for the DNS function: this scope is done; polling would only wait
            // for a function the state machine runs after this one. Likewise the DNS scope with
            // infrastructure work left (the teardown its withdrawal just unblocked, a build a
            // racing event asked for): what it waits on may be that very work, which no amount
            // of polling from here applies — the state machine runs Provision again when
            // PublishAlias reports `deferred` (chaos at fault rate 0 found PublishAlias retrying
            // `NotReady` for five minutes on "waits for its endpoints to go", then failing).
            let infrastructure_left = scope == Scope::Dns && report.deferred > 0;
            // Deletions held for the Directory function wait on it, not on AWS: likewise done
            // here (the state machine runs it next, and it reports the deletions it unblocked
            // as `deferred`, which sends the execution back to Provision).
            let directory_left = !report.last_plan.held_for_directory.is_empty();
            // The Directory function polls only for its own waits (an endpoint to become
            // available for the SPNs): deletions and builds in progress are Provision's.
            let waits = if scope == Scope::Directory {
                &report.last_plan.directory_waiting
            } else {
                &report.last_plan.waiting
            };
            if waits.is_empty() || teardown_held || infrastructure_left || directory_left {
                return end(report, ReconcileStatus::Converged, None);
            }
            if options.poll_interval.is_zero() || waited >= options.max_wait {
                return end(report, ReconcileStatus::Waiting, None);
            }
            let what = report.last_plan.waiting.clone();
            progress(Progress::Waiting {
                pass,
                seconds: options.poll_interval.as_secs(),
                what,
            });
            cloud.sleep(options.poll_interval).await;
            waited += options.poll_interval;
            continue;
        }
        let deadline_ms = step_deadline.unwrap_or_else(|| cloud.now_millis().saturating_add(rate_wait_ms));
        let applied = apply_with::<S, C>(
            cloud,
            &report.last_plan,
            &options.apply,
            &gates,
            &limiter,
            deadline_ms,
            &mut |a| {
                progress(Progress::Applied {
                    pass,
                    applied: Box::new(a.clone()),
                });
                ControlFlow::Continue(())
            },
        )
        .await;
        // A pass where nothing was done (every delete deferred, every create already there)
        // would repeat forever: wait for the world to move, as for a plan that only waits.
        let progressed = applied
            .applied
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Done { .. }));
        report.applied.extend(applied.applied);
        if let Some((_, e)) = applied.failed {
            return end(report, ReconcileStatus::Failed, Some(e));
        }
        if !progressed {
            report
                .last_plan
                .waiting
                .push("every planned action was deferred or already done".into());
            if options.poll_interval.is_zero() || waited >= options.max_wait {
                return end(report, ReconcileStatus::Waiting, None);
            }
            cloud.sleep(options.poll_interval).await;
            waited += options.poll_interval;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::HostedZoneId;
    use crate::model::{RecordSet, RecordType};

    fn planned(action: Action) -> PlannedAction {
        PlannedAction {
            action,
            why: String::new(),
        }
    }

    /// One mapping from a report to a function's error, the one `core::step` uses: waiting is
    /// polled by the state machine, not an error (it used to say `NotReady` here while the
    /// functions said `waiting`).
    #[test]
    fn a_report_fails_a_function_only_when_it_ended_in_error() {
        let report = |status, error: Option<ErrorKind>| ReconcileReport {
            status,
            passes: 3,
            applied: Vec::new(),
            last_plan: Plan::default(),
            error: error.map(|k| CloudError {
                kind: k,
                operation: "CreateResourceGateway".into(),
                code: String::new(),
                message: String::new(),
                retry_after: None,
            }),
            deferred: 0,
        };
        assert_eq!(report(ReconcileStatus::Converged, None).error_type(), None);
        assert_eq!(report(ReconcileStatus::Waiting, None).error_type(), None);
        assert_eq!(
            report(ReconcileStatus::Failed, Some(ErrorKind::QuotaExceeded)).error_type(),
            Some(ErrorKind::QuotaExceeded)
        );
        assert_eq!(
            report(ReconcileStatus::Failed, None).error_type(),
            Some(ErrorKind::Internal)
        );
        assert_eq!(
            report(ReconcileStatus::PassBudgetExhausted, None).error_type(),
            Some(ErrorKind::Transient)
        );
    }

    /// The chaos harness found it running the deployed split: Provision deleted the endpoint of
    /// a consumer removed from the config before PublishAlias withdrew its alias, and with the
    /// endpoint went the only record of the consumer's zone — the CNAME stayed for ever.
    #[test]
    fn infrastructure_tears_nothing_down_while_an_alias_withdrawal_is_left_to_dns() {
        let zone = HostedZoneId::parse("Z0000000000000000001").expect("zone");
        let withdraw = planned(Action::DeleteAlias {
            account: None,
            hosted_zone_id: zone,
            cname: None,
            txt: RecordSet {
                name: "_fsxn-lattice.files.corp.example".into(),
                record_type: RecordType::TXT,
                ttl: 300,
                values: vec![],
                routing: None,
            },
        });
        let teardown = planned(Action::DeleteVpcEndpoint {
            account: None,
            vpc_endpoint_id: "vpce-0123456789abcdef0".parse().expect("id"),
        });
        let build = planned(Action::CreateSubnet {
            vpc_id: "vpc-0123456789abcdef0".parse().expect("id"),
            availability_zone: "us-east-1a".into(),
            cidr: "10.0.0.0/28".parse().expect("cidr"),
            tags: Default::default(),
        });
        let all = vec![withdraw.clone(), build.clone(), teardown.clone()];
        let kept = |scope: Scope, mut v: Vec<PlannedAction>| {
            let held = scope.retain(&mut v);
            (v, held)
        };
        assert_eq!(kept(Scope::Infrastructure, all.clone()), (vec![build], true));
        assert_eq!(kept(Scope::Dns, all.clone()), (vec![withdraw.clone()], false));
        assert_eq!(kept(Scope::All, all.clone()), (all, false));
        // Nothing left to withdraw: the teardown goes ahead.
        assert_eq!(
            kept(Scope::Infrastructure, vec![teardown.clone()]),
            (vec![teardown], false)
        );
    }
}
