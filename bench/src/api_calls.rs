//! API calls per reconcile, counted in the simulated cloud as the AWS adapters make them (every
//! page of every list, every per-resource read, every write).
//!
//! For each fleet size: *first provisioning* (a reconcile from nothing until converged, with
//! AWS's asynchronous work simulated on the virtual clock) and *steady state* (one more
//! reconcile, nothing to do). The checks that fail the run: steady state writes nothing and
//! makes no per-resource read; its reads grow from the smallest fleet to each larger one by no
//! more than the extra list pages the larger fleet needs; first provisioning writes exactly once
//! per resource created (no retried or wasted write, no delete).

use crate::fleet::{self, FleetSize};
use fsxn_lattice_core::naming::is_owned;
use fsxn_lattice_core::ports::page;
use fsxn_lattice_core::reconcile::{ReconcileOptions, ReconcileStatus, reconcile};
use fsxn_lattice_sim::Snapshot;
use serde::Serialize;
use std::collections::BTreeMap;

/// Operations whose name marks a change.
pub fn is_write(op: &str) -> bool {
    [
        "Create", "Delete", "Update", "Change", "Tag", "Untag", "Modify", "Assign",
    ]
    .iter()
    .any(|p| op.starts_with(p))
}

/// Reads that cost one call per resource; none may happen in steady state.
pub const PER_RESOURCE_READS: &[&str] = &["ListTagsForResource", "GetResourceConfiguration", "GetResourceGateway"];

/// Calls of one phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Calls {
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// By operation.
    pub by_operation: BTreeMap<String, u64>,
}

impl Calls {
    fn between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Self {
        let mut c = Calls::default();
        for (op, n) in after {
            let d = n - before.get(op).copied().unwrap_or(0);
            if d == 0 {
                continue;
            }
            if is_write(op) {
                c.writes += d;
            } else {
                c.reads += d;
            }
            c.by_operation.insert(op.clone(), d);
        }
        c
    }
    fn op(&self, op: &str) -> u64 {
        self.by_operation.get(op).copied().unwrap_or(0)
    }
}

/// What the fleet holds of ours, by kind (and the list sizes the reads depend on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Subnets we carved.
    pub subnets: u64,
    /// CIDR reservations.
    pub reservations: u64,
    /// Resource gateways.
    pub gateways: u64,
    /// Resource configurations.
    pub configurations: u64,
    /// Resource VPC endpoints.
    pub endpoints: u64,
    /// Alias CNAMEs.
    pub cnames: u64,
    /// Ownership TXT records.
    pub txts: u64,
    /// Records per zone (largest zone), ours and others'.
    pub records_per_zone: u64,
    /// Hosted zones.
    pub zones: u64,
}

fn inventory(s: &Snapshot) -> Inventory {
    let ours = |t: &fsxn_lattice_core::model::Tags| is_owned(t, fleet::OWNER);
    Inventory {
        subnets: s.subnets.iter().filter(|x| ours(&x.tags)).count() as u64,
        reservations: s.cidr_reservations.iter().filter(|x| ours(&x.tags)).count() as u64,
        gateways: s.gateways.iter().filter(|x| ours(&x.tags)).count() as u64,
        configurations: s.configurations.iter().filter(|x| ours(&x.tags)).count() as u64,
        endpoints: s.endpoints.iter().filter(|x| ours(&x.tags)).count() as u64,
        cnames: s
            .records
            .values()
            .flatten()
            .filter(|r| r.record_type == fsxn_lattice_core::model::RecordType::CNAME)
            .count() as u64,
        txts: s
            .records
            .values()
            .flatten()
            .filter(|r| {
                r.record_type == fsxn_lattice_core::model::RecordType::TXT && r.name.starts_with("_fsxn-lattice.")
            })
            .count() as u64,
        records_per_zone: s.records.values().map(|r| r.len() as u64).max().unwrap_or(0),
        zones: s.records.len() as u64,
    }
}

