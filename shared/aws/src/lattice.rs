//! VPC Lattice: resource gateways and resource configurations.
//!
//! Listing returns summaries without tags. Tags (ownership) come from the Resource Groups
//! Tagging API, one `GetResources` page per 100 resources carrying the owner tag key, so a
//! steady-state read costs pages, not calls per resource. A resource with our name prefix that
//! the Tagging API did not return (created moments ago, or not ours) has its tags read with
//! `ListTagsForResource`; if the Tagging API refuses the VPC Lattice resource type
//! (UNCONFIRMED that it accepts it), every such resource is read that way. A configuration's
//! target comes from the tag we keep on it (`fsxn-lattice:target`); `GetResourceConfiguration`
//! only for ours that failed or lack that tag.

use crate::error::{malformed, translate};
use async_trait::async_trait;
use aws_sdk_vpclattice::Client;
use aws_sdk_vpclattice::types::{
    IpResource, ProtocolType, ResourceConfigurationDefinition, ResourceConfigurationStatus as SdkCfgStatus,
    ResourceConfigurationType, ResourceGatewayIpAddressType, ResourceGatewayStatus as SdkGwStatus,
};
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::naming::{NAME_PREFIX, OWNER_TAG, TARGET_TAG, parse_target_tag};
use fsxn_lattice_core::ports::*;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The VPC Lattice adapter.
#[derive(Debug, Clone)]
pub struct AwsLattice {
    client: Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl AwsLattice {
    /// Wraps a VPC Lattice client and a Resource Groups Tagging API client (same region).
    pub fn new(client: Client, tagging: aws_sdk_resourcegroupstagging::Client) -> Self {
        Self { client, tagging }
    }

    async fn tags(&self, arn: &str) -> CloudResult<Tags> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| translate("ListTagsForResource", e))?;
        Ok(out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Tags by ARN of every resource of `resource_type` (`vpc-lattice:resourcegateway`, …)
    /// carrying the owner tag key, whoever the owner. `None` when the Tagging API refuses the
    /// type: the caller then reads tags one resource at a time.
    async fn tagged(&self, resource_type: &str) -> CloudResult<Option<BTreeMap<String, Tags>>> {
        const OP: &str = "GetResources";
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .tagging
                .get_resources()
                .resource_type_filters(resource_type)
                .tag_filters(
                    aws_sdk_resourcegroupstagging::types::TagFilter::builder()
                        .key(OWNER_TAG)
                        .build(),
                )
                .resources_per_page(page::TAGGED_RESOURCES)
                .set_pagination_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    let e = translate(OP, e);
                    if e.kind == ErrorKind::InvalidInput {
                        tracing::warn!(error = %e, resource_type, "the Tagging API refuses this type; tags are read per resource");
                        return Ok(None);
                    }
                    return Err(e);
                }
            };
            for m in page.resource_tag_mapping_list() {
                if let Some(arn) = m.resource_arn() {
                    let tags = m
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect();
                    out.insert(arn.to_string(), tags);
                }
            }
            match page.pagination_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(Some(out)),
            }
        }
    }

    /// The tags of one listed resource: from the Tagging API's answer, else (our name prefix
    /// only) from `ListTagsForResource`, else none (foreign).
    async fn tags_of(
        &self,
        tagged: &Option<BTreeMap<String, Tags>>,
        arn: &str,
        name: Option<&str>,
    ) -> CloudResult<Tags> {
        if let Some(t) = tagged.as_ref().and_then(|m| m.get(arn)) {
            return Ok(t.clone());
        }
        if ours(name) {
            self.tags(arn).await
        } else {
            Ok(Tags::new())
        }
    }
}

fn ours(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with(&format!("{NAME_PREFIX}-")))
}

fn bad(op: &str, what: &str, e: impl std::fmt::Display) -> CloudError {
    CloudError::new(ErrorKind::Internal, op, "MalformedResponse", format!("{what}: {e}"))
}

