//! The core's [`fsxn_lattice_core::ports::Directory`] port over LDAP: what the planner and the
//! applier call, carried out by a bound [`Directory`]. Errors become [`CloudError`]s of the
//! project's kinds ([`DirectoryError::error_kind`]): a foreign SPN holder or record is
//! `Conflict` (the holder's DN in the message), a refused bind `AccessDenied`, an unreachable DC
//! `Transient`.
//!
//! Only the directory half: the SPN record is kept on the SVM with FSx `TagResource`
//! ([`fsxn_lattice_core::ports::SvmTagWrite`]), which the AWS side provides; a cloud hands both
//! out through [`fsxn_lattice_core::ports::DirectoryAccess`].

use crate::directory::{AliasOwner, CnameChange, Directory};
use crate::error::DirectoryError;
use crate::names::{SpnRecord, SpnValue};
use async_trait::async_trait;
use fsxn_lattice_core::directory::{AliasDnsState, ComputerState};
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::SvmId;
use fsxn_lattice_core::ports::{CloudResult, Directory as DirectoryPort};

/// A bound connection as the core's directory port.
#[derive(Debug)]
pub struct LdapDirectory {
    dir: Directory,
}

impl LdapDirectory {
    /// The port over `dir`.
    pub fn new(dir: Directory) -> Self {
        Self { dir }
    }

    /// The connection (to close it, or for the doctor's checks).
    pub fn into_inner(self) -> Directory {
        self.dir
    }
}

/// A directory error as the core's error, keeping the holder's DN in the message.
pub fn to_cloud_error(e: DirectoryError) -> CloudError {
    let mut message = e.message.clone();
    if let Some(dn) = &e.holder_dn
        && !message.contains(dn.as_str())
    {
        message = format!("{message} (held by {dn})");
    }
    CloudError::new(e.error_kind(), &e.operation, e.kind.as_str(), message)
}

fn describe(c: CnameChange) -> String {
    match c {
        CnameChange::Created => "created, with its marker".into(),
        CnameChange::Repointed { from } => format!("repointed from {from}"),
        CnameChange::TtlChanged { from, to } => format!("ttl {from} → {to}"),
        CnameChange::Unchanged => "unchanged".into(),
        CnameChange::Removed => "removed, with its marker".into(),
        CnameChange::Absent => "absent".into(),
        CnameChange::LeftAlone(why) => format!("left alone: {why}"),
    }
}

fn owner(owner: &str, svm: &SvmId) -> AliasOwner {
    AliasOwner {
        owner: owner.to_string(),
        svm: svm.to_string(),
    }
}

#[async_trait]
impl DirectoryPort for LdapDirectory {
    async fn read_computer(&self, computer: &str, alias: &str) -> CloudResult<Option<ComputerState>> {
        let comp = match self.dir.find_computer(computer).await {
            Ok(c) => c,
            Err(e) if e.error_kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(to_cloud_error(e)),
        };
        let mut state = ComputerState {
            dn: comp.dn.clone(),
            guid: comp.guid.clone(),
            dns_host_name: comp.dns_host_name.clone(),
            spns: comp.spns.clone(),
            additional_dns_host_names: comp.additional_dns_host_names.clone(),
            ..ComputerState::default()
        };
        for v in SpnValue::ALL {
            if state.has(v, alias) {
                continue;
            }
            // `cifs/<name>` elsewhere counts against `HOST/<name>` (see `Directory::holders`).
            let holders = self
                .dir
                .holders(v.attribute(), &v.value_for(alias), &comp.dn)
                .await
                .map_err(to_cloud_error)?;
            if let Some(h) = holders.into_iter().next() {
                state.held_elsewhere.insert(v, h);
            }
        }
        Ok(Some(state))
    }

    async fn ensure_spn(&self, computer: &str, alias: &str, previous: &SpnRecord) -> CloudResult<SpnRecord> {
        self.dir
            .ensure_spn(computer, alias, previous)
            .await
            .map(|c| c.record)
            .map_err(to_cloud_error)
    }

    async fn remove_spn(&self, computer: &str, record: &SpnRecord) -> CloudResult<Vec<String>> {
        self.dir
            .remove_spn(computer, record)
            .await
            .map(|c| c.removed)
            .map_err(to_cloud_error)
    }

    async fn read_alias(&self, zone: &str, alias: &str) -> CloudResult<AliasDnsState> {
        self.dir.read_alias(zone, alias).await.map_err(to_cloud_error)
    }

    async fn list_alias_markers(&self, zone: &str) -> CloudResult<Vec<(String, String)>> {
        self.dir.list_alias_markers(zone).await.map_err(to_cloud_error)
    }

    async fn ensure_alias_cname(
        &self,
        zone: &str,
        alias: &str,
        target: &str,
        ttl: u32,
        owner_id: &str,
        svm: &SvmId,
    ) -> CloudResult<String> {
        self.dir
            .ensure_alias_cname(zone, alias, target, ttl, &owner(owner_id, svm))
            .await
            .map(describe)
            .map_err(to_cloud_error)
    }

    async fn remove_alias_cname(&self, zone: &str, alias: &str, owner_id: &str, svm: &SvmId) -> CloudResult<String> {
        self.dir
            .remove_alias_cname(zone, alias, &owner(owner_id, svm))
            .await
            .map(describe)
            .map_err(to_cloud_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DirectoryErrorKind;

    #[test]
    fn errors_keep_their_kind_and_the_holder() {
        let e = DirectoryError::new(DirectoryErrorKind::SpnTaken, "ensure SPN", "HOST/X is taken")
            .held_by("CN=OTHER,DC=corp,DC=example");
        let c = to_cloud_error(e);
        assert_eq!(c.kind, ErrorKind::Conflict);
        assert!(c.message.contains("CN=OTHER,DC=corp,DC=example"), "{c}");
        assert_eq!(
            describe(CnameChange::Repointed { from: "a".into() }),
            "repointed from a"
        );
        assert_eq!(describe(CnameChange::TtlChanged { from: 300, to: 60 }), "ttl 300 → 60");
    }
}
