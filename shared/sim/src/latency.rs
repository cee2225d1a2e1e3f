//! Latency in the simulated cloud: [`Timed`] makes every port call of a [`SimCloud`] take
//! virtual time, so calls that overlap finish together and a reconcile's wall time is its
//! critical path, and [`run`] is the executor that moves the virtual clock from one call's
//! response to the next.
//!
//! A call's time is its service's figure ([`Latency`]) times its round trips: 1, plus each
//! further page or per-item call the AWS adapter makes after it (pages are read one after
//! another; calls the adapter makes at once, such as the DNS attributes of every VPC, count as
//! one). The figures are assumptions, not AWS data: AWS publishes no API latency. They are the
//! order of magnitude of a same-region call from a Lambda function (tens of milliseconds; writes
//! that start asynchronous work return about as fast). [`Latency::UNIT`] gives every call 1 ms,
//! so a run's wall time in milliseconds counts the round trips on its critical path.
//!
//! Without [`Timed`], a [`SimCloud`] answers at once, as every other test and the chaos
//! campaigns use it.

use crate::SimCloud;
use async_trait::async_trait;
use fsxn_lattice_core::concurrency::Service;
use fsxn_lattice_core::directory::{AliasDnsState, ComputerState, SpnRecord};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Time per round trip, per service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// EC2.
    pub ec2: Duration,
    /// VPC Lattice and the tagging API.
    pub lattice: Duration,
    /// Route 53.
    pub route53: Duration,
    /// FSx.
    pub fsx: Duration,
    /// Active Directory (LDAP to a DC in the VPC).
    pub directory: Duration,
}

impl Latency {
    /// Assumed same-region figures (see the module docs): EC2 60 ms, VPC Lattice 50 ms,
    /// Route 53 40 ms (its API is served from us-east-1), FSx 80 ms, a DC in the VPC 5 ms.
    pub const ASSUMED: Latency = Latency {
        ec2: Duration::from_millis(60),
        lattice: Duration::from_millis(50),
        route53: Duration::from_millis(40),
        fsx: Duration::from_millis(80),
        directory: Duration::from_millis(5),
    };
    /// 1 ms for every call: wall time in ms = round trips on the critical path.
    pub const UNIT: Latency = Latency {
        ec2: Duration::from_millis(1),
        lattice: Duration::from_millis(1),
        route53: Duration::from_millis(1),
        fsx: Duration::from_millis(1),
        directory: Duration::from_millis(1),
    };

    fn of(&self, s: Service) -> Duration {
        match s {
            Service::Ec2 => self.ec2,
            Service::Lattice => self.lattice,
            Service::Route53 => self.route53,
            Service::Fsx => self.fsx,
            Service::Directory => self.directory,
            // RAM and STS: regional control-plane APIs, as slow as VPC Lattice's.
            Service::Ram => self.lattice,
        }
    }
}

/// A [`SimCloud`] whose calls take time. Run what uses it under [`run`].
#[derive(Debug)]
pub struct Timed<'a> {
    /// The world.
    pub cloud: &'a SimCloud,
    latency: Latency,
    timers: Mutex<Timers>,
    slept: Mutex<Duration>,
    busy: Mutex<Busy>,
}

/// Time with at least one call in flight.
#[derive(Debug, Default)]
struct Busy {
    in_flight: usize,
    since: u64,
    total: u64,
}

#[derive(Debug, Default)]
struct Timers {
    seq: u64,
    /// (deadline µs, sequence) → the waker of the call or sleep due then.
    due: std::collections::BTreeMap<(u64, u64), Waker>,
}

impl<'a> Timed<'a> {
    /// `cloud` with `latency`.
    pub fn new(cloud: &'a SimCloud, latency: Latency) -> Self {
        Self {
            cloud,
            latency,
            timers: Mutex::new(Timers::default()),
            slept: Mutex::new(Duration::ZERO),
            busy: Mutex::new(Busy::default()),
        }
    }

