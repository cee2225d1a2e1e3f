//! How many AWS calls run at once, and how fast writes may go: a bound on calls in flight per
//! service ([`Gates`]) and client-side token buckets per API operation ([`RateLimiter`], sized
//! by [`bucket`] from AWS's documented request throttling), so a wave of creates is not
//! throttled by design. Reads are bounded by the gates only: 8 in flight is far below EC2's
//! non-mutating bucket (100, refilled at 20 per second).
//!
//! VPC Lattice and FSx document no request rate; they throttle with `ThrottlingException`
//! (VPC Lattice with `retryAfterSeconds`, which the retry loop honours). Route 53 also rejects a
//! change to a hosted zone while its previous one is processed (`PriorRequestNotComplete`):
//! [`crate::apply::waves`] never sends two changes of one zone at once.

use crate::plan::Action;
use crate::ports::Clock;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The AWS service a call goes to: the unit of [`Concurrency::in_flight`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    /// Amazon EC2.
    Ec2,
    /// VPC Lattice (and the Resource Groups Tagging API its lists use).
    Lattice,
    /// Route 53.
    Route53,
    /// Amazon FSx.
    Fsx,
    /// Active Directory (LDAP), with `[directory]`.
    Directory,
    /// AWS RAM and STS, with `[[accounts]]`.
    Ram,
}

/// How many calls may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Calls in flight per [`Service`]; 1 with `serial` makes every call wait for the previous
    /// one (what fsxn-lattice did before it issued calls concurrently; kept for comparison).
    pub in_flight: usize,
    /// One gate for all services instead of one each.
    pub serial: bool,
}

impl Default for Concurrency {
    /// 8 per service: the reads of a 50-SVM fleet fit in one round each (8 FSx VPCs or zones at
    /// a time), far below EC2's non-mutating bucket.
    fn default() -> Self {
        Self {
            in_flight: 8,
            serial: false,
        }
    }
}

impl Concurrency {
    /// Every call after the previous one.
    pub const SERIAL: Concurrency = Concurrency {
        in_flight: 1,
        serial: true,
    };
}

/// The semaphores of a [`Concurrency`], one per service (or one for all when serial). A call
/// holds its service's permit while it runs, retries included.
#[derive(Debug)]
pub struct Gates {
    gates: Vec<Semaphore>,
}

impl Gates {
    /// Gates for `c`.
    pub fn new(c: Concurrency) -> Self {
        let n = if c.serial { 1 } else { 6 };
        Self {
            gates: (0..n).map(|_| Semaphore::new(c.in_flight.max(1))).collect(),
        }
    }

    /// Waits for a permit of `service`.
    pub async fn enter(&self, service: Service) -> SemaphorePermit<'_> {
        let gate = &self.gates[(service as usize) % self.gates.len()];
        // Never closed: `acquire` fails only on a closed semaphore.
        gate.acquire().await.expect("gates are never closed")
    }
}

/// A token bucket: `capacity` calls at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens when full (the burst).
    pub capacity: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

/// Which write buckets apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateLimits {
    /// AWS's documented request buckets, one per API operation ([`bucket`]).
    #[default]
    Documented,
    /// None (what fsxn-lattice did before it had a limiter; kept for comparison).
    Unlimited,
}

