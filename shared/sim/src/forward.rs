//! [`forward_ports!`]: every port of a [`crate::SimCloud`] implemented for a wrapper that holds
//! it as `cloud`, each call passed through a macro of the wrapper (`$wrap!(self, service,
//! call)`): the chaos harness's actors (crash and yield points) and [`crate::Timed`] (latency)
//! wrap the same calls, listed once here. Rust has no trait delegation.

macro_rules! forward_ports {
    ($ty:ty, $wrap:ident) => {
        #[async_trait]
        impl FsxRead for $ty {
            async fn describe_file_systems(&self) -> CloudResult<Vec<FileSystem>> {
                $wrap!(self, Service::Fsx, self.cloud.describe_file_systems())
            }
            async fn describe_storage_virtual_machines(&self) -> CloudResult<Vec<StorageVirtualMachine>> {
                $wrap!(self, Service::Fsx, self.cloud.describe_storage_virtual_machines())
            }
        }
        #[async_trait]
        impl NetworkRead for $ty {
            async fn describe_vpcs(&self, ids: &[VpcId], attributes: VpcAttributes) -> CloudResult<Vec<Vpc>> {
                $wrap!(self, Service::Ec2, self.cloud.describe_vpcs(ids, attributes))
            }
            async fn describe_subnets(&self, vpc_id: &VpcId) -> CloudResult<Vec<Subnet>> {
                $wrap!(self, Service::Ec2, self.cloud.describe_subnets(vpc_id))
            }
            async fn describe_network_interfaces(&self, vpc_id: &VpcId) -> CloudResult<Vec<NetworkInterface>> {
                $wrap!(self, Service::Ec2, self.cloud.describe_network_interfaces(vpc_id))
            }
            async fn describe_route_tables(&self, vpc_id: &VpcId) -> CloudResult<Vec<RouteTable>> {
                $wrap!(self, Service::Ec2, self.cloud.describe_route_tables(vpc_id))
            }
            async fn get_subnet_cidr_reservations(&self, subnet_id: &SubnetId) -> CloudResult<Vec<CidrReservation>> {
                $wrap!(
                    self,
                    Service::Ec2,
                    self.cloud.get_subnet_cidr_reservations(subnet_id)
                )
            }
            async fn describe_resource_endpoints(&self, filters: &[EndpointFilter]) -> CloudResult<Vec<VpcEndpoint>> {
                $wrap!(
                    self,
                    Service::Ec2,
                    self.cloud.describe_resource_endpoints(filters)
                )
            }
        }
        #[async_trait]
        impl NetworkWrite for $ty {
            async fn create_subnet(&self, req: &CreateSubnetRequest) -> CloudResult<Subnet> {
                $wrap!(self, Service::Ec2, self.cloud.create_subnet(req))
            }
            async fn delete_subnet(&self, id: &SubnetId) -> CloudResult<()> {
                $wrap!(self, Service::Ec2, self.cloud.delete_subnet(id))
            }
            async fn create_subnet_cidr_reservation(
                &self,
                req: &CreateCidrReservationRequest,
            ) -> CloudResult<CidrReservation> {
                $wrap!(self, Service::Ec2, self.cloud.create_subnet_cidr_reservation(req))
            }
            async fn delete_subnet_cidr_reservation(&self, id: &CidrReservationId) -> CloudResult<()> {
                $wrap!(self, Service::Ec2, self.cloud.delete_subnet_cidr_reservation(id))
            }
            async fn create_vpc_endpoint(&self, req: &CreateVpcEndpointRequest) -> CloudResult<VpcEndpoint> {
                $wrap!(self, Service::Ec2, self.cloud.create_vpc_endpoint(req))
            }
            async fn delete_vpc_endpoint(&self, id: &VpcEndpointId) -> CloudResult<()> {
                $wrap!(self, Service::Ec2, self.cloud.delete_vpc_endpoint(id))
            }
            async fn associate_route_table(
                &self,
                route_table_id: &RouteTableId,
                subnet_id: &SubnetId,
            ) -> CloudResult<String> {
                $wrap!(
                    self,
                    Service::Ec2,
                    self.cloud.associate_route_table(route_table_id, subnet_id)
                )
            }
            async fn disassociate_route_table(&self, association_id: &str) -> CloudResult<()> {
                $wrap!(
                    self,
                    Service::Ec2,
                    self.cloud.disassociate_route_table(association_id)
                )
            }
        }
        #[async_trait]
        impl LatticeRead for $ty {
            async fn list_resource_gateways(&self) -> CloudResult<Vec<ResourceGateway>> {
                $wrap!(self, Service::Lattice, self.cloud.list_resource_gateways())
            }
            async fn list_service_network_associations(
                &self,
                configuration: &ResourceConfigurationId,
            ) -> CloudResult<Vec<ServiceNetworkAssociation>> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.list_service_network_associations(configuration)
                )
            }
            async fn list_resource_configurations(&self) -> CloudResult<Vec<ResourceConfiguration>> {
                $wrap!(self, Service::Lattice, self.cloud.list_resource_configurations())
            }
            async fn list_domain_verifications(&self) -> CloudResult<Vec<DomainVerification>> {
                $wrap!(self, Service::Lattice, self.cloud.list_domain_verifications())
            }
        }
        #[async_trait]
        impl LatticeWrite for $ty {
            async fn create_resource_gateway(
                &self,
                req: &CreateResourceGatewayRequest,
            ) -> CloudResult<ResourceGateway> {
                $wrap!(self, Service::Lattice, self.cloud.create_resource_gateway(req))
            }
            async fn update_resource_gateway(
                &self,
                id: &GatewayId,
                security_group_ids: &[SecurityGroupId],
            ) -> CloudResult<()> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.update_resource_gateway(id, security_group_ids)
                )
            }
            async fn delete_resource_gateway(&self, id: &GatewayId) -> CloudResult<()> {
                $wrap!(self, Service::Lattice, self.cloud.delete_resource_gateway(id))
            }
            async fn create_resource_configuration(
                &self,
                req: &CreateResourceConfigurationRequest,
            ) -> CloudResult<ResourceConfiguration> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.create_resource_configuration(req)
                )
            }
            async fn update_resource_configuration(
                &self,
                id: &ResourceConfigurationId,
                ip_address: Ipv4Addr,
                port_ranges: &[PortRange],
                tags: &Tags,
            ) -> CloudResult<()> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud
                        .update_resource_configuration(id, ip_address, port_ranges, tags)
                )
            }
            async fn create_service_network_association(
                &self,
                req: &CreateServiceNetworkAssociationRequest,
            ) -> CloudResult<ServiceNetworkAssociation> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.create_service_network_association(req)
                )
            }
            async fn delete_service_network_association(&self, id: &str) -> CloudResult<()> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.delete_service_network_association(id)
                )
            }
            async fn start_domain_verification(
                &self,
                req: &StartDomainVerificationRequest,
            ) -> CloudResult<DomainVerification> {
                $wrap!(self, Service::Lattice, self.cloud.start_domain_verification(req))
            }
            async fn delete_domain_verification(&self, id: &str) -> CloudResult<()> {
                $wrap!(self, Service::Lattice, self.cloud.delete_domain_verification(id))
            }
            async fn delete_resource_configuration(&self, id: &ResourceConfigurationId) -> CloudResult<()> {
                $wrap!(
                    self,
                    Service::Lattice,
                    self.cloud.delete_resource_configuration(id)
                )
            }
        }
        #[async_trait]
        impl DnsRead for $ty {
            async fn get_hosted_zone(&self, id: &HostedZoneId) -> CloudResult<HostedZone> {
                $wrap!(self, Service::Route53, self.cloud.get_hosted_zone(id))
            }
            async fn list_resource_record_sets(&self, zone: &HostedZoneId) -> CloudResult<Vec<RecordSet>> {
                $wrap!(self, Service::Route53, self.cloud.list_resource_record_sets(zone))
            }
        }
        #[async_trait]
        impl DnsWrite for $ty {
            async fn change_resource_record_sets(
                &self,
                zone: &HostedZoneId,
                changes: &[RecordChange],
            ) -> CloudResult<String> {
                $wrap!(
                    self,
                    Service::Route53,
                    self.cloud.change_resource_record_sets(zone, changes)
                )
            }
            async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
                $wrap!(self, Service::Route53, self.cloud.get_change(change_id))
            }
        }

        #[async_trait]
        impl Directory for $ty {
            async fn read_computer(&self, computer: &str, alias: &str) -> CloudResult<Option<ComputerState>> {
                $wrap!(
                    self,
                    Service::Directory,
                    self.cloud.read_computer(computer, alias)
                )
            }
            async fn ensure_spn(&self, computer: &str, alias: &str, previous: &SpnRecord) -> CloudResult<SpnRecord> {
                $wrap!(
                    self,
                    Service::Directory,
                    self.cloud.ensure_spn(computer, alias, previous)
                )
            }
            async fn remove_spn(&self, computer: &str, record: &SpnRecord) -> CloudResult<Vec<String>> {
                $wrap!(self, Service::Directory, self.cloud.remove_spn(computer, record))
            }
            async fn read_alias(&self, zone: &str, alias: &str) -> CloudResult<AliasDnsState> {
                $wrap!(self, Service::Directory, self.cloud.read_alias(zone, alias))
            }
            async fn list_alias_markers(&self, zone: &str) -> CloudResult<Vec<(String, String)>> {
                $wrap!(self, Service::Directory, self.cloud.list_alias_markers(zone))
            }
            async fn ensure_alias_cname(
                &self,
                zone: &str,
                alias: &str,
                target: &str,
                ttl: u32,
                owner: &str,
                svm: &SvmId,
            ) -> CloudResult<String> {
                $wrap!(
                    self,
                    Service::Directory,
                    self.cloud
                        .ensure_alias_cname(zone, alias, target, ttl, owner, svm)
                )
            }
            async fn remove_alias_cname(
                &self,
                zone: &str,
                alias: &str,
                owner: &str,
                svm: &SvmId,
            ) -> CloudResult<String> {
                $wrap!(
                    self,
                    Service::Directory,
                    self.cloud.remove_alias_cname(zone, alias, owner, svm)
                )
            }
        }
        #[async_trait]
        impl SvmTagWrite for $ty {
            async fn tag_svm(&self, svm: &SvmId, key: &str, value: &str) -> CloudResult<()> {
                $wrap!(self, Service::Fsx, self.cloud.tag_svm(svm, key, value))
            }
            async fn untag_svm(&self, svm: &SvmId, key: &str) -> CloudResult<()> {
                $wrap!(self, Service::Fsx, self.cloud.untag_svm(svm, key))
            }
        }
        impl AccountAccess for $ty {
            fn sharing(&self) -> Option<&dyn Sharing> {
                self.cloud.sharing()
            }
        }
        impl DirectoryAccess for $ty {
            fn directory(&self) -> Option<(&dyn Directory, &dyn SvmTagWrite)> {
                self.cloud
                    .directory()
                    .map(|_| (self as &dyn Directory, self as &dyn SvmTagWrite))
            }
        }
    };
}
