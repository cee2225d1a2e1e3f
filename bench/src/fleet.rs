//! A fleet of file systems, SVMs and consumer VPCs in the simulated cloud, sized by the caller:
//! the world the API-call table and the planner benchmark run in.

use fsxn_lattice_core::config::Config;
use fsxn_lattice_core::model::*;
use fsxn_lattice_sim::SimCloud;
use std::net::Ipv4Addr;

/// How big a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetSize {
    /// SVMs, all exposed (SMB + NFS) with an alias.
    pub svms: usize,
    /// SVMs per file system (FSx for ONTAP allows up to 24 on the largest file systems).
    pub svms_per_file_system: usize,
    /// Consumer VPCs, each with its own private zone for the aliases.
    pub consumers: usize,
}

/// The owner tag value of the fleet's config.
pub const OWNER: &str = "bench";

/// A built fleet.
pub struct Fleet {
    /// The simulated cloud.
    pub cloud: SimCloud,
    /// The config.
    pub config: Config,
}

fn id<T: std::str::FromStr>(prefix: &str, n: usize) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("{prefix}-{n:017x}").parse().expect("generated id")
}

/// Builds a fleet: one FSx VPC (10.0.0.0/16) with a /20 per AZ for the file systems' and
/// gateways' ENIs (a quarter of each taken by workload ENIs at random), file systems whose
/// endpoint IP ranges lie in 10.0.128.0/17, and `consumers` VPCs with two subnets and a private
/// zone `corp.example` each; the VPC endpoint quota raised to one per SVM where the default is
/// too low. Nothing of fsxn-lattice exists yet.
pub fn build(size: FleetSize, seed: u64) -> Fleet {
    let cloud = SimCloud::new(seed);
    // One endpoint per SVM in each consumer VPC: a fleet this big runs with a raised quota.
    cloud.set_endpoints_per_vpc(size.svms.max(fsxn_lattice_sim::ENDPOINTS_PER_VPC));
    let vpc = cloud.add_vpc("vpc-0f1ee70000000000a", &["10.0.0.0/16"], true);
    let subnets = [
        cloud.add_subnet("subnet-0f1ee7000000000a1", &vpc, "us-east-1a", "10.0.16.0/20"),
        cloud.add_subnet("subnet-0f1ee7000000000b1", &vpc, "us-east-1b", "10.0.32.0/20"),
    ];
    // Workload ENIs: the first 1,000 addresses of each /20 (plenty of aligned /28 stay free:
    // the fleet measures the steady path, not healing; the seed scenario covers that).
    for (s, third_octet) in subnets.iter().zip([16u8, 32]) {
        for i in 0..1000u32 {
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, third_octet, 0)) + 4 + i);
            cloud.add_eni(s, &[ip], "workload");
        }
    }
    let n_fs = size.svms.div_ceil(size.svms_per_file_system.max(1));
    for f in 0..n_fs {
        let range: ipnet::Ipv4Net = format!("10.0.{}.192/26", 128 + f).parse().expect("cidr");
        let fs = FileSystem {
            id: id("fs", f + 1),
            lifecycle: FsxLifecycle::Available,
            deployment_type: DeploymentType::MultiAz1,
            vpc_id: vpc.clone(),
            subnet_ids: subnets.to_vec(),
            endpoint_ip_address_range: Some(range),
            route_table_ids: vec![],
            tags: Tags::new(),
        };
        cloud.add_file_system(fs.clone());
        let first = f * size.svms_per_file_system;
        for n in first..(first + size.svms_per_file_system).min(size.svms) {
            let ip = Ipv4Addr::from(u32::from(range.network()) + 2 + (n - first) as u32);
            cloud.add_svm(StorageVirtualMachine {
                id: id("svm", n + 1),
                name: format!("svm{n}"),
                file_system_id: fs.id.clone(),
                lifecycle: FsxLifecycle::Created,
                endpoints: SvmEndpoints::one_ip(&format!("SVM{n}"), ip),
                tags: Tags::from([
                    ("fsxn-lattice:expose".to_string(), "smb,nfs".to_string()),
                    ("fsxn-lattice:alias".to_string(), format!("svm{n}.corp.example")),
                ]),
            });
        }
    }
    let mut text = format!("owner = \"{OWNER}\"\n[gateway]\nsecurity_group_ids = [\"sg-0f1ee70000000000a\"]\n");
    for c in 0..size.consumers {
        let cvpc = cloud.add_vpc(
            &format!("vpc-0c0000000000{c:05x}"),
            &[&format!("10.{}.0.0/16", 100 + c)],
            true,
        );
        let a = cloud.add_subnet(
            &format!("subnet-0c000000000{c:05x}a"),
            &cvpc,
            "us-east-1a",
            &format!("10.{}.0.0/22", 100 + c),
        );
        let b = cloud.add_subnet(
            &format!("subnet-0c000000000{c:05x}b"),
            &cvpc,
            "us-east-1b",
            &format!("10.{}.4.0/22", 100 + c),
        );
        let zone = cloud.add_hosted_zone(&format!("ZBENCH{c:015}"), "corp.example", true);
        text.push_str(&format!(
            "[[consumers]]\nname = \"c{c}\"\nvpc_id = \"{cvpc}\"\nsubnet_ids = [\"{a}\", \"{b}\"]\nsecurity_group_ids = [\"sg-0c00000000000000a\"]\nhosted_zone_id = \"{zone}\"\n"
        ));
    }
    let config = Config::from_toml(&text).expect("the fleet's config is valid");
    Fleet { cloud, config }
}
