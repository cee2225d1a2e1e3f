//! Fault injection: a rate that means what it says, the kinds it splits into, and what the
//! reconciler does with a transient IAM denial.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_core::config::tag_keys;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::naming::is_owned;
use fsxn_lattice_core::ports::*;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, reconcile};
use fsxn_lattice_sim::scenario::{ALIAS, SVM_ID, seed_world};
use fsxn_lattice_sim::{FaultKind, FaultMix, Faults, SimCloud};
use pollster::block_on;
use std::time::Duration;

fn world() -> SimCloud {
    let cloud = SimCloud::new(9);
    let vpc = cloud.add_vpc("vpc-0aaa", &["10.9.0.0/16"], true);
    cloud.add_subnet("subnet-0aaa", &vpc, "us-east-1a", "10.9.0.0/24");
    cloud
}

/// One call of each class: a read, a create, a change, a delete.
fn calls(cloud: &SimCloud, i: u32) -> [Result<(), fsxn_lattice_core::error::CloudError>; 4] {
    let vpc = VpcId::parse("vpc-0aaa").unwrap();
    let subnet = SubnetId::parse("subnet-0aaa").unwrap();
    [
        block_on(cloud.describe_subnets(&vpc)).map(|_| ()),
        block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
            subnet_id: subnet.clone(),
            cidr: format!("10.9.0.{}/28", 16 * (1 + i % 14)).parse().unwrap(),
            reservation_type: fsxn_lattice_core::model::ReservationType::Prefix,
            description: String::new(),
            tags: Default::default(),
        }))
        .map(|_| ()),
        block_on(cloud.associate_route_table(&RouteTableId::parse("rtb-0aaa").unwrap(), &subnet)).map(|_| ()),
        block_on(cloud.delete_vpc_endpoint(&VpcEndpointId::parse("vpce-0aaa").unwrap())).map(|_| ()),
    ]
}

#[test]
fn at_rate_one_every_call_fails_and_every_fault_is_counted_by_kind() {
    let cloud = world();
    cloud.set_faults(Faults {
        rate: 1.0,
        mix: FaultMix::All,
    });
    let mut failures = 0u64;
    for i in 0..2000 {
        for r in calls(&cloud, i) {
            assert!(r.is_err(), "a call succeeded at fault rate 1");
            failures += 1;
        }
        cloud.take_crash();
    }
    let kinds = cloud.faults_by_kind();
    assert_eq!(kinds.values().sum::<u64>(), failures);
    assert_eq!(cloud.faults_injected(), failures);
    // Every kind a failing call can get shows up (stale reads need a call that succeeds).
    for k in [
        FaultKind::Throttling,
        FaultKind::ServerError,
        FaultKind::LostResponse,
        FaultKind::Crash,
        FaultKind::AccessDenied,
        FaultKind::Validation,
        FaultKind::NotFoundOnDelete,
    ] {
        assert!(kinds.get(&k).copied().unwrap_or(0) > 50, "{k:?}: {kinds:?}");
    }
    // 20 % of the 2000 reads' faults and 10 % of the 6000 writes'.
    let denied = kinds[&FaultKind::AccessDenied];
    assert!((850..1150).contains(&denied), "{kinds:?}");
}

#[test]
fn each_kind_fails_with_the_error_the_adapter_would_classify() {
    let cloud = world();
    cloud.set_faults(Faults {
        rate: 1.0,
        mix: FaultMix::All,
    });
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..400 {
        for r in calls(&cloud, i) {
            let e = r.unwrap_err();
            assert_eq!(
                e.kind,
                if e.code == "SimulatedCrash" {
                    ErrorKind::Internal
                } else {
                    fsxn_lattice_core::error::classify_code(&e.code, &e.message)
                },
                "{e}"
            );
            seen.insert(e.kind);
        }
        cloud.take_crash();
    }
    for k in [
        ErrorKind::Transient,
        ErrorKind::AccessDenied,
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::Internal,
    ] {
        assert!(seen.contains(&k), "{k:?} never injected: {seen:?}");
    }
}