/// The list pages a steady-state read of this inventory needs beyond one per list: the part of
/// the reads that may grow with the fleet.
pub fn extra_pages(inv: &Inventory, svms: u64, file_systems: u64) -> u64 {
    let extra = |items: u64, per_page: usize| page::calls(items as usize, per_page) - 1;
    let lattice = page::LATTICE as usize;
    let tagged = page::TAGGED_RESOURCES as usize;
    let ec2 = page::EC2 as usize;
    extra(svms, page::FSX_ASSUMED)
        + extra(file_systems, page::FSX_ASSUMED)
        + extra(inv.gateways, lattice)
        + extra(inv.gateways, tagged)
        + extra(inv.configurations, lattice)
        + extra(inv.configurations, tagged)
        // Two endpoint queries (consumer VPCs, owner tag), then association batches.
        + 2 * extra(inv.endpoints, ec2)
        + extra(inv.endpoints, page::ASSOCIATION_IDS)
        + inv.zones * extra(inv.records_per_zone, page::RECORDS as usize)
}

/// One fleet size, both phases.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// SVMs.
    pub svms: usize,
    /// Consumer VPCs.
    pub consumers: usize,
    /// File systems.
    pub file_systems: usize,
    /// First provisioning: calls.
    pub first: Calls,
    /// First provisioning: reconcile passes (observe → plan → apply).
    pub first_passes: u32,
    /// First provisioning: what was created.
    pub created: Inventory,
    /// Steady state: calls of one reconcile.
    pub steady: Calls,
    /// Extra list pages steady state needs at this size.
    pub extra_pages: u64,
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiCallsError {
    /// The first provisioning did not converge.
    #[error("{svms} SVMs: first provisioning ended {status:?}: {error}")]
    NotConverged {
        /// Fleet size.
        svms: usize,
        /// How it ended.
        status: ReconcileStatus,
        /// The error or last plan.
        error: String,
    },
}

/// Builds the fleet, provisions it, and measures both phases.
pub fn measure(size: FleetSize) -> Result<Measurement, ApiCallsError> {
    let f = fleet::build(size, 7);
    let before = f.cloud.api_calls();
    let empty = inventory(&f.cloud.snapshot());
    assert_eq!(
        (empty.gateways, empty.configurations, empty.endpoints, empty.cnames),
        (0, 0, 0, 0),
        "the fleet starts with nothing of ours"
    );
    let options = ReconcileOptions {
        max_passes: 60,
        max_wait: std::time::Duration::from_secs(60 * 60),
        ..ReconcileOptions::default()
    };
    let first = pollster::block_on(reconcile(&f.cloud, &f.config, &options, &mut |_| {}));
    if first.status != ReconcileStatus::Converged {
        return Err(ApiCallsError::NotConverged {
            svms: size.svms,
            status: first.status,
            error: first
                .error
                .map(|e| e.to_string())
                .unwrap_or_else(|| format!("{:?}", first.last_plan.actions.first())),
        });
    }
    let after_first = f.cloud.api_calls();
    let created = inventory(&f.cloud.snapshot());
    let steady = pollster::block_on(reconcile(&f.cloud, &f.config, &options, &mut |_| {}));
    let after_steady = f.cloud.api_calls();
    if steady.status != ReconcileStatus::Converged || !steady.applied.is_empty() {
        return Err(ApiCallsError::NotConverged {
            svms: size.svms,
            status: steady.status,
            error: format!("steady state applied {} action(s)", steady.applied.len()),
        });
    }
    let file_systems = size.svms.div_ceil(size.svms_per_file_system.max(1));
    Ok(Measurement {
        svms: size.svms,
        consumers: size.consumers,
        file_systems,
        first: Calls::between(&before, &after_first),
        first_passes: first.passes,
        extra_pages: extra_pages(&created, size.svms as u64, file_systems as u64),
        created,
        steady: Calls::between(&after_first, &after_steady),
    })
}