fn gateway_status(s: Option<&SdkGwStatus>) -> GatewayStatus {
    match s {
        Some(SdkGwStatus::Active) => GatewayStatus::Active,
        Some(SdkGwStatus::CreateInProgress) => GatewayStatus::CreateInProgress,
        Some(SdkGwStatus::UpdateInProgress) => GatewayStatus::UpdateInProgress,
        Some(SdkGwStatus::DeleteInProgress) => GatewayStatus::DeleteInProgress,
        Some(SdkGwStatus::CreateFailed) => GatewayStatus::CreateFailed,
        Some(SdkGwStatus::UpdateFailed) => GatewayStatus::UpdateFailed,
        Some(SdkGwStatus::DeleteFailed) => GatewayStatus::DeleteFailed,
        // A status added after this build: treat as in progress, never as usable.
        _ => GatewayStatus::UpdateInProgress,
    }
}

fn configuration_status(s: Option<&SdkCfgStatus>) -> ConfigurationStatus {
    match s {
        Some(SdkCfgStatus::Active) => ConfigurationStatus::Active,
        Some(SdkCfgStatus::CreateInProgress) => ConfigurationStatus::CreateInProgress,
        Some(SdkCfgStatus::UpdateInProgress) => ConfigurationStatus::UpdateInProgress,
        Some(SdkCfgStatus::DeleteInProgress) => ConfigurationStatus::DeleteInProgress,
        Some(SdkCfgStatus::CreateFailed) => ConfigurationStatus::CreateFailed,
        Some(SdkCfgStatus::UpdateFailed) => ConfigurationStatus::UpdateFailed,
        Some(SdkCfgStatus::DeleteFailed) => ConfigurationStatus::DeleteFailed,
        _ => ConfigurationStatus::UpdateInProgress,
    }
}

fn definition(ip: Ipv4Addr) -> ResourceConfigurationDefinition {
    ResourceConfigurationDefinition::IpResource(IpResource::builder().ip_address(ip.to_string()).build())
}

fn port_strings(p: &[PortRange]) -> Vec<String> {
    p.iter().map(|p| p.to_string()).collect()
}