/// The AWS API operation an action's write calls (a `CreateVpcEndpoint` action may also read to
/// find out that it was already done; that read is not rate-limited here).
pub fn operation(action: &Action) -> &'static str {
    match action {
        Action::CreateSubnet { .. } => "CreateSubnet",
        Action::AssociateRouteTable { .. } => "AssociateRouteTable",
        Action::ReserveCidr { .. } => "CreateSubnetCidrReservation",
        Action::CreateResourceGateway { .. } => "CreateResourceGateway",
        Action::UpdateResourceGateway { .. } => "UpdateResourceGateway",
        Action::CreateResourceConfiguration { .. } => "CreateResourceConfiguration",
        Action::UpdateResourceConfiguration { .. } => "UpdateResourceConfiguration",
        Action::CreateVpcEndpoint { .. } => "CreateVpcEndpoint",
        Action::PublishAlias { .. } | Action::DeleteAlias { .. } => "ChangeResourceRecordSets",
        Action::DeleteVpcEndpoint { .. } => "DeleteVpcEndpoints",
        Action::DeleteResourceConfiguration { .. } => "DeleteResourceConfiguration",
        Action::DeleteResourceGateway { .. } => "DeleteResourceGateway",
        Action::ReleaseCidr { .. } => "DeleteSubnetCidrReservation",
        Action::DisassociateRouteTable { .. } => "DisassociateRouteTable",
        Action::DeleteSubnet { .. } => "DeleteSubnet",
        Action::RegisterSpn { .. } | Action::UnregisterSpn { .. } => "ModifyComputerSpn",
        Action::PublishDirectoryAlias { .. } | Action::WithdrawDirectoryAlias { .. } => "ModifyDnsNode",
        Action::CreateServiceNetworkAssociation { .. } => "CreateServiceNetworkResourceAssociation",
        Action::DeleteServiceNetworkAssociation { .. } => "DeleteServiceNetworkResourceAssociation",
        Action::CreateResourceShare { .. } => "CreateResourceShare",
        Action::AssociateResourceShare { .. } => "AssociateResourceShare",
        Action::AcceptShareInvitation { .. } => "AcceptResourceShareInvitation",
        Action::DisassociateResourceShare { .. } => "DisassociateResourceShare",
        Action::DeleteResourceShare { .. } => "DeleteResourceShare",
        Action::StartDomainVerification { .. } => "StartDomainVerification",
        Action::DeleteDomainVerification { .. } => "DeleteDomainVerification",
        Action::PublishVerificationTxt { .. } | Action::DeleteVerificationTxt { .. } => "ChangeResourceRecordSets",
    }
}

/// The service of an operation from [`operation`].
pub fn service_of(operation: &str) -> Service {
    match operation {
        "ChangeResourceRecordSets" => Service::Route53,
        "ModifyComputerSpn" | "ModifyDnsNode" => Service::Directory,
        "CreateResourceShare"
        | "AssociateResourceShare"
        | "AcceptResourceShareInvitation"
        | "DisassociateResourceShare"
        | "DeleteResourceShare" => Service::Ram,
        "CreateResourceGateway"
        | "UpdateResourceGateway"
        | "DeleteResourceGateway"
        | "CreateResourceConfiguration"
        | "UpdateResourceConfiguration"
        | "DeleteResourceConfiguration"
        | "CreateServiceNetworkResourceAssociation"
        | "DeleteServiceNetworkResourceAssociation" => Service::Lattice,
        _ => Service::Ec2,
    }
}

/// AWS's request bucket for `operation` (one bucket per API operation and account and Region).
///
/// - EC2 ("Request throttling for the Amazon EC2 API", "Request token bucket sizes and refill
///   rates", read 2026-11-27): `CreateVpcEndpoint` and `DeleteVpcEndpoints` 4, refilled at 0.3
///   per second; `CreateSubnetCidrReservation` and `DeleteSubnetCidrReservation` 5 and 1 per
///   second (uncategorized actions); every other mutating action 50 and 5 per second.
/// - Route 53 ("Quotas on API requests"): 50 and 10 per second.
/// - VPC Lattice documents no request rate: EC2's mutating figures, assumed.
pub fn bucket(operation: &str) -> Bucket {
    let b = |capacity, per_second| Bucket { capacity, per_second };
    match operation {
        "CreateVpcEndpoint" | "DeleteVpcEndpoints" => b(4.0, 0.3),
        "CreateSubnetCidrReservation" | "DeleteSubnetCidrReservation" => b(5.0, 1.0),
        "ChangeResourceRecordSets" => b(50.0, 10.0),
        _ => b(50.0, 5.0),
    }
}

/// Token buckets on a [`Clock`]: [`RateLimiter::take`] waits until a token of the operation is
/// there, but never past a deadline. One per reconcile, so its passes share the buckets; full
/// when it starts, as AWS's are for a caller that was idle (a Lambda's polls are 30 s apart,
/// enough to refill even `CreateVpcEndpoint`'s 4 tokens; executions running at once share the
/// account's buckets, and what AWS then throttles is retried).
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    start_ms: u64,
    /// Tokens and the time (ms) they were counted at, per operation.
    state: Mutex<BTreeMap<&'static str, (f64, u64)>>,
}

