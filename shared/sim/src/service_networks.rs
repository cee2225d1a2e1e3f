//! VPC Lattice service networks: the networks (ours, or another account's shared with ours),
//! and the service-network resource associations of our configurations (the
//! [`LatticeRead::list_service_network_associations`] and `LatticeWrite` association calls):
//! created `CREATE_IN_PROGRESS`, `ACTIVE` with a DNS name [`ASSOCIATION_READY_AFTER`] seconds
//! later; deleted through `DELETE_IN_PROGRESS`. A client reaching that DNS name (through the
//! network's VPC endpoint or VPC association, not modelled further) connects to the
//! configuration's target ([`crate::SimCloud::connect`]).

use crate::SimCloud;
use crate::world::{CloudState, Task, err};
use fsxn_lattice_core::error::{CloudError, ErrorKind};
use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use fsxn_lattice_core::ports::*;

/// Seconds an association stays `CREATE_IN_PROGRESS` (and `DELETE_IN_PROGRESS`).
pub const ASSOCIATION_READY_AFTER: u64 = 20;

/// A service network.
#[derive(Debug, Clone)]
pub(crate) struct SimNetwork {
    pub(crate) arn: String,
}

impl CloudState {
    /// The network `identifier` names (id or ARN), if it exists and this account may use it.
    fn network(&self, identifier: &str) -> Option<(String, SimNetwork)> {
        let id = identifier.rsplit('/').next().unwrap_or(identifier);
        let n = self.networks.get(id)?;
        (identifier == id || identifier == n.arn).then(|| (id.to_string(), n.clone()))
    }

    pub(crate) fn association_ready(&mut self, id: &str) {
        let (region, hash) = (self.region.clone(), self.account_hash.clone());
        // The gateway needs its ENIs (a /28 each) to serve through the network, as for an
        // endpoint (UNCONFIRMED that VPC Lattice allocates them at association time too).
        let gateway = self
            .associations
            .get(id)
            .and_then(|a| self.configurations.get(&a.configuration_id))
            .and_then(|c| self.gateways.get(&c.gateway_id))
            .cloned();
        let served = gateway.is_some_and(|g| self.provision_gateway_enis(&g));
        if let Some(a) = self.associations.get_mut(id)
            && a.status == NetworkAssociationStatus::CreateInProgress
            && !served
        {
            a.status = NetworkAssociationStatus::CreateFailed;
            a.failure_reason = Some("(simulated) the resource gateway could not create its network interface".into());
            return;
        }
        if let Some(a) = self.associations.get_mut(id)
            && a.status == NetworkAssociationStatus::CreateInProgress
        {
            a.status = NetworkAssociationStatus::Active;
            a.dns_name = Some(format!(
                "{id}.{}.{hash}.vpc-lattice-rsc.{region}.on.aws",
                a.configuration_id
            ));
        }
    }

    pub(crate) fn association_gone(&mut self, id: &str) {
        self.associations.remove(id);
    }

    /// The configuration an active association's DNS name reaches.
    pub(crate) fn configuration_behind(&self, name: &str) -> Option<ResourceConfigurationId> {
        self.associations
            .values()
            .find(|a| a.status == NetworkAssociationStatus::Active && a.dns_name.as_deref() == Some(name))
            .map(|a| a.configuration_id.clone())
    }
}

impl SimCloud {
    /// Adds service network `id` (`sn-…`), owned by `owner` (`None`: the stack's account; another
    /// account's network is shared with the stack's through RAM).
    pub fn add_service_network(&self, id: &str, owner: Option<&str>) -> String {
        let mut w = self.w();
        let account = owner.map_or_else(|| w.account.clone(), str::to_string);
        let arn = format!("arn:aws:vpc-lattice:{}:{account}:servicenetwork/{id}", w.region);
        w.networks.insert(id.to_string(), SimNetwork { arn: arn.clone() });
        arn
    }

