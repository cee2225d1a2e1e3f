//! Identifier newtypes. Each one checks the AWS prefix it must carry, so a subnet id can never be
//! passed where a VPC id is expected, and a malformed id is refused at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An identifier did not have the shape AWS gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind}: expected `{prefix}` followed by lowercase hex digits")]
pub struct InvalidId {
    /// What kind of id was expected (`subnet id`, …).
    pub kind: &'static str,
    /// The prefix the id must start with.
    pub prefix: &'static str,
    /// The refused value.
    pub value: String,
}

macro_rules! aws_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Parses an id, checking its prefix and that the rest is lowercase hex.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let ok = value
                    .strip_prefix($prefix)
                    .is_some_and(|rest| {
                        !rest.is_empty()
                            && rest.len() <= 32
                            && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    });
                if ok {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: $kind, prefix: $prefix, value })
                }
            }

            /// The id as AWS prints it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The part after the prefix (the hex digits).
            pub fn suffix(&self) -> &str {
                &self.0[$prefix.len()..]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

// Every id below is its prefix followed by 1–32 lowercase hex digits (`parse` checks both);
// AWS's current ids carry 8 or 17 digits.
aws_id!(
    /// `vpc-…`, an EC2 VPC: an FSx VPC or a consumer VPC.
    VpcId, "vpc-", "VPC id"
);
aws_id!(
    /// `subnet-…`, an EC2 subnet (IPv4; the adapter skips IPv6-only ones).
    SubnetId, "subnet-", "subnet id"
);
aws_id!(
    /// `eni-…`, an EC2 network interface; also a route target.
    NetworkInterfaceId, "eni-", "network interface id"
);
aws_id!(
    /// `scr-…`, a subnet CIDR reservation.
    CidrReservationId, "scr-", "subnet CIDR reservation id"
);
aws_id!(
    /// `sg-…`, an EC2 security group (of gateway ENIs or of consumer endpoints).
    SecurityGroupId, "sg-", "security group id"
);
aws_id!(
    /// `fs-…`, an FSx file system.
    FileSystemId, "fs-", "file system id"
);
aws_id!(
    /// `svm-…`, an FSx for ONTAP storage virtual machine.
    SvmId, "svm-", "storage virtual machine id"
);
aws_id!(
    /// `rgw-…`, a VPC Lattice resource gateway.
    GatewayId, "rgw-", "resource gateway id"
);
aws_id!(
    /// `rcfg-…`, a VPC Lattice resource configuration.
    ResourceConfigurationId, "rcfg-", "resource configuration id"
);
aws_id!(
    /// `vpce-…`, a VPC endpoint.
    VpcEndpointId, "vpce-", "VPC endpoint id"
);
aws_id!(
    /// `rtb-…`, a VPC route table.
    RouteTableId, "rtb-", "route table id"
);

/// A Route 53 hosted zone id (upper-case letters and digits, `Z…` on AWS). The API also
/// prints it as `/hostedzone/Z…`; [`HostedZoneId::parse`] accepts both and keeps the bare id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostedZoneId(String);

impl HostedZoneId {
    /// Parses `Z…` or `/hostedzone/Z…`.
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
        let value = value.into();
        let bare = value.strip_prefix("/hostedzone/").unwrap_or(&value);
        // Route 53's ids are upper-case letters and digits (AWS's start with Z; local stand-ins'
        // need not), optionally printed as `/hostedzone/<id>`.
        let ok =
            !bare.is_empty() && bare.len() <= 32 && bare.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(bare.to_string()))
        } else {
            Err(InvalidId {
                kind: "hosted zone id",
                prefix: "Z",
                value,
            })
        }
    }

    /// The bare id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostedZoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for HostedZoneId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<HostedZoneId> for String {
    fn from(id: HostedZoneId) -> String {
        id.0
    }
}

/// A 12-digit AWS account id: where a consumer lives when it is not in the stack's account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Parses exactly 12 ASCII digits (IAM's account id, as in every ARN).
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
        let value = value.into();
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(value))
        } else {
            Err(InvalidId {
                kind: "AWS account id (12 digits)",
                prefix: "",
                value,
            })
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AccountId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_eq!(AccountId::parse("123456789012").unwrap().as_str(), "123456789012");
        for bad in ["12345678901", "1234567890123", "12345678901a", " 23456789012", ""] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_from_the_seed_parse() {
        assert_eq!(
            SubnetId::parse("subnet-0ddc1cafa116ba0dd").unwrap().suffix(),
            "0ddc1cafa116ba0dd"
        );
        assert_eq!(
            GatewayId::parse("rgw-0f84e11568c258a2b").unwrap().as_str(),
            "rgw-0f84e11568c258a2b"
        );
        assert_eq!(
            ResourceConfigurationId::parse("rcfg-07e1be0ba948e9054")
                .unwrap()
                .suffix(),
            "07e1be0ba948e9054"
        );
        assert_eq!(
            VpcEndpointId::parse("vpce-046678eea41db3874").unwrap().to_string(),
            "vpce-046678eea41db3874"
        );
        assert_eq!(
            SubnetId::parse("vpc-0ddc1cafa116ba0dd").unwrap_err().kind,
            "subnet id",
            "a VPC id is not a subnet id"
        );
        assert_eq!(
            HostedZoneId::parse("/hostedzone/Z08285483B41F6ASEM5U1").map(|z| z.to_string()),
            Ok("Z08285483B41F6ASEM5U1".to_string())
        );
    }

    #[test]
    fn an_id_of_the_wrong_kind_is_refused_with_its_kind_named() {
        let err = SubnetId::parse("vpc-043c0858ea33e8ec2").unwrap_err();
        assert_eq!(err.kind, "subnet id");
        assert!(err.to_string().contains("subnet-"));
        assert!(SubnetId::parse("subnet-").is_err());
        assert!(SubnetId::parse("subnet-XYZ").is_err());
        assert!(HostedZoneId::parse("zabc").is_err());
        assert!(HostedZoneId::parse("/hostedzone/").is_err());
    }

    #[test]
    fn ids_round_trip_through_json_and_refuse_bad_values() {
        let id: SvmId = serde_json::from_str("\"svm-0a1b2c3d4e5f60718\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"svm-0a1b2c3d4e5f60718\"");
        assert!(serde_json::from_str::<SvmId>("\"fs-0a1b\"").is_err());
    }
}
