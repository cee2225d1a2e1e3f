//! FSx: ONTAP file systems and their SVMs (tags included: CloudTrail records carry no tag
//! values, so the state is always re-read here).

use crate::error::translate;
use async_trait::async_trait;
use aws_sdk_fsx::Client;
use aws_sdk_fsx::types::FileSystemType;
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::SvmId;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;

/// The FSx adapter.
#[derive(Debug, Clone)]
pub struct AwsFsx {
    client: Client,
}

impl AwsFsx {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn bad(op: &str, what: &str, e: impl std::fmt::Display) -> CloudError {
    CloudError::new(ErrorKind::Internal, op, "MalformedResponse", format!("{what}: {e}"))
}

fn tags(t: &[aws_sdk_fsx::types::Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

fn lifecycle(s: &str) -> FsxLifecycle {
    match s {
        "AVAILABLE" => FsxLifecycle::Available,
        "CREATED" => FsxLifecycle::Created,
        "CREATING" => FsxLifecycle::Creating,
        "DELETING" => FsxLifecycle::Deleting,
        "MISCONFIGURED" | "MISCONFIGURED_UNAVAILABLE" => FsxLifecycle::Misconfigured,
        "PENDING" => FsxLifecycle::Pending,
        "UPDATING" => FsxLifecycle::Updating,
        _ => FsxLifecycle::Failed,
    }
}

fn endpoint(e: Option<&aws_sdk_fsx::types::SvmEndpoint>) -> Option<SvmEndpoint> {
    e.map(|e| SvmEndpoint {
        dns_name: e.dns_name().map(str::to_string),
        // IPv6 addresses (dual-stack SVMs) are skipped: resource configurations here are IPv4.
        ip_addresses: e.ip_addresses().iter().filter_map(|a| a.parse().ok()).collect(),
    })
}

#[async_trait]
impl FsxRead for AwsFsx {
    async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
        const OP: &str = "DescribeFileSystems";
        // The FSx paginators have no `items()`: flatten the pages.
        let pages: Vec<_> = self
            .client
            .describe_file_systems()
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        let items: Vec<&aws_sdk_fsx::types::FileSystem> = pages.iter().flat_map(|p| p.file_systems()).collect();
        let mut out = Vec::new();
        for f in items
            .into_iter()
            .filter(|f| f.file_system_type() == Some(&FileSystemType::Ontap))
        {
            let Some(ontap) = f.ontap_configuration() else { continue };
            // By the string, not the SDK enum: a crate older than the service yields `Unknown`
            // for a new value (MULTI_AZ_3 in botocore's model before the Rust crate), and
            // `as_str` still carries it.
            let deployment_type =
                DeploymentType::parse(ontap.deployment_type().map(|d| d.as_str()).unwrap_or_default());
            if !deployment_type.is_known() {
                tracing::info!(
                    file_system = f.file_system_id().unwrap_or_default(),
                    deployment_type = %deployment_type,
                    "deployment type unknown to this build: classified by its name"
                );
            }
            // AWS always sends VpcId; a listing without it (a stand-in, a file system still being
            // created) cannot be planned for: skip that one instead of failing every reconcile.
            let Some(vpc) = f.vpc_id() else {
                tracing::warn!(
                    file_system = f.file_system_id().unwrap_or_default(),
                    "file system without VpcId skipped"
                );
                continue;
            };
            out.push(FileSystem {
                id: f
                    .file_system_id()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e| bad(OP, "FileSystemId", e))?,
                lifecycle: lifecycle(f.lifecycle().map(|l| l.as_str()).unwrap_or_default()),
                deployment_type,
                vpc_id: vpc.parse().map_err(|e| bad(OP, "VpcId", e))?,
                subnet_ids: f
                    .subnet_ids()
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(OP, "SubnetIds", e))?,
                endpoint_ip_address_range: ontap.endpoint_ip_address_range().and_then(|r| r.parse().ok()),
                route_table_ids: ontap
                    .route_table_ids()
                    .iter()
                    .map(|r| r.parse())
                    .collect::<Result<_, _>>()
                    .map_err(|e| bad(OP, "RouteTableIds", e))?,
                tags: tags(f.tags()),
            });
        }
        Ok(out)
    }

    async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
        const OP: &str = "DescribeStorageVirtualMachines";
        let pages: Vec<_> = self
            .client
            .describe_storage_virtual_machines()
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| translate(OP, e))?;
        let items: Vec<&aws_sdk_fsx::types::StorageVirtualMachine> =
            pages.iter().flat_map(|p| p.storage_virtual_machines()).collect();
        items
            .iter()
            .map(|s| {
                let e = s.endpoints();
                Ok(StorageVirtualMachine {
                    id: s
                        .storage_virtual_machine_id()
                        .unwrap_or_default()
                        .parse()
                        .map_err(|e| bad(OP, "StorageVirtualMachineId", e))?,
                    name: s.name().unwrap_or_default().to_string(),
                    file_system_id: s
                        .file_system_id()
                        .unwrap_or_default()
                        .parse()
                        .map_err(|e| bad(OP, "FileSystemId", e))?,
                    lifecycle: lifecycle(s.lifecycle().map(|l| l.as_str()).unwrap_or_default()),
                    endpoints: SvmEndpoints {
                        management: endpoint(e.and_then(|e| e.management())),
                        nfs: endpoint(e.and_then(|e| e.nfs())),
                        smb: endpoint(e.and_then(|e| e.smb())),
                        iscsi: endpoint(e.and_then(|e| e.iscsi())),
                    },
                    tags: tags(s.tags()),
                })
            })
            .collect()
    }
}

impl AwsFsx {
    /// The SVM's `ResourceARN`, which FSx's tagging calls take (one `DescribeStorageVirtualMachines`
    /// of that SVM: the ARN names the file system too, which the caller does not carry).
    async fn svm_arn(&self, svm: &SvmId) -> CloudResult<String> {
        const OP: &str = "DescribeStorageVirtualMachines";
        let out = self
            .client
            .describe_storage_virtual_machines()
            .storage_virtual_machine_ids(svm.as_str())
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        out.storage_virtual_machines()
            .iter()
            .find(|s| s.storage_virtual_machine_id() == Some(svm.as_str()))
            .and_then(|s| s.resource_arn())
            .map(str::to_string)
            .ok_or_else(|| {
                CloudError::new(
                    ErrorKind::NotFound,
                    OP,
                    "StorageVirtualMachineNotFound",
                    format!("{svm} is not listed: its SPN record cannot be kept"),
                )
            })
    }
}

/// The SPN record of the Directory function ([`fsxn_lattice_core::naming::directory_tag`]).
#[async_trait]
impl SvmTagWrite for AwsFsx {
    async fn tag_svm(&self, svm: &SvmId, key: &str, value: &str) -> CloudResult<()> {
        let arn = self.svm_arn(svm).await?;
        let tag = aws_sdk_fsx::types::Tag::builder().key(key).value(value).build();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag)
            .send()
            .await
            .map_err(|e| translate("TagResource", e))?;
        Ok(())
    }

    async fn untag_svm(&self, svm: &SvmId, key: &str) -> CloudResult<()> {
        let arn = self.svm_arn(svm).await?;
        self.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys(key)
            .send()
            .await
            .map_err(|e| translate("UntagResource", e))?;
        Ok(())
    }
}
