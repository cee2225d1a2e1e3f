//! Reading the JSON that the AWS CLI prints for `ec2 describe-subnets`,
//! `ec2 describe-network-interfaces` and `ec2 get-subnet-cidr-reservations`, so the /28 analysis
//! runs offline on a person's own data. Only the fields used are read; unknown ones are skipped.

use fsxn_lattice_core::ids::*;
use fsxn_lattice_core::model::*;
use ipnet::Ipv4Net;
use serde::Deserialize;
use std::net::Ipv4Addr;

/// A file could not be read as the expected CLI output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct InvalidCliJson {
    /// Which document.
    pub what: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

fn tags(t: Option<Vec<Tag>>) -> Tags {
    t.unwrap_or_default().into_iter().map(|t| (t.key, t.value)).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetsDoc {
    subnets: Vec<SubnetJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SubnetJson {
    subnet_id: SubnetId,
    vpc_id: VpcId,
    availability_zone: String,
    cidr_block: Ipv4Net,
    tags: Option<Vec<Tag>>,
}

/// `aws ec2 describe-subnets` output.
pub fn parse_subnets(what: &str, text: &str) -> Result<Vec<Subnet>, InvalidCliJson> {
    let doc: SubnetsDoc = serde_json::from_str(text).map_err(|e| InvalidCliJson {
        what: what.into(),
        message: e.to_string(),
    })?;
    doc.subnets
        .into_iter()
        .map(|s| {
            // EC2 allows /16 to /28 for a subnet: anything else is not AWS output.
            if !fsxn_lattice_core::capacity::SUBNET_PREFIX_LENS.contains(&s.cidr_block.prefix_len()) {
                return Err(InvalidCliJson {
                    what: what.into(),
                    message: format!(
                        "subnet {} has CidrBlock {}: EC2 subnets are /16 to /28",
                        s.subnet_id, s.cidr_block
                    ),
                });
            }
            Ok(Subnet {
                id: s.subnet_id,
                vpc_id: s.vpc_id,
                availability_zone: s.availability_zone,
                cidr: s.cidr_block.trunc(),
                tags: tags(s.tags),
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnisDoc {
    network_interfaces: Vec<EniJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EniJson {
    network_interface_id: NetworkInterfaceId,
    subnet_id: SubnetId,
    private_ip_address: Option<Ipv4Addr>,
    #[serde(default)]
    private_ip_addresses: Vec<PrivateIp>,
    #[serde(default)]
    ipv4_prefixes: Vec<PrefixJson>,
    #[serde(default)]
    description: String,
    tag_set: Option<Vec<Tag>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrivateIp {
    private_ip_address: Ipv4Addr,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrefixJson {
    ipv4_prefix: Ipv4Net,
}

/// `aws ec2 describe-network-interfaces` output.
pub fn parse_network_interfaces(what: &str, text: &str) -> Result<Vec<NetworkInterface>, InvalidCliJson> {
    let doc: EnisDoc = serde_json::from_str(text).map_err(|e| InvalidCliJson {
        what: what.into(),
        message: e.to_string(),
    })?;
    Ok(doc
        .network_interfaces
        .into_iter()
        .map(|e| {
            let mut ips: Vec<Ipv4Addr> = e
                .private_ip_addresses
                .into_iter()
                .map(|p| p.private_ip_address)
                .collect();
            if let Some(primary) = e.private_ip_address
                && !ips.contains(&primary)
            {
                ips.insert(0, primary);
            }
            NetworkInterface {
                id: e.network_interface_id,
                subnet_id: e.subnet_id,
                private_ips: ips,
                ipv4_prefixes: e.ipv4_prefixes.into_iter().map(|p| p.ipv4_prefix).collect(),
                description: e.description,
                tags: tags(e.tag_set),
            }
        })
        .collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReservationsDoc {
    #[serde(default)]
    subnet_ipv4_cidr_reservations: Vec<ReservationJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReservationJson {
    subnet_cidr_reservation_id: CidrReservationId,
    subnet_id: SubnetId,
    cidr: Ipv4Net,
    reservation_type: ReservationType,
    #[serde(default)]
    description: String,
    tags: Option<Vec<Tag>>,
}

/// `aws ec2 get-subnet-cidr-reservations` output (IPv4 reservations; IPv6 ones are skipped).
pub fn parse_cidr_reservations(what: &str, text: &str) -> Result<Vec<CidrReservation>, InvalidCliJson> {
    let doc: ReservationsDoc = serde_json::from_str(text).map_err(|e| InvalidCliJson {
        what: what.into(),
        message: e.to_string(),
    })?;
    Ok(doc
        .subnet_ipv4_cidr_reservations
        .into_iter()
        .map(|r| CidrReservation {
            id: r.subnet_cidr_reservation_id,
            subnet_id: r.subnet_id,
            cidr: r.cidr,
            reservation_type: r.reservation_type,
            description: r.description,
            tags: tags(r.tags),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_eni_listing_parses() {
        // The gateway ENI the seed printed with `describe-network-interfaces` (abridged to the
        // fields read; the full output is in tests/fixtures).
        let text = r#"{"NetworkInterfaces":[{"AvailabilityZone":"us-east-1a","Description":"Resource Gateway Interface rgw-078bcf4c64e2fc005",
            "NetworkInterfaceId":"eni-06c2d3e93eb1b8297","PrivateIpAddress":"10.0.6.79",
            "PrivateIpAddresses":[{"Primary":true,"PrivateDnsName":"ip-10-0-6-79.ec2.internal","PrivateIpAddress":"10.0.6.79"}],
            "Ipv4Prefixes":[{"Ipv4Prefix":"10.0.4.32/28"}],"SubnetId":"subnet-029a939990627d570",
            "TagSet":[{"Key":"VpcLatticeManaged","Value":"true"}],"VpcId":"vpc-043c0858ea33e8ec2"}]}"#;
        let enis = parse_network_interfaces("enis", text).unwrap();
        assert_eq!(enis[0].private_ips, vec!["10.0.6.79".parse::<Ipv4Addr>().unwrap()]);
        assert_eq!(enis[0].ipv4_prefixes[0].to_string(), "10.0.4.32/28");
        assert_eq!(enis[0].resource_gateway_id().unwrap().as_str(), "rgw-078bcf4c64e2fc005");
    }

    #[test]
    fn wrong_documents_are_named_in_the_error() {
        let err = parse_subnets("subnets.json", r#"{"NetworkInterfaces":[]}"#).unwrap_err();
        assert!(err.to_string().starts_with("subnets.json:"), "{err}");
        assert!(parse_cidr_reservations("r.json", r#"{"SubnetIpv4CidrReservations":[{"SubnetCidrReservationId":"scr-1","SubnetId":"subnet-1","Cidr":"10.0.0.16/28","ReservationType":"bogus"}]}"#).is_err());
    }

    #[test]
    fn subnet_cidrs_ec2_does_not_allow_are_refused_with_the_subnet_named() {
        for cidr in [
            "10.0.0.0/0",
            "10.0.0.0/1",
            "10.0.0.0/15",
            "10.0.0.0/29",
            "255.255.255.255/32",
        ] {
            let doc = format!(
                r#"{{"Subnets":[{{"SubnetId":"subnet-1","VpcId":"vpc-1","AvailabilityZone":"a","CidrBlock":"{cidr}"}}]}}"#
            );
            let err = parse_subnets("s.json", &doc).unwrap_err().to_string();
            assert!(err.contains("subnet-1") && err.contains("/16 to /28"), "{cidr}: {err}");
        }
        for cidr in ["10.0.0.0/16", "10.0.0.0/28"] {
            let doc = format!(
                r#"{{"Subnets":[{{"SubnetId":"subnet-1","VpcId":"vpc-1","AvailabilityZone":"a","CidrBlock":"{cidr}"}}]}}"#
            );
            assert_eq!(parse_subnets("s.json", &doc).unwrap().len(), 1, "{cidr}");
        }
    }
}
