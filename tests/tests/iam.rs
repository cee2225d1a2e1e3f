//! The IAM policies of template.yaml against the code: no `*` action, every write scoped by
//! resource or tag condition where the service allows one, every API call the adapters make
//! permitted, and no permission the code does not use (beyond a short, justified list).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Permissions the code needs without calling them itself.
const NEEDED_BUT_NOT_CALLED: &[(&str, &str)] = &[
    (
        "ec2:CreateTags",
        "tags given on create (TagSpecifications) are authorized as CreateTags",
    ),
    (
        "vpc-lattice:AssociateViaAWSService",
        "a Resource endpoint associates the configuration through EC2 (UNCONFIRMED name)",
    ),
    (
        "iam:CreateServiceLinkedRole",
        "the first resource gateway of an account creates VPC Lattice's service-linked role",
    ),
];

/// Writes that take no resource-level scope in IAM: allowed on `*` without a condition.
const UNSCOPABLE_WRITES: &[(&str, &str)] = &[(
    "ec2:DeleteSubnetCidrReservation",
    "no resource type in IAM; the code deletes only reservations whose owner tag it read",
)];

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match untag(v) {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(seq) => seq.iter().flat_map(strings).collect(),
        _ => vec![],
    }
}

struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    unscoped_resource: bool,
    condition: bool,
}

fn statements() -> Vec<Statement> {
    let t: Value = serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap();
    let mut out = Vec::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::IAM::ManagedPolicy") {
            continue;
        }
        for s in r["Properties"]["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            let resources = strings(&s["Resource"]);
            out.push(Statement {
                sid: s["Sid"].as_str().unwrap_or_default().to_string(),
                actions: strings(&s["Action"]),
                unscoped_resource: resources.iter().any(|r| r == "*"),
                resources,
                condition: !matches!(s.get("Condition"), None | Some(Value::Null)),
            });
        }
    }
    out
}

fn pascal(snake: &str) -> String {
    snake.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// Every SDK operation the adapters call, as IAM action names.
fn called() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (file, receiver, service) in [
        ("ec2.rs", ".client.", "ec2"),
        ("lattice.rs", ".client.", "vpc-lattice"),
        ("lattice.rs", ".tagging.", "tag"),
        ("route53.rs", ".client.", "route53"),
        ("fsx.rs", ".client.", "fsx"),
    ] {
        let src = std::fs::read_to_string(root().join("shared/aws/src").join(file)).unwrap();
        let compact: String = src.split_whitespace().collect::<Vec<_>>().join("");
        for part in compact.split(receiver).skip(1) {
            let op: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if part[op.len()..].starts_with("()") {
                out.insert(format!("{service}:{}", pascal(&op)));
            }
        }
    }
    out
}

#[test]
fn no_action_is_a_wildcard() {
    for s in statements() {
        for a in &s.actions {
            assert!(!a.contains('*'), "{}: action {a}", s.sid);
        }
    }
}

#[test]
fn writes_are_scoped_by_resource_or_tag_condition() {
    let is_write = |a: &str| {
        let op = a.split(':').nth(1).unwrap_or_default();
        [
            "Create",
            "Delete",
            "Update",
            "Change",
            "Tag",
            "Associate",
            "Put",
            "Modify",
        ]
        .iter()
        .any(|p| op.starts_with(p))
    };
    let mut checked = 0;
    for s in statements() {
        for a in s.actions.iter().filter(|a| is_write(a)) {
            checked += 1;
            if UNSCOPABLE_WRITES.iter().any(|(x, _)| x == a) {
                continue;
            }
            assert!(
                !s.unscoped_resource || s.condition,
                "{}: {a} on * without a condition",
                s.sid
            );
            assert!(!s.resources.is_empty(), "{}: {a} without a resource", s.sid);
        }
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn every_call_is_permitted_and_every_permission_is_used() {
    let granted: BTreeSet<String> = statements().iter().flat_map(|s| s.actions.clone()).collect();
    let called = called();
    assert!(called.len() >= 25, "{called:?}");
    let missing: Vec<&String> = called.difference(&granted).collect();
    assert!(missing.is_empty(), "called but not granted: {missing:?}");
    let extra: Vec<&String> = granted
        .difference(&called)
        .filter(|a| !NEEDED_BUT_NOT_CALLED.iter().any(|(x, _)| x == *a))
        .collect();
    assert!(extra.is_empty(), "granted but never called: {extra:?}");
}
