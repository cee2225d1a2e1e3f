//! Route 53: hosted zones, record sets and changes (the [`DnsRead`] and [`DnsWrite`] ports),
//! and resolving a name as a client does ([`SimCloud::resolve`]).

use crate::SimCloud;
use crate::world::{Task, err, hex};
use async_trait::async_trait;
use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use rand::Rng;
use serde_json::json;
use std::net::Ipv4Addr;

/// Seconds a Route 53 change stays `PENDING`.
pub const CHANGE_INSYNC_AFTER: u64 = 30;

impl SimCloud {
    /// `name` after following CNAMEs in any zone (at most 8), normalized.
    pub fn follow_cnames(&self, name: &str) -> String {
        let w = self.w();
        let mut name = normalize_dns_name(name);
        for _ in 0..8 {
            let cname = w
                .records
                .values()
                .flat_map(|r| r.values())
                .find(|r| r.name == name && r.record_type == RecordType::CNAME)
                .map(|r| normalize_dns_name(&r.values[0]));
            match cname {
                Some(target) => name = target,
                None => break,
            }
        }
        name
    }

    /// Resolves a DNS name as a client would: a CNAME in any zone is followed; an endpoint's
    /// name answers **one** of its ENI IPs per query, at random (seed: not a multi-value answer).
    pub fn resolve(&self, name: &str) -> Option<Ipv4Addr> {
        let name = self.follow_cnames(name);
        let mut w = self.w();
        let ips = w
            .endpoints
            .values()
            .find(|e| e.ep.state == EndpointState::Available && e.ep.dns_name.as_deref() == Some(name.as_str()))
            .map(|e| e.ips.clone())?;
        let i = w.rng.random_range(0..ips.len());
        Some(ips[i])
    }
}

#[async_trait]
impl DnsRead for SimCloud {
    async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone> {
        let mut w = self.w();
        w.enter("GetHostedZone")?;
        let visible = w.visible(id.as_str());
        w.zones.get(id).filter(|_| visible).cloned().ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "GetHostedZone",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {id}"),
            )
        })
    }
    async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
        let mut w = self.w();
        w.enter("ListResourceRecordSets")?;
        let visible = w.visible(zone.as_str());
        let records: Option<Vec<RecordSet>> = w
            .records
            .get(zone)
            .filter(|_| visible)
            .map(|r| r.values().cloned().collect());
        if let Some(r) = &records {
            w.pages("ListResourceRecordSets", r.len(), page::RECORDS as usize);
        }
        records.ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "ListResourceRecordSets",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone}"),
            )
        })
    }
}

#[async_trait]
impl DnsWrite for SimCloud {
    async fn change_resource_record_sets(&self, zone: &HostedZoneId, changes: &[RecordChange]) -> CloudResult<String> {
        const OP: &str = "ChangeResourceRecordSets";
        let mut w = self.w();
        w.enter(OP)?;
        let visible = w.visible(zone.as_str());
        let Some(z) = w.zones.get(zone).filter(|_| visible).cloned() else {
            return Err(err(
                ErrorKind::NotFound,
                OP,
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone}"),
            ));
        };
        let bad = |m: String| err(ErrorKind::Conflict, OP, "InvalidChangeBatch", m);
        // All or nothing: work on a copy.
        let mut recs = w.records.get(zone).cloned().unwrap_or_default();
        for c in changes {
            match c {
                RecordChange::Create(r) => {
                    let name = normalize_dns_name(&r.name);
                    if recs.contains_key(&(name.clone(), r.record_type)) {
                        return Err(bad(format!(
                            "Tried to create resource record set [name='{name}', type='{:?}'] but it already exists",
                            r.record_type
                        )));
                    }
                    if name != z.name && !name.ends_with(&format!(".{}", z.name)) {
                        return Err(bad(format!(
                            "RRSet with DNS name {name} is not permitted in zone {}",
                            z.name
                        )));
                    }
                    if r.record_type == RecordType::CNAME && name == z.name {
                        return Err(bad(format!(
                            "RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {}",
                            z.name
                        )));
                    }
                    if r.record_type == RecordType::CNAME && r.values.len() != 1 {
                        return Err(bad("a CNAME must have exactly one value".into()));
                    }
                    let clash = recs.keys().any(|(n, t)| {
                        n == &name
                            && *t != r.record_type
                            && (*t == RecordType::CNAME || r.record_type == RecordType::CNAME)
                    });
                    if clash {
                        return Err(bad(format!(
                            "RRSet of type {:?} with DNS name {name} is not permitted because a conflicting RRSet of another type exists",
                            r.record_type
                        )));
                    }
                    recs.insert((name.clone(), r.record_type), RecordSet { name, ..r.clone() });
                }
                RecordChange::Delete(r) => {
                    let name = normalize_dns_name(&r.name);
                    match recs.get(&(name.clone(), r.record_type)) {
                        None => {
                            return Err(bad(format!(
                                "Tried to delete resource record set [name='{name}', type='{:?}'] but it was not found",
                                r.record_type
                            )));
                        }
                        Some(existing) if existing.ttl != r.ttl || existing.values != r.values => {
                            return Err(bad(format!(
                                "Tried to delete resource record set [name='{name}', type='{:?}'] but the values provided do not match the current values",
                                r.record_type
                            )));
                        }
                        Some(_) => {
                            recs.remove(&(name, r.record_type));
                        }
                    }
                }
            }
        }
        w.records.insert(zone.clone(), recs);
        let change = format!("C{}", hex(&mut w.rng, 20).to_uppercase());
        w.changes.insert(change.clone(), ChangeStatus::Pending);
        w.schedule(CHANGE_INSYNC_AFTER, Task::ChangeInsync(change.clone()));
        w.emit_call(
            "route53.amazonaws.com",
            OP,
            json!({"hostedZoneId": zone.as_str(), "changes": changes.len()}),
            json!({"changeInfo": {"id": change, "status": "PENDING"}}),
        );
        w.leave(OP, Ok(change))
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        let mut w = self.w();
        w.enter("GetChange")?;
        w.changes.get(change_id).copied().ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "GetChange",
                "NoSuchChange",
                format!("{change_id} not found"),
            )
        })
    }
}