    /// Time spent in [`Clock::sleep`] (polling, backoff) so far.
    pub fn slept(&self) -> Duration {
        *self.slept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time during which at least one call was in flight: with [`Latency::UNIT`], in ms, the
    /// round trips on the critical path (sleeps that overlap calls are not counted twice).
    pub fn busy(&self) -> Duration {
        let b = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        let open = if b.in_flight > 0 {
            self.cloud.now_micros() - b.since
        } else {
            0
        };
        Duration::from_micros(b.total + open)
    }

    /// Waits until virtual time `deadline` (µs).
    async fn until(&self, deadline: u64) {
        let mut key = None;
        std::future::poll_fn(|cx: &mut Context<'_>| {
            if self.cloud.now_micros() >= deadline {
                return Poll::Ready(());
            }
            let mut t = self.timers.lock().unwrap_or_else(|p| p.into_inner());
            let k = *key.get_or_insert_with(|| {
                t.seq += 1;
                (deadline, t.seq)
            });
            t.due.insert(k, cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The response of a call to `service` that took `rounds` round trips.
    async fn respond(&self, service: Service, rounds: u64) {
        let d = self.latency.of(service) * rounds.max(1) as u32;
        let now = self.cloud.now_micros();
        {
            let mut b = self.busy.lock().unwrap_or_else(|p| p.into_inner());
            if b.in_flight == 0 {
                b.since = now;
            }
            b.in_flight += 1;
        }
        self.until(now + d.as_micros() as u64).await;
        let mut b = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        b.in_flight -= 1;
        if b.in_flight == 0 {
            b.total += self.cloud.now_micros() - b.since;
        }
    }

    /// Wakes what is due next, moving the clock there; false when nothing waits.
    fn fire_next(&self) -> bool {
        let next = {
            let mut t = self.timers.lock().unwrap_or_else(|p| p.into_inner());
            t.due.pop_first()
        };
        match next {
            Some(((deadline, _), waker)) => {
                self.cloud.advance_to_micros(deadline);
                waker.wake();
                true
            }
            None => false,
        }
    }
}

/// Runs `future` on virtual time: polls it; while it waits, moves the clock to the next call's
/// response (or sleep's end) and wakes it. Panics if it waits on nothing [`Timed`] knows of.
pub fn run<F: Future>(timed: &Timed<'_>, future: F) -> F::Output {
    /// Notes a wake-up that needs no time to pass (a semaphore permit released).
    struct Flag(AtomicBool);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut future = pin!(future);
    let mut cx = Context::from_waker(&waker);
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        assert!(
            timed.fire_next(),
            "the future waits on something other than the simulated cloud"
        );
    }
}

macro_rules! timed {
    ($self:ident, $service:expr, $call:expr) => {{
        let r = $call.await;
        let rounds = $self.cloud.last_rounds();
        $self.respond($service, rounds).await;
        r
    }};
}

#[async_trait]
impl Clock for Timed<'_> {
    fn now(&self) -> u64 {
        self.cloud.now_secs()
    }
    fn now_millis(&self) -> u64 {
        self.cloud.now_micros() / 1000
    }
    async fn sleep(&self, d: Duration) {
        *self.slept.lock().unwrap_or_else(|p| p.into_inner()) += d;
        self.until(self.cloud.now_micros() + d.as_micros() as u64).await;
    }
    fn jitter(&self) -> f64 {
        self.cloud.jitter()
    }
}

forward_ports!(Timed<'_>, timed);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::seed_world;
    use fsxn_lattice_core::apply::RetryPolicy;
    use fsxn_lattice_core::concurrency::{Concurrency, Gates};
    use fsxn_lattice_core::observe::{ZoneCache, observe_cached};

    fn observe_on(concurrency: Concurrency) -> (fsxn_lattice_core::observe::Observed, Duration, u64) {
        let w = seed_world(3);
        let timed = Timed::new(&w.cloud, Latency::UNIT);
        let gates = Gates::new(concurrency);
        let (observed, _) = run(
            &timed,
            observe_cached(
                &timed,
                &w.config,
                &RetryPolicy::default(),
                &gates,
                &mut ZoneCache::default(),
                true,
            ),
        )
        .unwrap();
        (observed, timed.busy(), w.cloud.api_calls().values().sum())
    }

    #[test]
    fn concurrent_reads_see_what_serial_reads_see_in_fewer_round_trips() {
        let (serial, serial_time, serial_calls) = observe_on(Concurrency::SERIAL);
        let (concurrent, concurrent_time, concurrent_calls) = observe_on(Concurrency::default());
        assert_eq!(serial, concurrent, "the same world, read either way");
        assert_eq!(serial_calls, concurrent_calls);
        // One ms per round trip: serial pays one per port call (and per page), concurrent
        // its longest chain (the goal of README "Performance").
        assert!(concurrent_time <= Duration::from_millis(4), "{concurrent_time:?}");
        assert!(
            concurrent_time * 3 < serial_time,
            "{concurrent_time:?} vs {serial_time:?}"
        );
    }

    #[test]
    fn sleeps_and_calls_move_the_virtual_clock_to_the_microsecond() {
        let w = seed_world(4);
        let timed = Timed::new(&w.cloud, Latency::ASSUMED);
        let t0 = w.cloud.now_micros();
        run(&timed, async {
            let (a, b) = futures_util::join!(timed.describe_file_systems(), timed.sleep(Duration::from_millis(30)));
            a.unwrap();
            b
        });
        // The call (80 ms) and the sleep (30 ms) overlapped: 80 ms passed, all of it busy.
        assert_eq!(w.cloud.now_micros() - t0, 80_000);
        assert_eq!(timed.busy(), Duration::from_millis(80));
        assert_eq!(timed.slept(), Duration::from_millis(30));
    }
}
