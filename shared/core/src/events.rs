//! EventBridge events → triggers. A trigger says only *what to re-read*; events come late,
//! twice, out of order or never, so nothing here decides what to do.
//!
//! Accepted shapes: CloudTrail records delivered as "AWS API Call via CloudTrail" or "AWS Service
//! Event via CloudTrail" (EC2 calls VPC Lattice makes on your behalf may arrive as either), and
//! "Scheduled Event" from an EventBridge schedule.

use crate::ids::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The message EC2 gives when no /28 (or address) can be had; matched as a prefix.
pub const INSUFFICIENT_IPS_MESSAGE: &str = "There aren't sufficient free Ipv4 addresses or prefixes";
/// EC2's code for prefix exhaustion (seen with EKS prefix delegation).
pub const INSUFFICIENT_CIDR_BLOCKS: &str = "InsufficientCidrBlocks";
/// CloudTrail's `userIdentity.invokedBy` of the calls VPC Lattice makes for a resource
/// gateway's ENIs (the seed's record). CloudTrail user guide, "CloudTrail userIdentity element":
/// `invokedBy` is "the name of the AWS service that made the request"
/// (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>).
/// Other callers' ENI failures (the EKS VPC CNI, an instance role) are not ours to heal.
pub const VPC_LATTICE_SERVICE: &str = "vpc-lattice.amazonaws.com";

/// The event was not an EventBridge event we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct InvalidEvent(pub String);

/// The EventBridge envelope: `aws_lambda_events`' type, its `detail` left as JSON.
///
/// The CloudTrail `detail` is read field by field below, not as that crate's
/// `cloudwatch_events::cloudtrail::AWSAPICall`, because it does not fit: it has no
/// `errorCode`/`errorMessage` (what healing reacts to) unless its `catch-all-fields` feature keeps
/// them in an untyped map, and it requires fields an "AWS Service Event via CloudTrail" record
/// does not carry (`requestParameters`, `userAgent`, `sourceIPAddress`, `requestID`).
pub type EventEnvelope = aws_lambda_events::eventbridge::EventBridgeEvent<Value>;

/// `time` as EventBridge writes it (RFC 3339, seconds, `Z`); empty when absent.
fn envelope_time(env: &EventEnvelope) -> String {
    env.time
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// What to re-read, classified from one EventBridge event by [`classify`]. Fields named after
/// a CloudTrail record field come from the record in the event's `detail`. Serialized with a
/// `"trigger"` field holding the snake-case variant name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum Trigger {
    /// A gateway (or another ENI) could not get a /28 in a subnet: reconcile the gateway there.
    GatewayCapacityExhausted {
        /// The subnet, when the call named one (`CreateNetworkInterface`).
        subnet_id: Option<SubnetId>,
        /// The ENI, for `AssignPrivateIpAddresses`.
        network_interface_id: Option<NetworkInterfaceId>,
        /// From the ENI description "Resource Gateway Interface rgw-…", when present.
        gateway_id: Option<GatewayId>,
        /// `eventName`: `CreateNetworkInterface` or `AssignPrivateIpAddresses`.
        event_name: String,
        /// `errorCode` as recorded, a `Client.` prefix kept: `InsufficientCidrBlocks`, or
        /// `InvalidParameterValue` with the insufficient-addresses message.
        error_code: String,
        /// `errorMessage` (`""` when absent).
        error_message: String,
        /// `eventTime` (RFC 3339), else the envelope's `time`.
        event_time: String,
    },
    /// An FSx file system or SVM changed (created, updated, deleted, tagged). Failed calls are
    /// [`Trigger::Ignored`]; at least one of the two ids is present.
    FsxChanged {
        /// `eventName`: one of the FSx create, update, delete or tag calls watched.
        event_name: String,
        /// From the tagged ARN, else `fileSystemId` in the request or response; `None` when
        /// the record names only an SVM.
        file_system_id: Option<FileSystemId>,
        /// From the tagged ARN, else `storageVirtualMachineId` in the request or response;
        /// `None` for file-system calls.
        svm_id: Option<SvmId>,
        /// `requestParameters.resourceARN`: set only for `TagResource`/`UntagResource`.
        resource_arn: Option<String>,
        /// `eventTime` (RFC 3339), else the envelope's `time`.
        event_time: String,
    },
    /// Reconcile everything: an EventBridge `Scheduled Event`.
    ReconcileAll {
        /// `scheduled event <id> at <time>`, from the envelope.
        reason: String,
    },
    /// Nothing to do, and why.
    Ignored {
        /// A sentence naming what was not watched or did not fail the right way.
        reason: String,
    },
}