impl RateLimiter {
    /// Full buckets, counted from `now_ms`.
    pub fn new(limits: RateLimits, now_ms: u64) -> Self {
        Self {
            limits,
            start_ms: now_ms,
            state: Mutex::new(BTreeMap::new()),
        }
    }

    /// Takes a token of `operation`, sleeping on `clock` until there is one; returns the time
    /// waited. `Err(wait)` when the next token comes after `deadline_ms`: nothing was taken.
    pub async fn take<C: Clock + ?Sized>(
        &self,
        clock: &C,
        operation: &'static str,
        deadline_ms: u64,
    ) -> Result<Duration, Duration> {
        if self.limits == RateLimits::Unlimited {
            return Ok(Duration::ZERO);
        }
        let bucket = bucket(operation);
        let mut waited = Duration::ZERO;
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let (tokens, at) = state.entry(operation).or_insert((bucket.capacity, self.start_ms));
                let now = clock.now_millis();
                let elapsed = now.saturating_sub(*at) as f64 / 1000.0;
                *tokens = (*tokens + elapsed * bucket.per_second).min(bucket.capacity);
                *at = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    return Ok(waited);
                }
                let missing = 1.0 - *tokens;
                let wait = Duration::from_millis(((missing / bucket.per_second) * 1000.0).ceil().max(1.0) as u64);
                if now.saturating_add(wait.as_millis() as u64) > deadline_ms {
                    return Err(wait);
                }
                wait
            };
            clock.sleep(wait).await;
            waited += wait;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A clock that only moves when slept on.
    struct Fake(AtomicU64);
    #[async_trait]
    impl Clock for Fake {
        fn now(&self) -> u64 {
            self.0.load(Ordering::SeqCst) / 1000
        }
        fn now_millis(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
        async fn sleep(&self, d: Duration) {
            self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
        }
        fn jitter(&self) -> f64 {
            0.0
        }
    }

    #[test]
    fn a_bucket_gives_its_burst_then_its_refill_rate_and_never_waits_past_the_deadline() {
        let clock = Fake(AtomicU64::new(0));
        let limiter = RateLimiter::new(RateLimits::Documented, 0);
        let take = || pollster::block_on(limiter.take(&clock, "CreateVpcEndpoint", 10_000));
        // CreateVpcEndpoint's bucket: 4 at once, then one per 1/0.3 s.
        for _ in 0..4 {
            assert_eq!(take(), Ok(Duration::ZERO));
        }
        assert_eq!(take(), Ok(Duration::from_millis(3334)));
        assert_eq!(take(), Ok(Duration::from_millis(3333)));
        assert_eq!(clock.now_millis(), 6667);
        // The next token would come at 10 000 ms: still inside the 10 s budget.
        assert_eq!(take(), Ok(Duration::from_millis(3333)));
        // Then 13 334 ms: past it. Nothing is taken and no time passes.
        assert_eq!(take(), Err(Duration::from_millis(3334)));
        assert_eq!(clock.now_millis(), 10_000);
        // Other operations have their own buckets (AWS keeps one per API action).
        assert_eq!(
            pollster::block_on(limiter.take(&clock, "DeleteVpcEndpoints", 10_000)),
            Ok(Duration::ZERO)
        );
        let unlimited = RateLimiter::new(RateLimits::Unlimited, 0);
        for _ in 0..100 {
            assert_eq!(
                pollster::block_on(unlimited.take(&clock, "CreateVpcEndpoint", 0)),
                Ok(Duration::ZERO)
            );
        }
    }

    #[test]
    fn serial_gates_let_one_call_through_at_a_time_and_concurrent_ones_one_per_service_each() {
        let serial = Gates::new(Concurrency::SERIAL);
        let held = pollster::block_on(serial.enter(Service::Ec2));
        assert!(
            serial.gates[0].try_acquire().is_err(),
            "serial: a Route 53 call waits for the EC2 one"
        );
        drop(held);
        let concurrent = Gates::new(Concurrency {
            in_flight: 2,
            serial: false,
        });
        let _a = pollster::block_on(concurrent.enter(Service::Ec2));
        let _b = pollster::block_on(concurrent.enter(Service::Ec2));
        assert_eq!(concurrent.gates[Service::Ec2 as usize].available_permits(), 0);
        assert_eq!(concurrent.gates[Service::Route53 as usize].available_permits(), 2);
    }
}
