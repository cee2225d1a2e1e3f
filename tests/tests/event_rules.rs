//! template.yaml's EventBridge rule patterns, matched by moto's EventBridge (a maintained
//! implementation of EventBridge's pattern language, started by this harness on 127.0.0.1):
//! the rule is created from the template's pattern with an SQS queue as its target, every event
//! fixture is put on the bus, and the queue tells which ones matched.
//!
//! The GatewayAddressExhaustion rule must match the seed's CloudTrail record and the other
//! calls VPC Lattice makes (`userIdentity.invokedBy` = `vpc-lattice.amazonaws.com`), and must not
//! match the same failures of anyone else (the EKS VPC CNI with prefix delegation), which would
//! otherwise start executions in a storm.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_tests::moto::MotoServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const ACCOUNT: &str = "123456789012";

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A rule's `Pattern` from template.yaml, as EventBridge JSON.
fn pattern(rule: &str) -> Value {
    let t: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    let p = &t["Resources"]["StateMachine"]["Properties"]["Events"][rule]["Properties"]["Pattern"];
    assert!(!p.is_null(), "no pattern for {rule}");
    serde_json::to_value(p).unwrap()
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(root().join("events").join(name)).unwrap()).unwrap()
}

struct Bus(MotoServer);

impl Bus {
    fn post(&self, service: &str, content_type: &str, headers: &str, body: &str) -> (u16, String) {
        self.0.post("/", content_type, headers, service, body)
    }

    fn events(&self, action: &str, body: Value) -> Value {
        let (status, out) = self.post(
            "events",
            "application/x-amz-json-1.1",
            &format!("X-Amz-Target: AWSEvents.{action}\r\n"),
            &body.to_string(),
        );
        assert_eq!(status, 200, "{action}: {out}");
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    fn sqs(&self, action: &str, body: Value) -> Value {
        let (status, out) = self.post(
            "sqs",
            "application/x-amz-json-1.0",
            &format!("X-Amz-Target: AmazonSQS.{action}\r\n"),
            &body.to_string(),
        );
        assert_eq!(status, 200, "{action}: {out}");
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }
}

/// Which of `events` (name, event) the rule's pattern matches, per moto.
fn matched(rule: &str, events: &[(String, Value)]) -> BTreeSet<String> {
    let bus = Bus(MotoServer::start());
    let queue = bus.sqs("CreateQueue", json!({"QueueName": "matched"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    bus.events(
        "PutRule",
        json!({"Name": rule, "EventPattern": pattern(rule).to_string(), "State": "ENABLED"}),
    );
    bus.events(
        "PutTargets",
        json!({"Rule": rule, "Targets": [{"Id": "queue", "Arn": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:matched")}]}),
    );
    for (name, e) in events {
        let mut detail = e["detail"].clone();
        // Tag each event so the queue says which fixture matched.
        detail["eventID"] = Value::String(name.clone());
        let out = bus.events(
            "PutEvents",
            json!({"Entries": [{
                "Source": e["source"],
                "DetailType": e["detail-type"],
                "Detail": detail.to_string(),
                "Resources": e["resources"],
            }]}),
        );
        assert_eq!(out["FailedEntryCount"], 0, "{name}: {out}");
    }
    let mut got = BTreeSet::new();
    loop {
        let out = bus.sqs(
            "ReceiveMessage",
            json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
        );
        let messages = out["Messages"].as_array().cloned().unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let body: Value = serde_json::from_str(m["Body"].as_str().unwrap()).unwrap();
            got.insert(body["detail"]["eventID"].as_str().unwrap().to_string());
            bus.sqs(
                "DeleteMessage",
                json!({"QueueUrl": queue, "ReceiptHandle": m["ReceiptHandle"]}),
            );
        }
    }
    got
}

fn named(names: &[&str]) -> Vec<(String, Value)> {
    names.iter().map(|n| (n.to_string(), fixture(n))).collect()
}

#[test]
fn the_heal_rule_matches_vpc_lattice_exhaustion_and_nobody_elses() {
    let lattice = [
        "ec2-create-network-interface-insufficient-ips.json",
        "ec2-service-event-insufficient-cidr-blocks.json",
        "ec2-assign-private-ip-addresses-insufficient-cidr-blocks.json",
    ];
    let mut events = named(&lattice);
    events.extend(named(&[
        "ec2-assign-private-ip-addresses-eks-vpc-cni-insufficient-cidr-blocks.json",
        "ec2-create-network-interface-success.json",
        "ec2-create-network-interface-other-error.json",
        "fsx-tag-resource-svm.json",
    ]));
    // The seed's record made by another service, and by a role without invokedBy: the message
    // prefix alone must not be enough.
    let mut other_service = fixture("ec2-create-network-interface-insufficient-ips.json");
    other_service["detail"]["userIdentity"]["invokedBy"] = "autoscaling.amazonaws.com".into();
    events.push(("seed-record-invoked-by-autoscaling".into(), other_service));
    let mut no_service = fixture("ec2-create-network-interface-insufficient-ips.json");
    no_service["detail"]["userIdentity"]
        .as_object_mut()
        .unwrap()
        .remove("invokedBy");
    events.push(("seed-record-without-invoked-by".into(), no_service));

    let got = matched("GatewayAddressExhaustion", &events);
    let want: BTreeSet<String> = lattice.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn the_fsx_rule_matches_fsx_changes_only() {
    let events = named(&[
        "fsx-tag-resource-svm.json",
        "fsx-create-storage-virtual-machine.json",
        "fsx-create-backup.json",
        "ec2-create-network-interface-insufficient-ips.json",
    ]);
    let got = matched("FsxChanges", &events);
    let want: BTreeSet<String> = ["fsx-tag-resource-svm.json", "fsx-create-storage-virtual-machine.json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
}