#[async_trait]
impl LatticeRead for AwsLattice {
    async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>> {
        const OP: &str = "ListResourceGateways";
        // The list and the tags (by resource type, not by ARN) at once: one round trip.
        let (items, tagged) = futures_util::join!(
            self.client
                .list_resource_gateways()
                .max_results(page::LATTICE)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>(),
            self.tagged("vpc-lattice:resourcegateway")
        );
        let items = items.map_err(|e| translate(OP, e))?;
        let tagged = tagged?;
        let mut out = Vec::new();
        for g in items {
            let arn = g.arn().unwrap_or_default().to_string();
            let tags = self.tags_of(&tagged, &arn, g.name()).await?;
            out.push(ResourceGateway {
                id: g.id().unwrap_or_default().parse().map_err(|e| bad(OP, "id", e))?,
                arn,
                name: g.name().unwrap_or_default().to_string(),
                vpc_id: g
                    .vpc_identifier()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| bad(OP, "vpcIdentifier", e))?,
                subnet_ids: g
                    .subnet_ids()
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(OP, "subnetIds", e))?,
                security_group_ids: g
                    .security_group_ids()
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(OP, "securityGroupIds", e))?,
                ipv4_addresses_per_eni: g
                    .ipv4_addresses_per_eni()
                    .and_then(|n| u8::try_from(n).ok())
                    .unwrap_or(16),
                status: gateway_status(g.status()),
                tags,
            });
        }
        Ok(out)
    }

    async fn list_service_network_associations(
        &self,
        configuration: &ResourceConfigurationId,
    ) -> CloudResult<Vec<ServiceNetworkAssociation>> {
        const OP: &str = "ListServiceNetworkResourceAssociations";
        let items = self
            .client
            .list_service_network_resource_associations()
            .resource_configuration_identifier(configuration.as_str())
            .max_results(page::LATTICE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        items
            .into_iter()
            .map(|a| {
                Ok(ServiceNetworkAssociation {
                    id: a.id().ok_or_else(|| malformed(OP, "id"))?.to_string(),
                    arn: a.arn().unwrap_or_default().to_string(),
                    service_network_id: a.service_network_id().unwrap_or_default().to_string(),
                    configuration_id: a
                        .resource_configuration_id()
                        .unwrap_or(configuration.as_str())
                        .parse()
                        .map_err(|e| bad(OP, "resourceConfigurationId", e))?,
                    status: NetworkAssociationStatus::parse(a.status().map(|s| s.as_str()).unwrap_or_default()),
                    // The summary carries a failure code, not a reason.
                    failure_reason: a.failure_code().map(str::to_string),
                    dns_name: a.dns_entry().and_then(|d| d.domain_name()).map(normalize_dns_name),
                })
            })
            .collect()
    }

    async fn list_domain_verifications(&self) -> CloudResult<Vec<DomainVerification>> {
        const OP: &str = "ListDomainVerifications";
        let items = self
            .client
            .list_domain_verifications()
            .max_results(page::LATTICE)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        // The summary carries the tags and the TXT record (botocore `DomainVerificationSummary`).
        Ok(items
            .into_iter()
            .map(|v| DomainVerification {
                id: v.id().to_string(),
                arn: v.arn().to_string(),
                domain_name: normalize_dns_name(v.domain_name()),
                status: VerificationStatus::parse(v.status().as_str()),
                txt_name: v.txt_method_config().map(|t| normalize_dns_name(t.name())),
                txt_value: v.txt_method_config().map(|t| t.value().to_string()),
                tags: v
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            })
            .collect())
    }

    async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>> {
        const OP: &str = "ListResourceConfigurations";
        // The list and the tags (by resource type, not by ARN) at once: one round trip.
        let (items, tagged) = futures_util::join!(
            self.client
                .list_resource_configurations()
                .max_results(page::LATTICE)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>(),
            self.tagged("vpc-lattice:resourceconfiguration")
        );
        let items = items.map_err(|e| translate(OP, e))?;
        let tagged = tagged?;
        let mut out = Vec::new();
        for c in items {
            // Groups and children have no gateway of their own; nothing of ours is among them.
            let Some(gateway) = c.resource_gateway_id() else {
                continue;
            };
            let arn = c.arn().unwrap_or_default().to_string();
            let id: ResourceConfigurationId = c.id().unwrap_or_default().parse().map_err(|e| bad(OP, "id", e))?;
            let tags = self.tags_of(&tagged, &arn, c.name()).await?;
            let mut cfg = ResourceConfiguration {
                // Both in the summary (botocore `ResourceConfigurationSummary`).
                custom_domain_name: c.custom_domain_name().map(normalize_dns_name),
                domain_verification_id: c.domain_verification_id().map(str::to_string),
                id: id.clone(),
                arn: arn.clone(),
                name: c.name().unwrap_or_default().to_string(),
                gateway_id: gateway.parse().map_err(|e| bad(OP, "resourceGatewayId", e))?,
                ip_address: None,
                port_ranges: Vec::new(),
                status: configuration_status(c.status()),
                failure_reason: None,
                tags,
            };
            // Foreign configurations: the summary is all the planner needs.
            if cfg.tags.contains_key(OWNER_TAG) {
                let target = cfg.tags.get(TARGET_TAG).and_then(|t| parse_target_tag(t));
                let failed = matches!(
                    cfg.status,
                    ConfigurationStatus::CreateFailed | ConfigurationStatus::UpdateFailed
                );
                match target {
                    Some((ip, ports)) if !failed => {
                        cfg.ip_address = Some(ip);
                        cfg.port_ranges = ports;
                    }
                    _ => {
                        const GET: &str = "GetResourceConfiguration";
                        let d = self
                            .client
                            .get_resource_configuration()
                            .resource_configuration_identifier(id.as_str())
                            .send()
                            .await
                            .map_err(|e| translate(GET, e))?;
                        cfg.ip_address = match d.resource_configuration_definition() {
                            Some(ResourceConfigurationDefinition::IpResource(ip)) => {
                                ip.ip_address().and_then(|a| a.parse().ok())
                            }
                            _ => None,
                        };
                        cfg.port_ranges = d
                            .port_ranges()
                            .iter()
                            .map(|p| PortRange::try_from(p.clone()))
                            .collect::<Result<_, _>>()
                            .map_err(|e| bad(GET, "portRanges", e))?;
                        cfg.status = configuration_status(d.status());
                        cfg.failure_reason = d.failure_reason().map(str::to_string);
                    }
                }
            }
            out.push(cfg);
        }
        Ok(out)
    }
}