impl Trigger {
    /// The stable name printed by `explain-event`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::GatewayCapacityExhausted { .. } => "gateway_capacity_exhausted",
            Self::FsxChanged { .. } => "fsx_changed",
            Self::ReconcileAll { .. } => "reconcile_all",
            Self::Ignored { .. } => "ignored",
        }
    }
}

const FSX_EVENTS: &[&str] = &[
    "CreateStorageVirtualMachine",
    "UpdateStorageVirtualMachine",
    "DeleteStorageVirtualMachine",
    "CreateFileSystem",
    "UpdateFileSystem",
    "DeleteFileSystem",
    "TagResource",
    "UntagResource",
];

/// Parses raw bytes into a trigger.
pub fn parse_event(bytes: &[u8]) -> Result<Trigger, InvalidEvent> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| InvalidEvent(format!("not JSON: {e}")))?;
    classify(&value)
}

/// Classifies an already-decoded event.
pub fn classify(value: &Value) -> Result<Trigger, InvalidEvent> {
    let env: EventEnvelope =
        serde_json::from_value(value.clone()).map_err(|e| InvalidEvent(format!("not an EventBridge event: {e}")))?;
    match env.detail_type.as_str() {
        "Scheduled Event" => Ok(Trigger::ReconcileAll {
            reason: format!(
                "scheduled event {} at {}",
                env.id.as_deref().unwrap_or_default(),
                envelope_time(&env)
            ),
        }),
        "AWS API Call via CloudTrail" | "AWS Service Event via CloudTrail" => classify_cloudtrail(&env),
        other => Ok(Trigger::Ignored {
            reason: format!("detail-type `{other}` is not one this tool reacts to"),
        }),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn classify_cloudtrail(env: &EventEnvelope) -> Result<Trigger, InvalidEvent> {
    let d = &env.detail;
    if !d.is_object() {
        return Err(InvalidEvent("`detail` is not an object".into()));
    }
    let event_name = str_at(d, &["eventName"]).ok_or_else(|| InvalidEvent("`detail.eventName` is missing".into()))?;
    let event_source = str_at(d, &["eventSource"]).unwrap_or("");
    let event_time = str_at(d, &["eventTime"]).map_or_else(|| envelope_time(env), str::to_string);
    let error_code = str_at(d, &["errorCode"]);
    let error_message = str_at(d, &["errorMessage"]).unwrap_or("");
    match event_source {
        "ec2.amazonaws.com" => {
            if !matches!(event_name, "CreateNetworkInterface" | "AssignPrivateIpAddresses") {
                return Ok(Trigger::Ignored {
                    reason: format!("EC2 {event_name} is not watched"),
                });
            }
            let Some(code) = error_code else {
                return Ok(Trigger::Ignored {
                    reason: format!("EC2 {event_name} succeeded"),
                });
            };
            let bare = code.strip_prefix("Client.").unwrap_or(code);
            let exhausted = bare == INSUFFICIENT_CIDR_BLOCKS
                || (bare == "InvalidParameterValue" && error_message.starts_with(INSUFFICIENT_IPS_MESSAGE));
            if !exhausted {
                return Ok(Trigger::Ignored {
                    reason: format!("EC2 {event_name} failed with {code}, which is not address exhaustion"),
                });
            }
            // Defence in depth behind the EventBridge rule, which matches the same field.
            let invoked_by = str_at(d, &["userIdentity", "invokedBy"]);
            if invoked_by != Some(VPC_LATTICE_SERVICE) {
                let caller = str_at(d, &["userIdentity", "arn"]).unwrap_or("an unknown caller");
                return Ok(Trigger::Ignored {
                    reason: format!(
                        "EC2 {event_name} failed with {code}, but the call was not made by VPC Lattice \
                         (userIdentity.invokedBy: {}; caller {caller}): not a resource gateway's ENI",
                        invoked_by.unwrap_or("absent")
                    ),
                });
            }
            let req = d.get("requestParameters").unwrap_or(&Value::Null);
            let subnet_id = id_field(req, "subnetId", SubnetId::parse)?;
            let network_interface_id = id_field(req, "networkInterfaceId", NetworkInterfaceId::parse)?;
            if subnet_id.is_none() && network_interface_id.is_none() {
                return Err(InvalidEvent(format!(
                    "EC2 {event_name} event names neither `requestParameters.subnetId` nor `networkInterfaceId`"
                )));
            }
            let gateway_id = str_at(req, &["description"]).and_then(crate::model::gateway_id_from_description);
            Ok(Trigger::GatewayCapacityExhausted {
                subnet_id,
                network_interface_id,
                gateway_id,
                event_name: event_name.to_string(),
                error_code: code.to_string(),
                error_message: error_message.to_string(),
                event_time,
            })
        }
        "fsx.amazonaws.com" => {
            if !FSX_EVENTS.contains(&event_name) {
                return Ok(Trigger::Ignored {
                    reason: format!("FSx {event_name} does not change what is exposed"),
                });
            }
            if let Some(code) = error_code {
                return Ok(Trigger::Ignored {
                    reason: format!("FSx {event_name} failed with {code}: nothing changed"),
                });
            }
            let req = d.get("requestParameters").unwrap_or(&Value::Null);
            let resp = d.get("responseElements").unwrap_or(&Value::Null);
            if only_our_record_tag(event_name, req) {
                return Ok(Trigger::Ignored {
                    reason: format!(
                        "FSx {event_name} of {}<owner> or {}<owner> only: fsxn-lattice's own directory records, nothing exposed changed",
                        crate::naming::DIRECTORY_TAG_PREFIX,
                        crate::naming::DIRECTORY_DNS_TAG_PREFIX
                    ),
                });
            }
            let resource_arn = str_at(req, &["resourceARN"]).map(str::to_string);
            let (mut fs, mut svm) = match &resource_arn {
                Some(arn) => ids_from_fsx_arn(arn)?,
                None => (None, None),
            };
            for v in [
                req,
                resp,
                resp.get("storageVirtualMachine").unwrap_or(&Value::Null),
                resp.get("fileSystem").unwrap_or(&Value::Null),
            ] {
                if fs.is_none() {
                    fs = id_field(v, "fileSystemId", FileSystemId::parse)?;
                }
                if svm.is_none() {
                    svm = id_field(v, "storageVirtualMachineId", SvmId::parse)?;
                }
            }
            if fs.is_none() && svm.is_none() {
                return Err(InvalidEvent(format!(
                    "FSx {event_name} event names no file system or SVM"
                )));
            }
            Ok(Trigger::FsxChanged {
                event_name: event_name.to_string(),
                file_system_id: fs,
                svm_id: svm,
                resource_arn,
                event_time,
            })
        }
        other => Ok(Trigger::Ignored {
            reason: format!("event source `{other}` is not watched"),
        }),
    }
}

/// Whether an FSx `TagResource` / `UntagResource` touches only the Directory function's records
/// on an SVM ([`crate::naming::directory_tag`], [`crate::naming::directory_dns_tag`]), which
/// change nothing to reconcile. (A narrowed target record unblocks an old endpoint's deletion:
/// the state machine's execution that made it goes back to Provision for that, and the
/// schedule otherwise; a trigger of its own would start an execution per write.)
fn only_our_record_tag(event_name: &str, req: &Value) -> bool {
    let keys: Vec<&str> = match event_name {
        "TagResource" => req
            .get("tags")
            .and_then(Value::as_array)
            .map(|ts| ts.iter().filter_map(|t| t.get("key").and_then(Value::as_str)).collect())
            .unwrap_or_default(),
        "UntagResource" => req
            .get("tagKeys")
            .and_then(Value::as_array)
            .map(|ks| ks.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default(),
        _ => return false,
    };
    !keys.is_empty()
        && keys.iter().all(|k| {
            k.starts_with(crate::naming::DIRECTORY_TAG_PREFIX) || k.starts_with(crate::naming::DIRECTORY_DNS_TAG_PREFIX)
        })
}

fn id_field<T, E: std::fmt::Display>(
    v: &Value,
    key: &str,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<Option<T>, InvalidEvent> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s.clone())
            .map(Some)
            .map_err(|e| InvalidEvent(format!("`{key}`: {e}"))),
        Some(_) => Err(InvalidEvent(format!("`{key}` is not a string"))),
    }
}

/// `arn:aws:fsx:REGION:ACCOUNT:file-system/fs-…` or `…:storage-virtual-machine/fs-…/svm-…`.
/// Other FSx resources (volumes, backups) name no SVM or file system we react to.
pub fn ids_from_fsx_arn(arn: &str) -> Result<(Option<FileSystemId>, Option<SvmId>), InvalidEvent> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "fsx" {
        return Err(InvalidEvent(format!("`{arn}` is not an FSx ARN")));
    }
    let mut segs = parts[5].split('/');
    let bad = |e: crate::ids::InvalidId| InvalidEvent(format!("`{arn}`: {e}"));
    match segs.next() {
        Some("file-system") => {
            let fs = FileSystemId::parse(segs.next().unwrap_or_default()).map_err(bad)?;
            Ok((Some(fs), None))
        }
        Some("storage-virtual-machine") => {
            let fs = FileSystemId::parse(segs.next().unwrap_or_default()).map_err(bad)?;
            let svm = SvmId::parse(segs.next().unwrap_or_default()).map_err(bad)?;
            Ok((Some(fs), Some(svm)))
        }
        _ => Ok((None, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_seed_cloudtrail_record_is_gateway_capacity_exhaustion() {
        let t = parse_event(&fixture("ec2-create-network-interface-insufficient-ips.json")).unwrap();
        match t {
            Trigger::GatewayCapacityExhausted {
                subnet_id,
                gateway_id,
                error_code,
                ..
            } => {
                assert_eq!(subnet_id.unwrap().as_str(), "subnet-0ddc1cafa116ba0dd");
                assert_eq!(gateway_id.unwrap().as_str(), "rgw-0f84e11568c258a2b");
                assert_eq!(error_code, "Client.InvalidParameterValue");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn service_event_detail_type_and_insufficient_cidr_blocks_match_too() {
        let t = parse_event(&fixture("ec2-service-event-insufficient-cidr-blocks.json")).unwrap();
        assert_eq!(t.name(), "gateway_capacity_exhausted");
        let t = parse_event(&fixture(
            "ec2-assign-private-ip-addresses-insufficient-cidr-blocks.json",
        ))
        .unwrap();
        match t {
            Trigger::GatewayCapacityExhausted {
                subnet_id: None,
                network_interface_id: Some(eni),
                ..
            } => {
                assert_eq!(eni.as_str(), "eni-06c2d3e93eb1b8297")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exhaustion_of_an_eni_that_vpc_lattice_did_not_ask_for_is_ignored() {
        let eks = parse_event(&fixture(
            "ec2-assign-private-ip-addresses-eks-vpc-cni-insufficient-cidr-blocks.json",
        ))
        .unwrap();
        match eks {
            Trigger::Ignored { reason } => {
                assert!(reason.contains("not made by VPC Lattice"), "{reason}");
                assert!(reason.contains("invokedBy: absent"), "{reason}");
                assert!(reason.contains("aws-node"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // The seed's record with another service as the caller: ignored, naming it.
        let mut v: Value =
            serde_json::from_slice(&fixture("ec2-create-network-interface-insufficient-ips.json")).unwrap();
        v["detail"]["userIdentity"]["invokedBy"] = "autoscaling.amazonaws.com".into();
        match classify(&v).unwrap() {
            Trigger::Ignored { reason } => assert!(reason.contains("autoscaling.amazonaws.com"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // Without the field at all, too.
        v["detail"]["userIdentity"].as_object_mut().unwrap().remove("invokedBy");
        assert_eq!(classify(&v).unwrap().name(), "ignored");
    }

    #[test]
    fn our_own_spn_record_tag_triggers_nothing_and_any_other_tag_does() {
        let mut v: Value = serde_json::from_slice(&fixture("fsx-tag-resource-svm.json")).unwrap();
        let tag = |key: &str| serde_json::json!([{"key": key, "value": "a.corp.example -"}]);
        v["detail"]["requestParameters"]["tags"] = tag(&crate::naming::directory_tag("demo"));
        let t = classify(&v).unwrap();
        assert!(
            matches!(&t, Trigger::Ignored { reason } if reason.contains("own directory records")),
            "{t:?}"
        );
        v["detail"]["requestParameters"]["tags"] = tag(&crate::naming::directory_dns_tag("demo"));
        assert_eq!(classify(&v).unwrap().name(), "ignored");
        // Ours beside another key: the other key counts.
        let mut both = tag(&crate::naming::directory_dns_tag("demo"));
        both.as_array_mut()
            .unwrap()
            .push(serde_json::json!({"key": crate::config::tag_keys::EXPOSE, "value": "smb"}));
        v["detail"]["requestParameters"]["tags"] = both;
        assert_eq!(classify(&v).unwrap().name(), "fsx_changed");
        v["detail"]["requestParameters"]["tags"] = tag(crate::config::tag_keys::ALIAS);
        assert_eq!(classify(&v).unwrap().name(), "fsx_changed");
        v["detail"]["eventName"] = "UntagResource".into();
        v["detail"]["requestParameters"]["tagKeys"] = serde_json::json!([crate::naming::directory_tag("demo")]);
        assert_eq!(classify(&v).unwrap().name(), "ignored");
    }

    #[test]
    fn fsx_events_name_the_file_system_and_svm() {
        let cases = [
            (
                "fsx-create-storage-virtual-machine.json",
                Some("fs-07f1088148f103e3a"),
                Some("svm-0a1b2c3d4e5f60718"),
            ),
            (
                "fsx-update-storage-virtual-machine.json",
                None,
                Some("svm-0a1b2c3d4e5f60718"),
            ),
            (
                "fsx-delete-storage-virtual-machine.json",
                None,
                Some("svm-0a1b2c3d4e5f60718"),
            ),
            (
                "fsx-tag-resource-svm.json",
                Some("fs-07f1088148f103e3a"),
                Some("svm-0a1b2c3d4e5f60718"),
            ),
            (
                "fsx-untag-resource-file-system.json",
                Some("fs-07f1088148f103e3a"),
                None,
            ),
            ("fsx-update-file-system.json", Some("fs-07f1088148f103e3a"), None),
            ("fsx-create-file-system.json", Some("fs-07f1088148f103e3a"), None),
            ("fsx-delete-file-system.json", Some("fs-07f1088148f103e3a"), None),
        ];
        for (file, fs, svm) in cases {
            match parse_event(&fixture(file)).unwrap() {
                Trigger::FsxChanged {
                    file_system_id, svm_id, ..
                } => {
                    assert_eq!(file_system_id.as_ref().map(|f| f.as_str()), fs, "{file}");
                    assert_eq!(svm_id.as_ref().map(|s| s.as_str()), svm, "{file}");
                }
                other => panic!("{file}: {other:?}"),
            }
        }
    }

    #[test]
    fn schedules_reconcile_all_and_the_rest_is_ignored_with_a_reason() {
        assert_eq!(
            parse_event(&fixture("scheduled-reconcile.json")).unwrap().name(),
            "reconcile_all"
        );
        for f in [
            "ec2-create-network-interface-success.json",
            "ec2-create-network-interface-other-error.json",
            "fsx-create-backup.json",
            "fsx-tag-resource-failed.json",
        ] {
            match parse_event(&fixture(f)).unwrap() {
                Trigger::Ignored { reason } => assert!(!reason.is_empty(), "{f}"),
                other => panic!("{f}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_events_are_invalid_input() {
        for bad in [&b"not json"[..], b"{}", b"[1,2]", br#"{"id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","time":"2024-12-18T00:40:00Z","region":"r","account":"1","detail":{}}"#] {
            assert!(parse_event(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let bad_subnet = br#"{"id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","time":"2024-12-18T00:40:00Z","region":"r","account":"1","detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateNetworkInterface","userIdentity":{"invokedBy":"vpc-lattice.amazonaws.com"},"errorCode":"Client.InsufficientCidrBlocks","requestParameters":{"subnetId":"vpc-1"}}}"#;
        let err = parse_event(bad_subnet).unwrap_err();
        assert!(err.to_string().contains("subnet id"), "{err}");
        // The envelope is aws_lambda_events' EventBridgeEvent: `time` must be RFC 3339, as
        // EventBridge writes it.
        let bad_time = br#"{"id":"1","detail-type":"Scheduled Event","source":"aws.scheduler","time":"yesterday","region":"r","account":"1","detail":{}}"#;
        let err = parse_event(bad_time).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid event: not an EventBridge event"),
            "{err}"
        );
    }

    #[test]
    fn fsx_arns_parse() {
        let (fs, svm) = ids_from_fsx_arn(
            "arn:aws:fsx:us-east-1:123456789012:storage-virtual-machine/fs-07f1088148f103e3a/svm-0a1b2c3d4e5f60718",
        )
        .unwrap();
        assert_eq!(
            (fs.unwrap().as_str(), svm.unwrap().as_str()),
            ("fs-07f1088148f103e3a", "svm-0a1b2c3d4e5f60718")
        );
        assert_eq!(
            ids_from_fsx_arn("arn:aws:fsx:us-east-1:1:volume/fs-1/fsvol-1").unwrap(),
            (None, None)
        );
        assert!(ids_from_fsx_arn("arn:aws:ec2:us-east-1:1:subnet/subnet-1").is_err());
    }

    proptest! {
        #[test]
        fn parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_event(&bytes);
        }
    }
}