    /// Every association as it is (for assertions).
    pub fn service_network_associations(&self) -> Vec<ServiceNetworkAssociation> {
        self.w().associations.values().cloned().collect()
    }

    /// AWS marks association `id` failed.
    pub fn fail_association(&self, id: &str, reason: &str) {
        if let Some(a) = self.w().associations.get_mut(id) {
            a.status = NetworkAssociationStatus::CreateFailed;
            a.failure_reason = Some(reason.to_string());
            a.dns_name = None;
        }
    }

    pub(crate) fn list_associations(
        &self,
        configuration: &ResourceConfigurationId,
    ) -> CloudResult<Vec<ServiceNetworkAssociation>> {
        const OP: &str = "ListServiceNetworkResourceAssociations";
        let mut w = self.w();
        w.enter(OP)?;
        if !w.configurations.contains_key(configuration) {
            return Err(not_found(OP, configuration.as_str()));
        }
        let mut found: Vec<ServiceNetworkAssociation> = w
            .associations
            .values()
            .filter(|a| &a.configuration_id == configuration)
            .cloned()
            .collect();
        found.retain(|a| !w.hidden(&a.id));
        w.pages(OP, found.len(), page::LATTICE as usize);
        w.leave(OP, Ok(found))
    }

    pub(crate) fn create_association(
        &self,
        req: &CreateServiceNetworkAssociationRequest,
    ) -> CloudResult<ServiceNetworkAssociation> {
        const OP: &str = "CreateServiceNetworkResourceAssociation";
        let mut w = self.w();
        w.enter(OP)?;
        let fingerprint = serde_json::to_string(req)
            .unwrap_or_default()
            .replace(&req.client_token, "");
        if let Some(a) = w.replay(OP, &req.client_token, &fingerprint, |w, id| {
            w.associations.get(id).cloned()
        })? {
            return w.leave(OP, Ok(a));
        }
        let Some((network_id, network)) = w.network(&req.service_network) else {
            return Err(not_found(OP, &req.service_network));
        };
        let Some(cfg) = w.configurations.get(&req.configuration_id).cloned() else {
            return Err(not_found(OP, req.configuration_id.as_str()));
        };
        if w.associations
            .values()
            .any(|a| a.configuration_id == cfg.id && a.service_network_id == network_id)
        {
            // UNCONFIRMED: the exact error for a second association of the same pair.
            return Err(err(
                ErrorKind::Conflict,
                OP,
                "ConflictException",
                format!("{} is already associated with {network_id}", cfg.id),
            ));
        }
        let id = w.id("snra");
        let a = ServiceNetworkAssociation {
            id: id.clone(),
            arn: format!("{}/resourceassociation/{id}", network.arn),
            service_network_id: network_id,
            configuration_id: cfg.id.clone(),
            status: NetworkAssociationStatus::CreateInProgress,
            failure_reason: None,
            dns_name: None,
        };
        w.associations.insert(id.clone(), a.clone());
        w.remember(OP, &req.client_token, &fingerprint, &id);
        w.born(&id);
        w.schedule(ASSOCIATION_READY_AFTER, Task::AssociationReady(id));
        w.leave(OP, Ok(a))
    }

    pub(crate) fn delete_association(&self, id: &str) -> CloudResult<()> {
        const OP: &str = "DeleteServiceNetworkResourceAssociation";
        let mut w = self.w();
        w.enter(OP)?;
        let Some(a) = w.associations.get_mut(id) else {
            return Err(not_found(OP, id));
        };
        if a.status != NetworkAssociationStatus::DeleteInProgress {
            a.status = NetworkAssociationStatus::DeleteInProgress;
            a.dns_name = None;
            w.schedule(ASSOCIATION_READY_AFTER, Task::AssociationGone(id.to_string()));
        }
        w.leave(OP, Ok(()))
    }
}

fn not_found(op: &str, what: &str) -> CloudError {
    err(
        ErrorKind::NotFound,
        op,
        "ResourceNotFoundException",
        format!("{what} not found"),
    )
}