/// Checks a table of measurements (smallest fleet first); each failure is one line.
pub fn check(rows: &[Measurement]) -> Vec<String> {
    let mut failures = Vec::new();
    let Some(base) = rows.first() else {
        return vec!["no measurement".into()];
    };
    for m in rows {
        let n = m.svms;
        if m.steady.writes != 0 {
            failures.push(format!(
                "{n} SVMs: steady state wrote {} time(s): {:?}",
                m.steady.writes, m.steady.by_operation
            ));
        }
        for op in PER_RESOURCE_READS {
            if m.steady.op(op) != 0 {
                failures.push(format!(
                    "{n} SVMs: steady state called {op} {} time(s), once per resource",
                    m.steady.op(op)
                ));
            }
        }
        let bound = base.steady.reads + m.extra_pages - base.extra_pages;
        if m.steady.reads > bound {
            failures.push(format!(
                "{n} SVMs: steady state read {} times; {} SVMs read {} and the extra list pages allow {bound}",
                m.steady.reads, base.svms, base.steady.reads
            ));
        }
        let c = &m.created;
        let expected = [
            ("CreateSubnet", c.subnets),
            ("CreateSubnetCidrReservation", c.reservations),
            ("CreateResourceGateway", c.gateways),
            ("CreateResourceConfiguration", c.configurations),
            ("CreateVpcEndpoint", c.endpoints),
            // One atomic change batch per alias: its CNAME and its ownership TXT.
            ("ChangeResourceRecordSets", c.cnames),
        ];
        for (op, want) in expected {
            if m.first.op(op) != want {
                failures.push(format!(
                    "{n} SVMs: first provisioning called {op} {} time(s) for {want} created",
                    m.first.op(op)
                ));
            }
        }
        let accounted: u64 = expected.iter().map(|(_, n)| n).sum();
        if m.first.writes != accounted {
            failures.push(format!(
                "{n} SVMs: first provisioning wrote {} times for {accounted} resources: {:?}",
                m.first.writes,
                m.first
                    .by_operation
                    .iter()
                    .filter(|(op, _)| is_write(op))
                    .collect::<Vec<_>>()
            ));
        }
        if c.txts != c.cnames {
            failures.push(format!("{n} SVMs: {} CNAMEs but {} ownership TXTs", c.cnames, c.txts));
        }
        if c.configurations != m.svms as u64 || c.endpoints != (m.svms * m.consumers) as u64 {
            failures.push(format!(
                "{n} SVMs: {} configurations, {} endpoints created",
                c.configurations, c.endpoints
            ));
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(svms: usize, steady_reads: u64, extra_pages: u64) -> Measurement {
        let created = Inventory {
            reservations: 4,
            gateways: 1,
            configurations: svms as u64,
            endpoints: 3 * svms as u64,
            cnames: 3 * svms as u64,
            txts: 3 * svms as u64,
            ..Default::default()
        };
        let mut first = Calls::default();
        for (op, n) in [
            ("CreateSubnetCidrReservation", 4),
            ("CreateResourceGateway", 1),
            ("CreateResourceConfiguration", svms as u64),
            ("CreateVpcEndpoint", 3 * svms as u64),
            ("ChangeResourceRecordSets", 3 * svms as u64),
        ] {
            first.by_operation.insert(op.into(), n);
            first.writes += n;
        }
        Measurement {
            svms,
            consumers: 3,
            file_systems: 1,
            first,
            first_passes: 5,
            created,
            steady: Calls {
                reads: steady_reads,
                writes: 0,
                by_operation: BTreeMap::from([("DescribeVpcs".to_string(), steady_reads)]),
            },
            extra_pages,
        }
    }

    #[test]
    fn a_clean_table_passes() {
        assert_eq!(check(&[row(1, 30, 0), row(50, 32, 2)]), Vec::<String>::new());
    }

    #[test]
    fn each_broken_bound_is_reported() {
        let mut writes = row(10, 30, 0);
        writes.steady.writes = 1;
        writes.steady.by_operation.insert("TagResource".into(), 1);
        let mut per_resource = row(10, 30, 0);
        per_resource
            .steady
            .by_operation
            .insert("ListTagsForResource".into(), 10);
        let grows = row(50, 40, 2);
        let mut retried = row(10, 30, 0);
        retried.first.by_operation.insert("CreateVpcEndpoint".into(), 31);
        retried.first.writes += 1;
        let failures = check(&[row(1, 30, 0), writes, per_resource, grows, retried]);
        let has = |needle: &str| failures.iter().any(|f| f.contains(needle));
        assert!(has("steady state wrote 1 time"), "{failures:?}");
        assert!(has("called ListTagsForResource 10 time(s)"), "{failures:?}");
        assert!(has("read 40 times") && has("allow 32"), "{failures:?}");
        assert!(
            has("called CreateVpcEndpoint 31 time(s) for 30 created"),
            "{failures:?}"
        );
        assert!(has("wrote 76 times for 75 resources"), "{failures:?}");
    }

    #[test]
    fn writes_are_told_from_reads_by_name() {
        for op in [
            "CreateVpcEndpoint",
            "DeleteSubnet",
            "ChangeResourceRecordSets",
            "TagResource",
            "UpdateResourceGateway",
        ] {
            assert!(is_write(op), "{op}");
        }
        for op in ["DescribeVpcs", "GetResources", "ListTagsForResource", "GetChange"] {
            assert!(!is_write(op), "{op}");
        }
    }
}
