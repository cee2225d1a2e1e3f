//! Route 53: hosted zones, record sets, changes.
//!
//! `ListResourceRecordSets` has no paginator in the Rust SDK: paged by hand. Names arrive with a
//! trailing dot and are normalised; a DELETE sends the record exactly as it was read (Route 53
//! deletes only an exact match). `PriorRequestNotComplete` and `Throttling` are transient.

use crate::error::{malformed, translate};
use async_trait::async_trait;
use aws_sdk_route53::Client;
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::HostedZoneId;
use fsxn_lattice_core::model::{HostedZone, RecordSet, RecordType, normalize_dns_name};
use fsxn_lattice_core::ports::*;

/// The Route 53 adapter.
#[derive(Debug, Clone)]
pub struct AwsRoute53 {
    client: Client,
}

impl AwsRoute53 {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn record_type(t: &RrType) -> Option<RecordType> {
    Some(match t {
        RrType::A => RecordType::A,
        RrType::Cname => RecordType::CNAME,
        RrType::Txt => RecordType::TXT,
        RrType::Ns => RecordType::NS,
        RrType::Soa => RecordType::SOA,
        _ => return None,
    })
}

fn rr_type(t: RecordType) -> Option<RrType> {
    Some(match t {
        RecordType::A => RrType::A,
        RecordType::CNAME => RrType::Cname,
        RecordType::TXT => RrType::Txt,
        RecordType::NS => RrType::Ns,
        RecordType::SOA => RrType::Soa,
        RecordType::Other => return None,
    })
}

fn build_err(op: &str, e: impl std::fmt::Display) -> CloudError {
    CloudError::new(ErrorKind::InvalidInput, op, "BuildError", e.to_string())
}

fn to_sdk(op: &str, r: &RecordSet) -> Result<ResourceRecordSet, CloudError> {
    let records = r
        .values
        .iter()
        .map(|v| ResourceRecord::builder().value(v).build().map_err(|e| build_err(op, e)))
        .collect::<Result<Vec<_>, _>>()?;
    ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(rr_type(r.record_type).ok_or_else(|| build_err(op, "a record type fsxn-lattice never writes"))?)
        .ttl(i64::from(r.ttl))
        .set_resource_records(Some(records))
        .build()
        .map_err(|e| build_err(op, e))
}

#[async_trait]
impl DnsRead for AwsRoute53 {
    async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone> {
        const OP: &str = "GetHostedZone";
        let out = self
            .client
            .get_hosted_zone()
            .id(id.as_str())
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        let z = out.hosted_zone().ok_or_else(|| malformed(OP, "HostedZone"))?;
        Ok(HostedZone {
            account: None,
            id: HostedZoneId::parse(z.id())
                .map_err(|e| CloudError::new(ErrorKind::Internal, OP, "MalformedResponse", e.to_string()))?,
            name: normalize_dns_name(z.name()),
            private: z.config().is_some_and(|c| c.private_zone()),
        })
    }

    async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
        const OP: &str = "ListResourceRecordSets";
        let mut out = Vec::new();
        let (mut name, mut kind, mut ident): (Option<String>, Option<RrType>, Option<String>) = (None, None, None);
        loop {
            let page = self
                .client
                .list_resource_record_sets()
                .hosted_zone_id(zone.as_str())
                .max_items(page::RECORDS)
                .set_start_record_name(name.take())
                .set_start_record_type(kind.take())
                .set_start_record_identifier(ident.take())
                .send()
                .await
                .map_err(|e| translate(OP, e))?;
            for r in page.resource_record_sets() {
                // Alias, weighted and other routing records, and types we do not write, are never
                // ours — but they are kept, so nothing is planned as if the name were free.
                let t = record_type(r.r#type()).unwrap_or(RecordType::Other);
                let routing = match (r.alias_target(), r.set_identifier()) {
                    (Some(a), _) => Some(format!("alias to {}", a.dns_name())),
                    (None, Some(id)) => Some(format!("set identifier {id}")),
                    (None, None) => None,
                };
                out.push(RecordSet {
                    name: normalize_dns_name(r.name()),
                    record_type: t,
                    ttl: r.ttl().and_then(|t| u32::try_from(t).ok()).unwrap_or(0),
                    values: r.resource_records().iter().map(|v| v.value().to_string()).collect(),
                    routing,
                });
            }
            if !page.is_truncated() {
                return Ok(out);
            }
            name = page.next_record_name().map(str::to_string);
            kind = page.next_record_type().cloned();
            ident = page.next_record_identifier().map(str::to_string);
        }
    }
}

#[async_trait]
impl DnsWrite for AwsRoute53 {
    async fn change_resource_record_sets(&self, zone: &HostedZoneId, changes: &[RecordChange]) -> CloudResult<String> {
        const OP: &str = "ChangeResourceRecordSets";
        let changes = changes
            .iter()
            .map(|c| {
                let (action, r) = match c {
                    RecordChange::Create(r) => (ChangeAction::Create, r),
                    RecordChange::Delete(r) => (ChangeAction::Delete, r),
                };
                Change::builder()
                    .action(action)
                    .resource_record_set(to_sdk(OP, r)?)
                    .build()
                    .map_err(|e| build_err(OP, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .comment("fsxn-lattice")
            .build()
            .map_err(|e| build_err(OP, e))?;
        let out = self
            .client
            .change_resource_record_sets()
            .hosted_zone_id(zone.as_str())
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        let info = out.change_info().ok_or_else(|| malformed(OP, "ChangeInfo"))?;
        Ok(info.id().trim_start_matches("/change/").to_string())
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        const OP: &str = "GetChange";
        let out = self
            .client
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        let info = out.change_info().ok_or_else(|| malformed(OP, "ChangeInfo"))?;
        Ok(match info.status() {
            aws_sdk_route53::types::ChangeStatus::Insync => ChangeStatus::Insync,
            _ => ChangeStatus::Pending,
        })
    }
}