#[async_trait]
impl LatticeWrite for AwsLattice {
    async fn create_resource_gateway(&self, req: &CreateResourceGatewayRequest) -> CloudResult<ResourceGateway> {
        const OP: &str = "CreateResourceGateway";
        let out = self
            .client
            .create_resource_gateway()
            .name(&req.name)
            .vpc_identifier(req.vpc_id.as_str())
            .set_subnet_ids(Some(req.subnet_ids.iter().map(|s| s.to_string()).collect()))
            .set_security_group_ids(Some(req.security_group_ids.iter().map(|s| s.to_string()).collect()))
            .ip_address_type(ResourceGatewayIpAddressType::Ipv4)
            .ipv4_addresses_per_eni(i32::from(req.ipv4_addresses_per_eni))
            .client_token(&req.client_token)
            .set_tags(Some(req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(ResourceGateway {
            id: out
                .id()
                .ok_or_else(|| malformed(OP, "id"))?
                .parse()
                .map_err(|e| bad(OP, "id", e))?,
            arn: out.arn().unwrap_or_default().to_string(),
            name: req.name.clone(),
            vpc_id: req.vpc_id.clone(),
            subnet_ids: req.subnet_ids.clone(),
            security_group_ids: req.security_group_ids.clone(),
            ipv4_addresses_per_eni: req.ipv4_addresses_per_eni,
            status: gateway_status(out.status()),
            tags: req.tags.clone(),
        })
    }

    async fn update_resource_gateway(&self, id: &GatewayId, security_group_ids: &[SecurityGroupId]) -> CloudResult<()> {
        self.client
            .update_resource_gateway()
            .resource_gateway_identifier(id.as_str())
            .set_security_group_ids(Some(security_group_ids.iter().map(|s| s.to_string()).collect()))
            .send()
            .await
            .map_err(|e| translate("UpdateResourceGateway", e))?;
        Ok(())
    }

    async fn delete_resource_gateway(&self, id: &GatewayId) -> CloudResult<()> {
        self.client
            .delete_resource_gateway()
            .resource_gateway_identifier(id.as_str())
            .send()
            .await
            .map_err(|e| translate("DeleteResourceGateway", e))?;
        Ok(())
    }

    async fn create_resource_configuration(
        &self,
        req: &CreateResourceConfigurationRequest,
    ) -> CloudResult<ResourceConfiguration> {
        const OP: &str = "CreateResourceConfiguration";
        let out = self
            .client
            .create_resource_configuration()
            .name(&req.name)
            .r#type(ResourceConfigurationType::Single)
            .resource_gateway_identifier(req.gateway_id.as_str())
            // TCP only: resource configurations carry no UDP (NFSv3 must run over TCP).
            .protocol(ProtocolType::Tcp)
            .set_port_ranges(Some(port_strings(&req.port_ranges)))
            .resource_configuration_definition(definition(req.ip_address))
            // A service network shared with this account (RAM) accepts the association only
            // with this on (VPC Lattice API: default false); only we, the owner, associate.
            .allow_association_to_shareable_service_network(true)
            // Create only (UpdateResourceConfiguration has neither): docs/design.md §12.
            .set_custom_domain_name(req.custom_domain_name.clone())
            .set_domain_verification_identifier(req.domain_verification_id.clone())
            .client_token(&req.client_token)
            .set_tags(Some(req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(ResourceConfiguration {
            custom_domain_name: out.custom_domain_name().map(normalize_dns_name),
            domain_verification_id: out.domain_verification_id().map(str::to_string),
            id: out
                .id()
                .ok_or_else(|| malformed(OP, "id"))?
                .parse()
                .map_err(|e| bad(OP, "id", e))?,
            arn: out.arn().unwrap_or_default().to_string(),
            name: req.name.clone(),
            gateway_id: req.gateway_id.clone(),
            ip_address: Some(req.ip_address),
            port_ranges: req.port_ranges.clone(),
            status: configuration_status(out.status()),
            failure_reason: out.failure_reason().map(str::to_string),
            tags: req.tags.clone(),
        })
    }

    async fn update_resource_configuration(
        &self,
        id: &ResourceConfigurationId,
        ip: Ipv4Addr,
        ports: &[PortRange],
        tags: &Tags,
    ) -> CloudResult<()> {
        let out = self
            .client
            .update_resource_configuration()
            .resource_configuration_identifier(id.as_str())
            .set_port_ranges(Some(port_strings(ports)))
            .resource_configuration_definition(definition(ip))
            .allow_association_to_shareable_service_network(true)
            .send()
            .await
            .map_err(|e| translate("UpdateResourceConfiguration", e))?;
        // After the update, never before: a stale tag is repaired by the next reconcile, a tag
        // ahead of the resource would never be.
        let arn = out
            .arn()
            .ok_or_else(|| malformed("UpdateResourceConfiguration", "arn"))?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .send()
            .await
            .map_err(|e| translate("TagResource", e))?;
        Ok(())
    }

    async fn create_service_network_association(
        &self,
        req: &CreateServiceNetworkAssociationRequest,
    ) -> CloudResult<ServiceNetworkAssociation> {
        const OP: &str = "CreateServiceNetworkResourceAssociation";
        let out = self
            .client
            .create_service_network_resource_association()
            .resource_configuration_identifier(req.configuration_id.as_str())
            .service_network_identifier(&req.service_network)
            .client_token(&req.client_token)
            .set_tags(Some(req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(ServiceNetworkAssociation {
            id: out.id().ok_or_else(|| malformed(OP, "id"))?.to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
            service_network_id: req
                .service_network
                .rsplit('/')
                .next()
                .unwrap_or(&req.service_network)
                .to_string(),
            configuration_id: req.configuration_id.clone(),
            status: NetworkAssociationStatus::parse(out.status().map(|s| s.as_str()).unwrap_or_default()),
            failure_reason: None,
            dns_name: None,
        })
    }

    async fn start_domain_verification(&self, req: &StartDomainVerificationRequest) -> CloudResult<DomainVerification> {
        const OP: &str = "StartDomainVerification";
        let out = self
            .client
            .start_domain_verification()
            .domain_name(&req.domain_name)
            .client_token(&req.client_token)
            .set_tags(Some(req.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        Ok(DomainVerification {
            id: out.id().to_string(),
            arn: out.arn().to_string(),
            domain_name: normalize_dns_name(out.domain_name()),
            status: VerificationStatus::parse(out.status().as_str()),
            txt_name: out.txt_method_config().map(|t| normalize_dns_name(t.name())),
            txt_value: out.txt_method_config().map(|t| t.value().to_string()),
            tags: req.tags.clone(),
        })
    }

    async fn delete_domain_verification(&self, id: &str) -> CloudResult<()> {
        self.client
            .delete_domain_verification()
            .domain_verification_identifier(id)
            .send()
            .await
            .map_err(|e| translate("DeleteDomainVerification", e))?;
        Ok(())
    }

    async fn delete_service_network_association(&self, id: &str) -> CloudResult<()> {
        self.client
            .delete_service_network_resource_association()
            .service_network_resource_association_identifier(id)
            .send()
            .await
            .map_err(|e| translate("DeleteServiceNetworkResourceAssociation", e))?;
        Ok(())
    }

    async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()> {
        self.client
            .delete_resource_configuration()
            .resource_configuration_identifier(id.as_str())
            .send()
            .await
            .map_err(|e| translate("DeleteResourceConfiguration", e))?;
        Ok(())
    }
}
