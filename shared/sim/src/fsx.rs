//! FSx: file systems and SVMs (the [`FsxRead`] port), and what an administrator does to them
//! with the `aws fsx` CLI (create, tag, untag, delete an SVM), with the CloudTrail events.

use crate::{SimCloud, trail};
use async_trait::async_trait;
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;
use serde_json::{Value, json};

impl SimCloud {
    /// Creates an SVM as `aws fsx create-storage-virtual-machine` would, emitting the CloudTrail
    /// event (the SVM is `CREATED` at once here).
    pub fn create_svm(&self, svm: StorageVirtualMachine) {
        let mut w = self.w();
        let identity = trail::caller_identity(&w.account, "Admin");
        let (id, fs, name) = (svm.id.to_string(), svm.file_system_id.to_string(), svm.name.clone());
        w.svms.insert(svm.id.clone(), svm);
        w.emit(trail::Record {
            source: "fsx.amazonaws.com",
            name: "CreateStorageVirtualMachine",
            identity,
            agent: "aws-cli/2.22.0",
            request: json!({"fileSystemId": fs, "name": name}),
            response: json!({"storageVirtualMachine": {"storageVirtualMachineId": id, "fileSystemId": fs, "lifecycle": "CREATING"}}),
            error: None,
            service_event: false,
        });
    }

    /// Removes a tag as `aws fsx untag-resource` would (no event: an opt-out by untagging is
    /// caught by the next event or the schedule).
    pub fn untag_fsx(&self, svm: &SvmId, key: &str) {
        if let Some(s) = self.w().svms.get_mut(svm) {
            s.tags.remove(key);
        }
    }

    /// Tags an SVM or file system the way `aws fsx tag-resource` would, emitting the CloudTrail
    /// event (lower-camel keys, as FSx records are).
    pub fn tag_fsx(&self, arn_target: &str, key: &str, value: &str) {
        let mut w = self.w();
        let (region, account) = (w.region.clone(), w.account.clone());
        let (arn, found) = if let Ok(svm) = SvmId::parse(arn_target) {
            let Some(s) = w.svms.get_mut(&svm) else { return };
            s.tags.insert(key.into(), value.into());
            (
                format!(
                    "arn:aws:fsx:{region}:{account}:storage-virtual-machine/{}/{}",
                    s.file_system_id, s.id
                ),
                true,
            )
        } else if let Ok(fs) = FileSystemId::parse(arn_target) {
            let Some(f) = w.file_systems.get_mut(&fs) else { return };
            f.tags.insert(key.into(), value.into());
            (format!("arn:aws:fsx:{region}:{account}:file-system/{fs}"), true)
        } else {
            (String::new(), false)
        };
        if found {
            let identity = trail::caller_identity(&w.account, "Admin");
            w.emit(trail::Record {
                source: "fsx.amazonaws.com",
                name: "TagResource",
                identity,
                agent: "aws-cli/2.22.0",
                request: json!({"resourceARN": arn, "tags": [{"key": key, "value": value}]}),
                response: Value::Null,
                error: None,
                service_event: false,
            });
        }
    }

    /// Deletes an SVM as `aws fsx delete-storage-virtual-machine` would (gone at once here),
    /// emitting the CloudTrail event.
    pub fn delete_svm(&self, id: &SvmId) {
        let mut w = self.w();
        if w.svms.remove(id).is_some() {
            let identity = trail::caller_identity(&w.account, "Admin");
            w.emit(trail::Record {
                source: "fsx.amazonaws.com",
                name: "DeleteStorageVirtualMachine",
                identity,
                agent: "aws-cli/2.22.0",
                request: json!({"storageVirtualMachineId": id.as_str()}),
                response: json!({"storageVirtualMachineId": id.as_str(), "lifecycle": "DELETING"}),
                error: None,
                service_event: false,
            });
        }
    }
}

#[async_trait]
impl FsxRead for SimCloud {
    async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
        let mut w = self.w();
        w.enter("DescribeFileSystems")?;
        let n = w.file_systems.len();
        w.pages("DescribeFileSystems", n, page::FSX_ASSUMED);
        Ok(w.file_systems.values().cloned().collect())
    }
    async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
        let mut w = self.w();
        w.enter("DescribeStorageVirtualMachines")?;
        let n = w.svms.len();
        w.pages("DescribeStorageVirtualMachines", n, page::FSX_ASSUMED);
        Ok(w.svms.values().cloned().collect())
    }
}