#[test]
fn a_lost_response_or_a_crash_comes_after_the_write_took_effect() {
    let cloud = world();
    cloud.set_faults(Faults {
        rate: 1.0,
        mix: FaultMix::All,
    });
    let subnet = SubnetId::parse("subnet-0aaa").unwrap();
    let mut after = 0;
    for i in 0..200u32 {
        let before = cloud.snapshot().cidr_reservations.len();
        let r = block_on(cloud.create_subnet_cidr_reservation(&CreateCidrReservationRequest {
            subnet_id: subnet.clone(),
            cidr: format!("10.9.{}.0/28", 0).parse().unwrap(),
            reservation_type: fsxn_lattice_core::model::ReservationType::Prefix,
            description: format!("{i}"),
            tags: Default::default(),
        }));
        let e = r.unwrap_err();
        let took_effect = cloud.snapshot().cidr_reservations.len() > before;
        let crashed = cloud.take_crash();
        assert_eq!(crashed, e.code == "SimulatedCrash");
        if took_effect {
            after += 1;
            assert!(crashed || e.kind == ErrorKind::Transient, "{e}");
            // Clean up so the next create can take effect again.
            cloud.set_faults(Faults::default());
            let id = cloud.snapshot().cidr_reservations[0].id.clone();
            block_on(cloud.delete_subnet_cidr_reservation(&id)).unwrap();
            cloud.set_faults(Faults {
                rate: 1.0,
                mix: FaultMix::All,
            });
        }
    }
    assert!(after > 30, "{after}");
}

#[test]
fn stale_reads_leave_out_what_was_just_created_for_a_while() {
    let cloud = world();
    let vpc = VpcId::parse("vpc-0aaa").unwrap();
    let made = block_on(cloud.create_subnet(&CreateSubnetRequest {
        vpc_id: vpc.clone(),
        availability_zone: "us-east-1a".into(),
        cidr: "10.9.1.0/26".parse().unwrap(),
        tags: Default::default(),
    }))
    .unwrap();
    cloud.set_faults(Faults {
        rate: 0.5,
        mix: FaultMix::All,
    });
    let mut missing = 0;
    for _ in 0..200 {
        if let Ok(s) = block_on(cloud.describe_subnets(&vpc)) {
            missing += usize::from(!s.iter().any(|x| x.id == made.id));
            assert!(
                s.iter().any(|x| x.id.as_str() == "subnet-0aaa"),
                "old subnets are always listed"
            );
        }
    }
    assert!(missing > 20, "{missing}");
    assert_eq!(cloud.faults_by_kind()[&FaultKind::StaleRead], missing as u64);
    cloud.advance(Duration::from_secs(fsxn_lattice_sim::CONSISTENCY_WINDOW));
    for _ in 0..100 {
        if let Ok(s) = block_on(cloud.describe_subnets(&vpc)) {
            assert!(s.iter().any(|x| x.id == made.id), "listed once consistent");
        }
    }
}

#[test]
fn a_transient_iam_denial_is_retried_and_a_lasting_one_ends_as_access_denied() {
    let config = fsxn_lattice_core::config::Config::from_toml(&fsxn_lattice_sim::scenario::SEED_CONFIG.replace(
        "subnet_ids = [\"subnet-0ddc1cafa116ba0dd\", \"subnet-062714f49313a0ea5\"]\n",
        "",
    ))
    .unwrap();
    let options = ReconcileOptions {
        max_passes: 60,
        poll_interval: Duration::from_secs(15),
        max_wait: Duration::from_secs(3600),
        ..Default::default()
    };
    // Propagating: the first two calls of a write and of a read are denied.
    let w = seed_world(3);
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
    w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    w.cloud.deny_next("CreateResourceGateway", 2);
    w.cloud.deny_next("ListResourceConfigurations", 2);
    let r = block_on(reconcile(&w.cloud, &config, &options, &mut |_| {}));
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.error);
    let gateways = w.cloud.snapshot().gateways;
    assert_eq!(gateways.iter().filter(|g| is_owned(&g.tags, "demo")).count(), 1);
    // Lasting: the reconcile ends, with the error type a person acts on.
    let w = seed_world(3);
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
    w.cloud.deny_next("CreateResourceGateway", 1000);
    let r = block_on(reconcile(&w.cloud, &config, &options, &mut |_| {}));
    assert_eq!(r.status, ReconcileStatus::Failed);
    assert_eq!(r.error.as_ref().map(|e| e.kind), Some(ErrorKind::AccessDenied));
    assert_eq!(r.error_type(), Some(ErrorKind::AccessDenied));
}

/// Found by chaos at fault rate 0: a racing execution deleted a subnet we had carved between
/// observe's `DescribeSubnets` and its `GetSubnetCidrReservations`; the NotFound failed the
/// whole observe, and the execution with it. The same for a hosted zone between
/// `GetHostedZone` and `ListResourceRecordSets`. Something listed and gone a moment later is
/// gone, not an error.
#[test]
fn something_deleted_between_a_list_and_its_per_item_read_is_gone_not_an_error() {
    use fsxn_lattice_core::apply::RetryPolicy;
    use fsxn_lattice_core::observe::observe;
    let w = seed_world(41);
    w.cloud.tag_fsx(SVM_ID, tag_keys::EXPOSE, "smb");
    w.cloud.tag_fsx(SVM_ID, tag_keys::ALIAS, ALIAS);
    let r = block_on(reconcile(
        &w.cloud,
        &w.config,
        &ReconcileOptions::default(),
        &mut |_| {},
    ));
    assert_eq!(r.status, ReconcileStatus::Converged, "{:?}", r.error);
    let (before, _) = block_on(observe(&w.cloud, &w.config, &RetryPolicy::default())).unwrap();
    let subnet = before.subnets[0].id.clone();
    let zone = before.hosted_zones[0].id.clone();
    w.cloud.delete_before_next("GetSubnetCidrReservations", subnet.as_str());
    w.cloud.delete_before_next("ListResourceRecordSets", zone.as_str());
    let (after, _) = block_on(observe(&w.cloud, &w.config, &RetryPolicy::default()))
        .expect("the vanished subnet and zone are left out, not a failed observe");
    assert!(!after.subnets.iter().any(|s| s.id == subnet), "{:?}", after.subnets);
    assert_eq!(after.subnets.len(), before.subnets.len() - 1);
    assert!(!after.hosted_zones.iter().any(|z| z.id == zone));
    assert!(!after.records.contains_key(&zone));
}

/// A wave's actions run at once: when one fails, the others have run too, and the report says
/// so (the failure, first in plan order, ends the run after its wave).
#[test]
fn a_failure_in_a_wave_still_reports_what_its_siblings_did() {
    use fsxn_lattice_core::apply::{ApplyOptions, Outcome, RetryPolicy, apply};
    use fsxn_lattice_core::plan::{Action, Plan, PlannedAction};
    use std::ops::ControlFlow;
    let w = fsxn_lattice_sim::scenario::seed_world(31);
    let delete = |n: u32| PlannedAction {
        action: Action::DeleteVpcEndpoint {
            account: None,
            vpc_endpoint_id: fsxn_lattice_core::ids::VpcEndpointId::parse(format!("vpce-{n:017x}")).unwrap(),
        },
        why: "test".into(),
    };
    let plan = Plan {
        actions: vec![delete(1), delete(2), delete(3)],
        ..Plan::default()
    };
    // The first call of the wave is denied; AccessDenied is not retried with one attempt.
    w.cloud.deny_next("DeleteVpcEndpoints", 1);
    let options = ApplyOptions {
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        ..ApplyOptions::default()
    };
    let r = pollster::block_on(apply(&w.cloud, &plan, &options, &mut |_| ControlFlow::Continue(())));
    let (failed, e) = r.failed.expect("the denied delete fails the run");
    assert_eq!(failed, delete(1));
    assert_eq!(e.kind, ErrorKind::AccessDenied);
    // The other two ran in the same wave: both unknown ids, so already gone.
    let done: Vec<_> = r.applied.iter().map(|a| a.action.clone()).collect();
    assert_eq!(done, [delete(2), delete(3)]);
    assert!(
        r.applied
            .iter()
            .all(|a| matches!(a.outcome, Outcome::AlreadyDone { .. }))
    );
}
