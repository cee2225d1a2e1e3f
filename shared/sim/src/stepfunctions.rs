//! An Amazon States Language interpreter for the simulated cloud: it runs the deployed
//! statemachine/fsxn-lattice.asl.json, after SAM's `DefinitionSubstitutions`, on virtual time,
//! with every Task going to a caller-supplied handler (the real core `step` on a
//! [`SimCloud`](crate::SimCloud), or scripted results), so tests and the chaos harness exercise
//! the Choice, Wait, Retry and Catch the deployment runs — not a re-implementation of its
//! routing.
//!
//! It implements exactly what the definition uses, as the Step Functions developer guide
//! describes it, and refuses anything else with [`AslError::Unsupported`] when the definition is
//! parsed, so a future change to the file cannot be silently misinterpreted:
//!
//! - states: `Pass` (`Parameters`, `ResultPath`), `Task` with resource
//!   `arn:aws:states:::lambda:invoke` (`Parameters` with `FunctionName` and `Payload`/`Payload.$`,
//!   `ResultSelector`, `ResultPath`, `Retry`, `Catch`), `Choice` (`Choices`, `Default`), `Wait`
//!   (`Seconds`, `SecondsPath`), `Succeed`, `Fail` (`Error`, `Cause`); `Next` or `End`;
//! - Choice rules: `And`, `Or`, `Not`, `IsPresent`, `IsNull`, `StringEquals`(`Path`),
//!   `BooleanEquals`, `Numeric{Equals,LessThan,GreaterThan,LessThanEquals,GreaterThanEquals}`
//!   and their `…Path` forms;
//! - JSONPath: `$` and dotted field names (`$.limits.max_polls`);
//! - intrinsic functions: `States.StringToJson` and `States.MathAdd`;
//! - error names in `ErrorEquals`: the functions' own, `Lambda.*`, and `States.ALL`.
//!
//! Semantics that matter here (Step Functions developer guide, "Handling errors in Step
//! Functions workflows" and "Processing input and output"): a retry re-runs the Task without
//! entering the state again; each retrier counts its own attempts for one entry of the state
//! (re-entering it starts from zero); the first retrier whose `ErrorEquals` matches is the only
//! one consulted, and once it has used `MaxAttempts` the error goes to `Catch`; the delay before
//! retry `n` (from 0) is `IntervalSeconds × BackoffRate^n`, capped at `MaxDelaySeconds`, and with
//! `JitterStrategy: FULL` a uniform draw between 0 and that; `States.Runtime` failures (a path
//! that does not resolve) and intrinsic failures fail the execution and are not caught by
//! `States.ALL`. A Lambda invoke result is `{"ExecutedVersion", "Payload", "StatusCode"}`; a
//! function error is the error `errorType` with the error object as cause.

use async_trait::async_trait;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The deployed state machine definition (with its `${…}` placeholders).
pub const DEFINITION: &str = include_str!("../../../statemachine/fsxn-lattice.asl.json");
/// The SAM template that deploys it (its `DefinitionSubstitutions`, the functions' timeout).
pub const TEMPLATE: &str = include_str!("../../../template.yaml");
/// The only Task resource the definition uses: the optimized Lambda integration.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// A definition this interpreter cannot run faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AslError {
    /// Not JSON, or not a state machine.
    #[error("invalid definition at {at}: {what}")]
    Invalid {
        /// Where (state name and field).
        at: String,
        /// What is wrong.
        what: String,
    },
    /// A feature of ASL this interpreter does not implement.
    #[error("unsupported ASL at {at}: {what}")]
    Unsupported {
        /// Where (state name and field).
        at: String,
        /// The feature.
        what: String,
    },
    /// A `${Name}` placeholder without a substitution, or a substitution SAM would not resolve.
    #[error("definition substitution: {0}")]
    Substitution(String),
}

fn invalid(at: &str, what: impl Into<String>) -> AslError {
    AslError::Invalid {
        at: at.to_string(),
        what: what.into(),
    }
}

fn unsupported(at: &str, what: impl Into<String>) -> AslError {
    AslError::Unsupported {
        at: at.to_string(),
        what: what.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Deployment: the definition and SAM's substitutions

/// The ARN a Lambda function gets in the simulation: a fake one that names the template's
/// logical ID (`!GetAtt ProvisionFunction.Arn` → `…:function:ProvisionFunction`).
pub fn function_arn(logical_id: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{logical_id}")
}

/// The logical ID in a [`function_arn`], or the name itself when it is not such an ARN.
pub fn function_name(arn_or_name: &str) -> &str {
    arn_or_name.rsplit(":function:").next().unwrap_or(arn_or_name)
}

/// Replaces every `${Name}` with its value, as SAM does with `DefinitionSubstitutions`; a
/// placeholder without a value is an error (it would reach Step Functions as literal text).
pub fn substitute(definition: &str, substitutions: &BTreeMap<String, String>) -> Result<String, AslError> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .ok_or_else(|| AslError::Substitution(format!("unterminated placeholder at `{}`", &rest[i..])))?;
        let name = &rest[i + 2..i + end];
        let value = substitutions
            .get(name)
            .ok_or_else(|| AslError::Substitution(format!("no value for ${{{name}}}")))?;
        out.push_str(value);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A substitution's scalar value: a string, a number, or `!GetAtt X.Arn`.
fn scalar(k: &str, v: &serde_yaml::Value) -> Result<String, AslError> {
    use serde_yaml::Value as Y;
    match v {
        Y::String(s) => Ok(s.clone()),
        Y::Number(n) => Ok(n.to_string()),
        Y::Tagged(t) if t.tag == "GetAtt" => match t.value.as_str().and_then(|s| s.strip_suffix(".Arn")) {
            Some(id) => Ok(function_arn(id)),
            None => Err(AslError::Substitution(format!("{k}: only !GetAtt X.Arn is resolved"))),
        },
        other => Err(AslError::Substitution(format!(
            "{k}: {other:?} is not resolved by the simulation"
        ))),
    }
}

/// What the SAM template deploys for a state machine definition file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The definition, placeholders included.
    pub definition: String,
    /// `DefinitionSubstitutions`, with `!GetAtt X.Arn` as [`function_arn`]`(X)`; an `!If` on a
    /// template condition holds its `else` branch until [`Deployment::with_condition`].
    pub substitutions: BTreeMap<String, String>,
    /// The `!If` substitutions: name → (condition, then, else).
    pub conditional: BTreeMap<String, (String, String, String)>,
    /// The functions' timeout (`Globals.Function.Timeout`, or a function's own `Timeout`).
    pub function_timeouts: BTreeMap<String, Duration>,
    /// The functions whose template sets `ReservedConcurrentExecutions: 1` themselves: one
    /// invocation at a time, whatever the stack's `ReservedConcurrency` parameter says.
    pub serialized: std::collections::BTreeSet<String>,
}

impl Deployment {
    /// The repository's own: [`DEFINITION`] as [`TEMPLATE`] deploys it.
    pub fn from_repository() -> Result<Self, AslError> {
        Self::from_template(TEMPLATE, "statemachine/fsxn-lattice.asl.json", DEFINITION)
    }

    /// The state machine of `template` whose `DefinitionUri` is `uri`, with `definition`.
    pub fn from_template(template: &str, uri: &str, definition: &str) -> Result<Self, AslError> {
        use serde_yaml::Value as Y;
        let t: Y = serde_yaml::from_str(template).map_err(|e| AslError::Substitution(format!("template: {e}")))?;
        let resources = t
            .get("Resources")
            .and_then(Y::as_mapping)
            .ok_or_else(|| AslError::Substitution("template has no Resources".into()))?;
        let machine = resources
            .values()
            .find(|r| {
                r.get("Type").and_then(Y::as_str) == Some("AWS::Serverless::StateMachine")
                    && r.get("Properties")
                        .and_then(|p| p.get("DefinitionUri"))
                        .and_then(Y::as_str)
                        == Some(uri)
            })
            .ok_or_else(|| {
                AslError::Substitution(format!("no AWS::Serverless::StateMachine with DefinitionUri {uri}"))
            })?;
        let mut substitutions = BTreeMap::new();
        let mut conditional = BTreeMap::new();
        if let Some(subs) = machine
            .get("Properties")
            .and_then(|p| p.get("DefinitionSubstitutions"))
            .and_then(Y::as_mapping)
        {
            for (k, v) in subs {
                let k = k
                    .as_str()
                    .ok_or_else(|| AslError::Substitution(format!("key {k:?} is not a string")))?;
                if let Y::Tagged(t) = v
                    && t.tag == "If"
                {
                    // `!If [Condition, then, else]`: both resolved now, chosen by the
                    // condition's value ([`Deployment::with_condition`]; false until set).
                    let branches = t.value.as_sequence().map(Vec::as_slice).unwrap_or_default();
                    let [Y::String(condition), then, otherwise] = branches else {
                        return Err(AslError::Substitution(format!(
                            "{k}: !If needs [Condition, then, else]"
                        )));
                    };
                    let (then, otherwise) = (scalar(k, then)?, scalar(k, otherwise)?);
                    substitutions.insert(k.to_string(), otherwise.clone());
                    conditional.insert(k.to_string(), (condition.clone(), then, otherwise));
                    continue;
                }
                substitutions.insert(k.to_string(), scalar(k, v)?);
            }
        }
        let global = t
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Timeout"))
            .and_then(Y::as_u64)
            .unwrap_or(3);
        let function_timeouts = resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Y::as_str) == Some("AWS::Serverless::Function"))
            .filter_map(|(id, r)| {
                let own = r.get("Properties").and_then(|p| p.get("Timeout")).and_then(Y::as_u64);
                Some((id.as_str()?.to_string(), Duration::from_secs(own.unwrap_or(global))))
            })
            .collect();
        // Functions whose own `ReservedConcurrentExecutions` is the literal 1 (not the
        // parameter the Globals give the others): Lambda runs one invocation of each at a time
        // and throttles the rest.
        let serialized = resources
            .iter()
            .filter(|(_, r)| r.get("Type").and_then(Y::as_str) == Some("AWS::Serverless::Function"))
            .filter(|(_, r)| {
                r.get("Properties")
                    .and_then(|p| p.get("ReservedConcurrentExecutions"))
                    .and_then(Y::as_u64)
                    == Some(1)
            })
            .filter_map(|(id, _)| id.as_str().map(str::to_string))
            .collect();
        Ok(Self {
            definition: definition.to_string(),
            substitutions,
            conditional,
            function_timeouts,
            serialized,
        })
    }

    /// The same deployment with template condition `name` (e.g. `HasDirectory`) true or false:
    /// each `!If` substitution on it takes its branch.
    pub fn with_condition(mut self, name: &str, value: bool) -> Self {
        for (k, (condition, then, otherwise)) in &self.conditional {
            if condition == name {
                let chosen = if value { then } else { otherwise };
                self.substitutions.insert(k.clone(), chosen.clone());
            }
        }
        self
    }

    /// The same deployment with one substitution changed (e.g. a smaller `MaxPolls` in a test).
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.substitutions.insert(name.to_string(), value.into());
        self
    }

    /// The definition as Step Functions receives it.
    pub fn substituted(&self) -> Result<String, AslError> {
        substitute(&self.definition, &self.substitutions)
    }

    /// The parsed state machine.
    pub fn state_machine(&self) -> Result<StateMachine, AslError> {
        StateMachine::parse(&self.substituted()?)
    }
}

// ---------------------------------------------------------------------------------------------
// The parsed definition

/// A reference path: `$` or `$.a.b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<String>);

impl JsonPath {
    /// Parses the supported subset: `$` and dotted field names.
    pub fn parse(at: &str, text: &str) -> Result<Self, AslError> {
        if text == "$" {
            return Ok(Self(Vec::new()));
        }
        let Some(rest) = text.strip_prefix("$.") else {
            return Err(if text.starts_with("$$") {
                unsupported(at, format!("context object path `{text}`"))
            } else {
                invalid(at, format!("`{text}` is not a JSONPath"))
            });
        };
        let fields: Vec<String> = rest.split('.').map(str::to_string).collect();
        for f in &fields {
            let plain = !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !plain {
                return Err(unsupported(
                    at,
                    format!("JSONPath `{text}`: only `$` and dotted field names are supported"),
                ));
            }
        }
        Ok(Self(fields))
    }

    /// The value at this path, if there is one.
    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(v, |v, f| v.as_object()?.get(f))
    }

    fn text(&self) -> String {
        std::iter::once("$".to_string())
            .chain(self.0.iter().cloned())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// An intrinsic function call of a payload template.
#[derive(Debug, Clone, PartialEq)]
enum Intrinsic {
    StringToJson(Box<Arg>),
    MathAdd(Box<Arg>, Box<Arg>),
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Path(JsonPath),
    Call(Intrinsic),
}

/// A payload template (`Parameters`, `ResultSelector`): literals, `key.$` paths and intrinsics.
#[derive(Debug, Clone, PartialEq)]
enum Template {
    Literal(Value),
    Path(JsonPath),
    Call(Intrinsic),
    Object(Vec<(String, Template)>),
}

#[derive(Debug, Clone, PartialEq)]
enum ResultPath {
    Discard,
    At(JsonPath),
}

/// How a retrier spreads its delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// The computed delay.
    None,
    /// A uniform draw between 0 and the computed delay.
    Full,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// Error names it matches (`States.ALL` matches any).
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: f64,
    /// `MaxAttempts` (default 3).
    pub max_attempts: u32,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<f64>,
    /// `JitterStrategy` (default NONE).
    pub jitter: Jitter,
}

impl Retrier {
    /// The delay before retry number `attempt` (0 for the first retry), before jitter:
    /// `IntervalSeconds × BackoffRate^attempt`, capped at `MaxDelaySeconds`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let d = self.interval_seconds * self.backoff_rate.powi(attempt.min(1000) as i32);
        let d = self.max_delay_seconds.map_or(d, |m| d.min(m));
        Duration::from_secs_f64(d.clamp(0.0, 1e9))
    }

    /// The delay actually waited: [`Retrier::backoff`], or with FULL jitter a uniform draw
    /// between 0 and it from `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let d = self.backoff(attempt);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => d.mul_f64(rng.random_range(0.0..=1.0)),
        }
    }

    fn matches(&self, error: &str) -> bool {
        matches_error(&self.error_equals, error)
    }
}

fn matches_error(names: &[String], error: &str) -> bool {
    // States.Runtime and intrinsic failures never reach Retry or Catch (see `Failure`).
    names.iter().any(|n| n == error || n == "States.ALL")
}

#[derive(Debug, Clone, PartialEq)]
struct Catcher {
    error_equals: Vec<String>,
    result_path: ResultPath,
    next: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Self::Eq => a == b,
            Self::Lt => a < b,
            Self::Gt => a > b,
            Self::Le => a <= b,
            Self::Ge => a >= b,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    IsPresent(bool),
    IsNull(bool),
    StringEquals(String),
    StringEqualsPath(JsonPath),
    BooleanEquals(bool),
    Numeric(Cmp, f64),
    NumericPath(Cmp, JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
enum Rule {
    Test(JsonPath, Test),
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
}

#[derive(Debug, Clone, PartialEq)]
enum Transition {
    Next(String),
    End,
}

#[derive(Debug, Clone, PartialEq)]
enum WaitFor {
    Seconds(u64),
    SecondsPath(JsonPath),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Pass {
        parameters: Option<Template>,
        result_path: ResultPath,
        then: Transition,
    },
    Task {
        function_name: Template,
        payload: Template,
        result_selector: Option<Template>,
        result_path: ResultPath,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
        then: Transition,
    },
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait {
        wait: WaitFor,
        then: Transition,
    },
    Succeed,
    Fail {
        error: Option<String>,
        cause: Option<String>,
    },
}

/// A parsed state machine, checked to use only what this interpreter implements.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    start_at: String,
    states: BTreeMap<String, State>,
}

fn allow_fields(at: &str, o: &Map<String, Value>, allowed: &[&str]) -> Result<(), AslError> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unsupported(at, format!("field `{k}`"))),
        None => Ok(()),
    }
}

fn string_field(at: &str, o: &Map<String, Value>, key: &str) -> Result<Option<String>, AslError> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(at, format!("`{key}` must be a string, not {other}"))),
    }
}

fn number_field(at: &str, o: &Map<String, Value>, key: &str) -> Result<Option<f64>, AslError> {
    match o.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| *n >= 0.0)
            .map(Some)
            .ok_or_else(|| invalid(at, format!("`{key}` must be a non-negative number, not {v}"))),
    }
}

fn parse_transition(at: &str, o: &Map<String, Value>) -> Result<Transition, AslError> {
    match (string_field(at, o, "Next")?, o.get("End")) {
        (Some(n), None) => Ok(Transition::Next(n)),
        (None, Some(Value::Bool(true))) => Ok(Transition::End),
        _ => Err(invalid(at, "exactly one of `Next` or `End: true`")),
    }
}

fn parse_result_path(at: &str, o: &Map<String, Value>) -> Result<ResultPath, AslError> {
    match o.get("ResultPath") {
        None => Ok(ResultPath::At(JsonPath(Vec::new()))),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(p)) => Ok(ResultPath::At(JsonPath::parse(&format!("{at}.ResultPath"), p)?)),
        Some(other) => Err(invalid(at, format!("`ResultPath` {other}"))),
    }
}

fn parse_error_equals(at: &str, o: &Map<String, Value>) -> Result<Vec<String>, AslError> {
    let names: Vec<String> = o
        .get("ErrorEquals")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .filter(|n: &Vec<String>| !n.is_empty())
        .ok_or_else(|| invalid(at, "`ErrorEquals` must be a non-empty array of strings"))?;
    for n in &names {
        if n.starts_with("States.") && n != "States.ALL" {
            return Err(unsupported(at, format!("error name `{n}`")));
        }
    }
    if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
        return Err(invalid(at, "`States.ALL` must appear alone"));
    }
    Ok(names)
}

fn parse_template(at: &str, v: &Value) -> Result<Template, AslError> {
    match v {
        Value::Object(o) => {
            let mut fields = Vec::new();
            for (k, v) in o {
                let here = format!("{at}.{k}");
                if let Some(name) = k.strip_suffix(".$") {
                    let text = v
                        .as_str()
                        .ok_or_else(|| invalid(&here, "a `.$` field must hold a path or an intrinsic"))?;
                    let t = if text.starts_with("States.") {
                        Template::Call(parse_intrinsic(&here, text)?)
                    } else {
                        Template::Path(JsonPath::parse(&here, text)?)
                    };
                    fields.push((name.to_string(), t));
                } else {
                    fields.push((k.clone(), parse_template(&here, v)?));
                }
            }
            Ok(Template::Object(fields))
        }
        Value::Array(a) => {
            if a.iter().any(|v| v.is_object() || v.is_array()) {
                return Err(unsupported(
                    at,
                    "objects or arrays inside an array of a payload template",
                ));
            }
            Ok(Template::Literal(v.clone()))
        }
        other => Ok(Template::Literal(other.clone())),
    }
}

/// Splits `a, 'b,c', f(x, y)` at top-level commas.
fn split_args(at: &str, s: &str) -> Result<Vec<String>, AslError> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            '(' if !quoted => {
                depth += 1;
                cur.push(c);
            }
            ')' if !quoted => {
                depth -= 1;
                cur.push(c);
            }
            ',' if !quoted && depth == 0 => args.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if quoted || depth != 0 {
        return Err(invalid(at, format!("unbalanced intrinsic arguments `{s}`")));
    }
    if !cur.trim().is_empty() || !args.is_empty() {
        args.push(cur);
    }
    Ok(args.into_iter().map(|a| a.trim().to_string()).collect())
}

fn parse_arg(at: &str, a: &str) -> Result<Arg, AslError> {
    if let Some(inner) = a.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        let mut s = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                // Intrinsic string escapes: \' \{ \} \\
                match chars.next() {
                    Some(e @ ('\'' | '{' | '}' | '\\')) => s.push(e),
                    other => return Err(invalid(at, format!("escape `\\{other:?}` in `{a}`"))),
                }
            } else {
                s.push(c);
            }
        }
        Ok(Arg::Literal(Value::String(s)))
    } else if a.starts_with('$') {
        Ok(Arg::Path(JsonPath::parse(at, a)?))
    } else if a.starts_with("States.") {
        Ok(Arg::Call(parse_intrinsic(at, a)?))
    } else {
        match serde_json::from_str::<Value>(a) {
            Ok(n @ Value::Number(_)) => Ok(Arg::Literal(n)),
            _ => Err(unsupported(at, format!("intrinsic argument `{a}`"))),
        }
    }
}

fn parse_intrinsic(at: &str, text: &str) -> Result<Intrinsic, AslError> {
    let open = text
        .find('(')
        .filter(|_| text.ends_with(')'))
        .ok_or_else(|| invalid(at, format!("`{text}` is not an intrinsic call")))?;
    let name = &text[..open];
    let args = split_args(at, &text[open + 1..text.len() - 1])?;
    let args: Vec<Arg> = args.iter().map(|a| parse_arg(at, a)).collect::<Result<_, _>>()?;
    let mut it = args.into_iter();
    match (name, it.len()) {
        ("States.StringToJson", 1) => Ok(Intrinsic::StringToJson(Box::new(
            it.next().ok_or_else(|| invalid(at, "argument"))?,
        ))),
        ("States.MathAdd", 2) => {
            let a = it.next().ok_or_else(|| invalid(at, "argument"))?;
            let b = it.next().ok_or_else(|| invalid(at, "argument"))?;
            Ok(Intrinsic::MathAdd(Box::new(a), Box::new(b)))
        }
        ("States.StringToJson" | "States.MathAdd", n) => Err(invalid(
            at,
            format!(
                "{name} takes {} argument(s), not {n}",
                if name == "States.MathAdd" { 2 } else { 1 }
            ),
        )),
        _ => Err(unsupported(at, format!("intrinsic function `{name}`"))),
    }
}

const NUMERIC: [(&str, Cmp); 5] = [
    ("NumericEquals", Cmp::Eq),
    ("NumericLessThan", Cmp::Lt),
    ("NumericGreaterThan", Cmp::Gt),
    ("NumericLessThanEquals", Cmp::Le),
    ("NumericGreaterThanEquals", Cmp::Ge),
];

fn parse_rule(at: &str, o: &Map<String, Value>, top: bool) -> Result<Rule, AslError> {
    let mut keys: BTreeSet<&str> = o.keys().map(String::as_str).collect();
    if top && !keys.remove("Next") {
        return Err(invalid(at, "a choice rule needs `Next`"));
    }
    keys.remove("Comment");
    let sub = |v: &Value, at: &str| -> Result<Rule, AslError> {
        v.as_object()
            .ok_or_else(|| invalid(at, "a rule must be an object"))
            .and_then(|o| parse_rule(at, o, false))
    };
    if keys.len() == 1 {
        let k = *keys.first().ok_or_else(|| invalid(at, "empty rule"))?;
        let v = &o[k];
        return match k {
            "And" | "Or" => {
                let rules = v
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| invalid(at, format!("`{k}` needs a non-empty array")))?
                    .iter()
                    .map(|r| sub(r, at))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if k == "And" { Rule::And(rules) } else { Rule::Or(rules) })
            }
            "Not" => Ok(Rule::Not(Box::new(sub(v, at)?))),
            other => Err(unsupported(at, format!("choice rule `{other}`"))),
        };
    }
    if !keys.remove("Variable") || keys.len() != 1 {
        return Err(invalid(at, "a rule is `Variable` and one operator, or And/Or/Not"));
    }
    let variable = JsonPath::parse(
        at,
        o["Variable"]
            .as_str()
            .ok_or_else(|| invalid(at, "`Variable` must be a string"))?,
    )?;
    let op = *keys.first().ok_or_else(|| invalid(at, "no operator"))?;
    let v = &o[op];
    let boolean = || {
        v.as_bool()
            .ok_or_else(|| invalid(at, format!("`{op}` takes a boolean")))
    };
    let path = || {
        v.as_str()
            .ok_or_else(|| invalid(at, format!("`{op}` takes a path")))
            .and_then(|p| JsonPath::parse(at, p))
    };
    let test = match op {
        "IsPresent" => Test::IsPresent(boolean()?),
        "IsNull" => Test::IsNull(boolean()?),
        "BooleanEquals" => Test::BooleanEquals(boolean()?),
        "StringEquals" => Test::StringEquals(
            v.as_str()
                .ok_or_else(|| invalid(at, "`StringEquals` takes a string"))?
                .to_string(),
        ),
        "StringEqualsPath" => Test::StringEqualsPath(path()?),
        _ => {
            if let Some((_, cmp)) = NUMERIC.iter().find(|(n, _)| *n == op) {
                Test::Numeric(
                    *cmp,
                    v.as_f64()
                        .ok_or_else(|| invalid(at, format!("`{op}` takes a number")))?,
                )
            } else if let Some((_, cmp)) = NUMERIC.iter().find(|(n, _)| op.strip_suffix("Path") == Some(*n)) {
                Test::NumericPath(*cmp, path()?)
            } else {
                return Err(unsupported(at, format!("choice operator `{op}`")));
            }
        }
    };
    Ok(Rule::Test(variable, test))
}

fn parse_state(name: &str, v: &Value) -> Result<State, AslError> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid(name, "a state must be an object"))?;
    let ty = string_field(name, o, "Type")?.ok_or_else(|| invalid(name, "no `Type`"))?;
    let field = |f: &str| format!("{name}.{f}");
    match ty.as_str() {
        "Pass" => {
            allow_fields(name, o, &["Type", "Comment", "Parameters", "ResultPath", "Next", "End"])?;
            Ok(State::Pass {
                parameters: o
                    .get("Parameters")
                    .map(|p| parse_template(&field("Parameters"), p))
                    .transpose()?,
                result_path: parse_result_path(name, o)?,
                then: parse_transition(name, o)?,
            })
        }
        "Task" => {
            allow_fields(
                name,
                o,
                &[
                    "Type",
                    "Comment",
                    "Resource",
                    "Parameters",
                    "ResultSelector",
                    "ResultPath",
                    "Retry",
                    "Catch",
                    "Next",
                    "End",
                ],
            )?;
            let resource = string_field(name, o, "Resource")?.unwrap_or_default();
            if resource != LAMBDA_INVOKE {
                return Err(unsupported(&field("Resource"), format!("resource `{resource}`")));
            }
            let params = o
                .get("Parameters")
                .and_then(Value::as_object)
                .ok_or_else(|| invalid(&field("Parameters"), "lambda:invoke needs Parameters"))?;
            allow_fields(&field("Parameters"), params, &["FunctionName", "Payload", "Payload.$"])?;
            let function_name = match params.get("FunctionName") {
                Some(Value::String(s)) => Template::Literal(Value::String(s.clone())),
                _ => return Err(invalid(&field("Parameters"), "`FunctionName` must be a literal string")),
            };
            let payload = match (params.get("Payload"), params.get("Payload.$")) {
                (Some(p), None) => parse_template(&field("Parameters.Payload"), p)?,
                (None, Some(Value::String(p))) => Template::Path(JsonPath::parse(&field("Parameters.Payload.$"), p)?),
                _ => {
                    return Err(invalid(
                        &field("Parameters"),
                        "exactly one of `Payload` or `Payload.$` (a path)",
                    ));
                }
            };
            let retry = match o.get("Retry") {
                None => Vec::new(),
                Some(r) => {
                    let list = r
                        .as_array()
                        .ok_or_else(|| invalid(&field("Retry"), "must be an array"))?;
                    let mut out = Vec::new();
                    for (i, r) in list.iter().enumerate() {
                        let at = format!("{name}.Retry[{i}]");
                        let r = r.as_object().ok_or_else(|| invalid(&at, "must be an object"))?;
                        allow_fields(
                            &at,
                            r,
                            &[
                                "ErrorEquals",
                                "IntervalSeconds",
                                "BackoffRate",
                                "MaxAttempts",
                                "MaxDelaySeconds",
                                "JitterStrategy",
                            ],
                        )?;
                        let jitter = match string_field(&at, r, "JitterStrategy")?.as_deref() {
                            None | Some("NONE") => Jitter::None,
                            Some("FULL") => Jitter::Full,
                            Some(other) => return Err(invalid(&at, format!("JitterStrategy `{other}`"))),
                        };
                        let max_attempts = number_field(&at, r, "MaxAttempts")?.unwrap_or(3.0);
                        if max_attempts.fract() != 0.0 {
                            return Err(invalid(&at, "`MaxAttempts` must be an integer"));
                        }
                        let backoff_rate = number_field(&at, r, "BackoffRate")?.unwrap_or(2.0);
                        if backoff_rate < 1.0 {
                            return Err(invalid(&at, "`BackoffRate` must be at least 1.0"));
                        }
                        out.push(Retrier {
                            error_equals: parse_error_equals(&at, r)?,
                            interval_seconds: number_field(&at, r, "IntervalSeconds")?.unwrap_or(1.0),
                            max_attempts: max_attempts as u32,
                            backoff_rate,
                            max_delay_seconds: number_field(&at, r, "MaxDelaySeconds")?,
                            jitter,
                        });
                    }
                    out
                }
            };
            let catch = match o.get("Catch") {
                None => Vec::new(),
                Some(c) => {
                    let list = c
                        .as_array()
                        .ok_or_else(|| invalid(&field("Catch"), "must be an array"))?;
                    let mut out = Vec::new();
                    for (i, c) in list.iter().enumerate() {
                        let at = format!("{name}.Catch[{i}]");
                        let c = c.as_object().ok_or_else(|| invalid(&at, "must be an object"))?;
                        allow_fields(&at, c, &["ErrorEquals", "ResultPath", "Next"])?;
                        out.push(Catcher {
                            error_equals: parse_error_equals(&at, c)?,
                            result_path: parse_result_path(&at, c)?,
                            next: string_field(&at, c, "Next")?.ok_or_else(|| invalid(&at, "no `Next`"))?,
                        });
                    }
                    out
                }
            };
            for (what, names) in [
                ("Retry", retry.iter().map(|r| &r.error_equals).collect::<Vec<_>>()),
                ("Catch", catch.iter().map(|c| &c.error_equals).collect()),
            ] {
                if names.iter().rev().skip(1).any(|n| n.iter().any(|e| e == "States.ALL")) {
                    return Err(invalid(&field(what), "`States.ALL` must be in the last entry"));
                }
            }
            Ok(State::Task {
                function_name,
                payload,
                result_selector: o
                    .get("ResultSelector")
                    .map(|p| parse_template(&field("ResultSelector"), p))
                    .transpose()?,
                result_path: parse_result_path(name, o)?,
                retry,
                catch,
                then: parse_transition(name, o)?,
            })
        }
        "Choice" => {
            allow_fields(name, o, &["Type", "Comment", "Choices", "Default"])?;
            let list = o
                .get("Choices")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(&field("Choices"), "must be a non-empty array"))?;
            let mut choices = Vec::new();
            for (i, c) in list.iter().enumerate() {
                let at = format!("{name}.Choices[{i}]");
                let c = c.as_object().ok_or_else(|| invalid(&at, "must be an object"))?;
                let next = string_field(&at, c, "Next")?.ok_or_else(|| invalid(&at, "no `Next`"))?;
                choices.push((parse_rule(&at, c, true)?, next));
            }
            Ok(State::Choice {
                choices,
                default: string_field(name, o, "Default")?,
            })
        }
        "Wait" => {
            allow_fields(name, o, &["Type", "Comment", "Seconds", "SecondsPath", "Next", "End"])?;
            let wait = match (o.get("Seconds"), o.get("SecondsPath")) {
                (Some(s), None) => WaitFor::Seconds(
                    s.as_u64()
                        .ok_or_else(|| invalid(&field("Seconds"), "must be a non-negative integer"))?,
                ),
                (None, Some(Value::String(p))) => WaitFor::SecondsPath(JsonPath::parse(&field("SecondsPath"), p)?),
                _ => return Err(invalid(name, "exactly one of `Seconds` or `SecondsPath`")),
            };
            Ok(State::Wait {
                wait,
                then: parse_transition(name, o)?,
            })
        }
        "Succeed" => {
            allow_fields(name, o, &["Type", "Comment"])?;
            Ok(State::Succeed)
        }
        "Fail" => {
            allow_fields(name, o, &["Type", "Comment", "Error", "Cause"])?;
            Ok(State::Fail {
                error: string_field(name, o, "Error")?,
                cause: string_field(name, o, "Cause")?,
            })
        }
        other => Err(unsupported(name, format!("state type `{other}`"))),
    }
}

impl StateMachine {
    /// Parses a definition (placeholders already substituted), refusing what is not implemented.
    pub fn parse(definition: &str) -> Result<Self, AslError> {
        let v: Value = serde_json::from_str(definition).map_err(|e| invalid("definition", e.to_string()))?;
        let o = v
            .as_object()
            .ok_or_else(|| invalid("definition", "must be an object"))?;
        allow_fields("definition", o, &["Comment", "StartAt", "States"])?;
        let start_at =
            string_field("definition", o, "StartAt")?.ok_or_else(|| invalid("definition", "no `StartAt`"))?;
        let states = o
            .get("States")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("definition", "no `States`"))?
            .iter()
            .map(|(k, v)| Ok((k.clone(), parse_state(k, v)?)))
            .collect::<Result<BTreeMap<_, _>, AslError>>()?;
        let machine = Self { start_at, states };
        for (from, to) in machine.transitions() {
            if !machine.states.contains_key(to) {
                return Err(invalid(from, format!("transition to unknown state `{to}`")));
            }
        }
        Ok(machine)
    }

    fn transitions(&self) -> Vec<(&str, &str)> {
        let mut out = vec![("StartAt", self.start_at.as_str())];
        for (name, s) in &self.states {
            out.extend(targets(s).into_iter().map(|t| (name.as_str(), t)));
        }
        out
    }

    /// The names of the top-level `States`, in byte order of the name (not the definition's
    /// order).
    pub fn state_names(&self) -> impl Iterator<Item = &str> {
        self.states.keys().map(String::as_str)
    }

    /// The retriers of a Task state.
    pub fn retriers(&self, state: &str) -> Option<&[Retrier]> {
        match self.states.get(state)? {
            State::Task { retry, .. } => Some(retry),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Execution

/// A failed Lambda invocation as the `lambda:invoke` integration surfaces it: `error` is the
/// function's `errorType` (or `Lambda.Unknown`, `Lambda.ServiceException`, …), `cause` its
/// error object as JSON text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskError {
    /// The error name `Retry`/`Catch` match.
    pub error: String,
    /// Free text, never matched: a catcher receives it as `Cause` beside `Error`, and an
    /// uncaught error ends the execution with it as [`Execution::cause`].
    pub cause: String,
}

impl TaskError {
    /// A function's own error: `errorType` and the error object Lambda returns as cause.
    pub fn function(error_type: &str, message: &str) -> Self {
        Self {
            error: error_type.to_string(),
            cause: json!({"errorType": error_type, "errorMessage": message}).to_string(),
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ExecutionStatus {
    /// A Succeed state, or an `End`.
    Succeeded,
    /// A Fail state, an uncaught error, or a runtime failure.
    Failed,
}

/// One Lambda invocation, with what it returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    /// Name of the Task state that invoked.
    pub state: String,
    /// `FunctionName` as the definition gives it.
    pub function: String,
    /// The payload sent.
    pub payload: Value,
    /// What came back.
    pub outcome: Result<Value, TaskError>,
    /// Virtual seconds since the execution started.
    pub at: f64,
}

/// A retry scheduled by a retrier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retried {
    /// Name of the Task state retried.
    pub state: String,
    /// The [`TaskError::error`] the retrier matched.
    pub error: String,
    /// The retrier's index in `Retry`.
    pub retrier: usize,
    /// The retrier's attempt (0 for the first retry).
    pub attempt: u32,
    /// The delay waited before the retry, virtual time ([`Retrier::delay`]); added to
    /// [`Execution::elapsed`].
    pub delay: Duration,
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    /// How it ended.
    pub status: ExecutionStatus,
    /// The output when it succeeded; `None` when it failed.
    pub output: Option<Value>,
    /// The error name when it failed: a Fail state's `Error`, an uncaught
    /// [`TaskError::error`], or a `States.*` error of the interpreter (`States.Runtime`,
    /// `States.NoChoiceMatched`, …). `None` when it succeeded, or when the Fail state names no
    /// `Error`.
    pub error: Option<String>,
    /// The cause going with `error`; `None` when it succeeded or the Fail state gives none.
    pub cause: Option<String>,
    /// Every state entered, in order (a retry does not enter the state again).
    pub path: Vec<String>,
    /// How many times each state was entered.
    pub entered: BTreeMap<String, u32>,
    /// Every Lambda invocation, retries included.
    pub invocations: Vec<Invocation>,
    /// Every retry.
    pub retries: Vec<Retried>,
    /// Virtual time the execution took (Wait states and retry delays).
    pub elapsed: Duration,
}

/// Execution settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutionOptions {
    /// Seed of the jitter draws.
    pub seed: u64,
    /// States entered before the execution fails with `States.Runtime` (Standard workflows
    /// stop at 25,000 history events).
    pub max_transitions: u32,
}

impl Default for ExecutionOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            max_transitions: 25_000,
        }
    }
}

/// What an execution awaits: its Wait states and retry delays, and its Lambda invocations.
#[async_trait(?Send)]
pub trait TaskHost {
    /// Lets `d` of virtual time pass.
    async fn sleep(&mut self, d: Duration);
    /// Invokes `function` (the Task's `FunctionName`) with `payload`: the function's output, or
    /// the error `Retry`/`Catch` match.
    async fn invoke(&mut self, function: &str, payload: &Value) -> Result<Value, TaskError>;
}

/// A failure that ends the execution whatever `Catch` says.
struct Failure {
    error: String,
    cause: String,
}

fn runtime(cause: impl Into<String>) -> Failure {
    Failure {
        error: "States.Runtime".into(),
        cause: cause.into(),
    }
}

fn intrinsic_failure(cause: impl Into<String>) -> Failure {
    Failure {
        error: "States.IntrinsicFailure".into(),
        cause: cause.into(),
    }
}

fn resolve<'a>(path: &JsonPath, input: &'a Value, what: &str) -> Result<&'a Value, Failure> {
    path.get(input).ok_or_else(|| {
        runtime(format!(
            "An error occurred while executing the state: the JSONPath '{}' specified for {what} could not be found in the input",
            path.text()
        ))
    })
}

fn eval_arg(a: &Arg, input: &Value) -> Result<Value, Failure> {
    match a {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => resolve(p, input, "an intrinsic argument").cloned(),
        Arg::Call(c) => eval_intrinsic(c, input),
    }
}

/// MathAdd's operands: integers in the 32-bit range (AWS documents integer arguments; anything
/// else fails here rather than being rounded).
fn integer(v: &Value) -> Result<i64, Failure> {
    v.as_i64()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| intrinsic_failure(format!("States.MathAdd: {v} is not a 32-bit integer")))
}

fn eval_intrinsic(i: &Intrinsic, input: &Value) -> Result<Value, Failure> {
    match i {
        Intrinsic::StringToJson(a) => match eval_arg(a, input)? {
            Value::String(s) => serde_json::from_str(&s)
                .map_err(|e| intrinsic_failure(format!("States.StringToJson: `{s}` is not JSON: {e}"))),
            other => Err(intrinsic_failure(format!(
                "States.StringToJson: {other} is not a string"
            ))),
        },
        Intrinsic::MathAdd(a, b) => {
            let (a, b) = (integer(&eval_arg(a, input)?)?, integer(&eval_arg(b, input)?)?);
            Ok(Value::from(a + b))
        }
    }
}

fn eval_template(t: &Template, input: &Value) -> Result<Value, Failure> {
    match t {
        Template::Literal(v) => Ok(v.clone()),
        Template::Path(p) => resolve(p, input, "a `.$` field").cloned(),
        Template::Call(c) => eval_intrinsic(c, input),
        Template::Object(fields) => {
            let mut o = Map::new();
            for (k, t) in fields {
                o.insert(k.clone(), eval_template(t, input)?);
            }
            Ok(Value::Object(o))
        }
    }
}

fn apply_result_path(rp: &ResultPath, input: &Value, result: Value) -> Result<Value, Failure> {
    let path = match rp {
        ResultPath::Discard => return Ok(input.clone()),
        ResultPath::At(p) => p,
    };
    let Some((last, parents)) = path.0.split_last() else {
        return Ok(result);
    };
    let mut out = input.clone();
    let mut cur = &mut out;
    for f in parents {
        let o = cur
            .as_object_mut()
            .ok_or_else(|| runtime(format!("ResultPath {}: the input is not an object", path.text())))?;
        cur = o.entry(f.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    cur.as_object_mut()
        .ok_or_else(|| runtime(format!("ResultPath {}: the input is not an object", path.text())))?
        .insert(last.clone(), result);
    Ok(out)
}

fn test_rule(rule: &Rule, input: &Value) -> Result<bool, Failure> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !test_rule(r, input)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if test_rule(r, input)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!test_rule(r, input)?),
        Rule::Test(var, test) => {
            if let Test::IsPresent(want) = test {
                return Ok(var.get(input).is_some() == *want);
            }
            // A Variable that does not resolve is a runtime error for every other operator.
            let v = resolve(var, input, "a choice rule's Variable")?;
            Ok(match test {
                Test::IsPresent(_) => false, // answered above
                Test::IsNull(want) => v.is_null() == *want,
                Test::BooleanEquals(b) => v.as_bool() == Some(*b),
                Test::StringEquals(s) => v.as_str() == Some(s.as_str()),
                Test::StringEqualsPath(p) => {
                    let other = resolve(p, input, "a choice rule's operand")?;
                    let s = other
                        .as_str()
                        .ok_or_else(|| runtime(format!("{} is not a string", p.text())))?;
                    v.as_str() == Some(s)
                }
                // A value of another type does not match (it is not an error).
                Test::Numeric(cmp, n) => v.as_f64().is_some_and(|x| cmp.holds(x, *n)),
                Test::NumericPath(cmp, p) => {
                    let other = resolve(p, input, "a choice rule's operand")?;
                    let n = other
                        .as_f64()
                        .ok_or_else(|| runtime(format!("{} is not a number", p.text())))?;
                    v.as_f64().is_some_and(|x| cmp.holds(x, n))
                }
            })
        }
    }
}

impl StateMachine {
    /// Runs one execution on virtual time. `sleep` is called for every Wait and retry delay
    /// (e.g. `|d| cloud.advance(d)`); `task` answers every Lambda invocation with the function's
    /// output or a [`TaskError`]. The synchronous form of [`StateMachine::execute_async`].
    pub fn execute(
        &self,
        input: Value,
        options: &ExecutionOptions,
        sleep: &mut dyn FnMut(Duration),
        task: &mut dyn FnMut(&str, &Value) -> Result<Value, TaskError>,
    ) -> Execution {
        struct Sync<'a> {
            sleep: &'a mut dyn FnMut(Duration),
            task: &'a mut dyn FnMut(&str, &Value) -> Result<Value, TaskError>,
        }
        #[async_trait(?Send)]
        impl TaskHost for Sync<'_> {
            async fn sleep(&mut self, d: Duration) {
                (self.sleep)(d);
            }
            async fn invoke(&mut self, function: &str, payload: &Value) -> Result<Value, TaskError> {
                (self.task)(function, payload)
            }
        }
        pollster::block_on(self.execute_async(input, options, &mut Sync { sleep, task }))
    }

    /// Runs one execution on virtual time, awaiting `host` for every Wait and retry delay and
    /// every Lambda invocation: a Task's function may itself await (e.g. port calls that yield
    /// to other executions, as the chaos harness interleaves them).
    pub async fn execute_async(&self, input: Value, options: &ExecutionOptions, host: &mut dyn TaskHost) -> Execution {
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        let mut x = Execution {
            status: ExecutionStatus::Failed,
            output: None,
            error: None,
            cause: None,
            path: Vec::new(),
            entered: BTreeMap::new(),
            invocations: Vec::new(),
            retries: Vec::new(),
            elapsed: Duration::ZERO,
        };
        let mut name = self.start_at.clone();
        let mut input = input;
        let fail = |mut x: Execution, f: Failure| {
            x.status = ExecutionStatus::Failed;
            x.error = Some(f.error);
            x.cause = Some(f.cause);
            x
        };
        loop {
            if x.path.len() >= options.max_transitions as usize {
                return fail(
                    x,
                    runtime(format!("more than {} state transitions", options.max_transitions)),
                );
            }
            x.path.push(name.clone());
            *x.entered.entry(name.clone()).or_default() += 1;
            let Some(state) = self.states.get(&name) else {
                return fail(x, runtime(format!("no state `{name}`")));
            };
            let step: Result<(Value, Option<String>), Failure> = match state {
                State::Pass {
                    parameters,
                    result_path,
                    then,
                } => (|| {
                    let result = match parameters {
                        Some(p) => eval_template(p, &input)?,
                        None => input.clone(),
                    };
                    Ok((apply_result_path(result_path, &input, result)?, next_of(then)))
                })(),
                State::Wait { wait: w, then } => match (|| {
                    let secs = match w {
                        WaitFor::Seconds(s) => *s,
                        WaitFor::SecondsPath(p) => resolve(p, &input, "SecondsPath")?.as_u64().ok_or_else(|| {
                            runtime(format!("SecondsPath {} is not a non-negative integer", p.text()))
                        })?,
                    };
                    Ok(secs)
                })() {
                    Ok(secs) => {
                        let d = Duration::from_secs(secs);
                        x.elapsed += d;
                        if !d.is_zero() {
                            host.sleep(d).await;
                        }
                        Ok((input.clone(), next_of(then)))
                    }
                    Err(e) => Err(e),
                },
                State::Choice { choices, default } => (|| {
                    for (rule, next) in choices {
                        if test_rule(rule, &input)? {
                            return Ok((input.clone(), Some(next.clone())));
                        }
                    }
                    match default {
                        Some(d) => Ok((input.clone(), Some(d.clone()))),
                        None => Err(Failure {
                            error: "States.NoChoiceMatched".into(),
                            cause: format!("no choice rule of `{name}` matched and it has no Default"),
                        }),
                    }
                })(),
                State::Succeed => Ok((input.clone(), None)),
                State::Fail { error, cause } => {
                    x.status = ExecutionStatus::Failed;
                    x.error = error.clone();
                    x.cause = cause.clone();
                    return x;
                }
                State::Task {
                    function_name,
                    payload,
                    result_selector,
                    result_path,
                    retry,
                    catch,
                    then,
                } => {
                    let mut attempts = vec![0u32; retry.len()];
                    loop {
                        let invoked = (|| {
                            let f = eval_template(function_name, &input)?;
                            let f = f.as_str().map(str::to_string).unwrap_or_default();
                            let p = eval_template(payload, &input)?;
                            Ok((f, p))
                        })();
                        let (f, p) = match invoked {
                            Ok(fp) => fp,
                            Err(e) => break Err(e),
                        };
                        let outcome = host.invoke(&f, &p).await;
                        x.invocations.push(Invocation {
                            state: name.clone(),
                            function: f,
                            payload: p,
                            outcome: outcome.clone(),
                            at: x.elapsed.as_secs_f64(),
                        });
                        let e = match outcome {
                            Ok(out) => {
                                let result = json!({"ExecutedVersion": "$LATEST", "Payload": out, "StatusCode": 200});
                                break (|| {
                                    let selected = match result_selector {
                                        Some(s) => eval_template(s, &result)?,
                                        None => result,
                                    };
                                    Ok((apply_result_path(result_path, &input, selected)?, next_of(then)))
                                })();
                            }
                            Err(e) => e,
                        };
                        if let Some(i) = retry.iter().position(|r| r.matches(&e.error))
                            && attempts[i] < retry[i].max_attempts
                        {
                            let delay = retry[i].delay(attempts[i], &mut rng);
                            x.retries.push(Retried {
                                state: name.clone(),
                                error: e.error.clone(),
                                retrier: i,
                                attempt: attempts[i],
                                delay,
                            });
                            attempts[i] += 1;
                            x.elapsed += delay;
                            if !delay.is_zero() {
                                host.sleep(delay).await;
                            }
                            continue;
                        }
                        match catch.iter().find(|c| matches_error(&c.error_equals, &e.error)) {
                            Some(c) => {
                                let out = json!({"Error": e.error, "Cause": e.cause});
                                break apply_result_path(&c.result_path, &input, out)
                                    .map(|v| (v, Some(c.next.clone())));
                            }
                            None => {
                                break Err(Failure {
                                    error: e.error,
                                    cause: e.cause,
                                });
                            }
                        }
                    }
                }
            };
            match step {
                Ok((output, Some(next))) => {
                    input = output;
                    name = next;
                }
                Ok((output, None)) => {
                    x.status = ExecutionStatus::Succeeded;
                    x.output = Some(output);
                    return x;
                }
                Err(f) => return fail(x, f),
            }
        }
    }
}

fn targets(s: &State) -> Vec<&str> {
    match s {
        State::Pass { then, .. } | State::Wait { then, .. } => match then {
            Transition::Next(n) => vec![n.as_str()],
            Transition::End => vec![],
        },
        State::Task { then, catch, .. } => {
            let mut v: Vec<&str> = catch.iter().map(|c| c.next.as_str()).collect();
            if let Transition::Next(n) = then {
                v.push(n);
            }
            v
        }
        State::Choice { choices, default } => choices
            .iter()
            .map(|(_, n)| n.as_str())
            .chain(default.as_deref())
            .collect(),
        State::Succeed | State::Fail { .. } => vec![],
    }
}

fn next_of(t: &Transition) -> Option<String> {
    match t {
        Transition::Next(n) => Some(n.clone()),
        Transition::End => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;
    use std::collections::VecDeque;

    fn deployed(max_polls: u32) -> StateMachine {
        Deployment::from_repository()
            .unwrap()
            .with("MaxPolls", max_polls.to_string())
            .state_machine()
            .unwrap()
    }

    /// Runs `m` with scripted Task results, in invocation order; returns the execution.
    fn run(m: &StateMachine, input: Value, script: Vec<Result<Value, TaskError>>) -> Execution {
        let mut script: VecDeque<_> = script.into();
        let mut slept = Duration::ZERO;
        let x = m.execute(input, &ExecutionOptions::default(), &mut |d| slept += d, &mut |_, _| {
            script
                .pop_front()
                .expect("the script has a result for every invocation")
        });
        assert!(script.is_empty(), "unused results: {script:?}");
        assert_eq!(slept, x.elapsed, "every delay went to the clock");
        x
    }

    fn out(status: &str) -> Result<Value, TaskError> {
        Ok(json!({"status": status, "waiting": [], "applied": [], "deferred": 0, "diagnoses": [], "manual_steps": []}))
    }

    fn err(error: &str) -> Result<Value, TaskError> {
        Err(TaskError::function(error, "m"))
    }

    fn machine(states: Value) -> Result<StateMachine, AslError> {
        StateMachine::parse(&json!({"StartAt": "S", "States": states}).to_string())
    }

    #[test]
    fn the_deployed_definition_parses_with_the_templates_substitutions() {
        let d = Deployment::from_repository().unwrap();
        assert_eq!(d.substitutions["MaxPolls"], "40");
        assert_eq!(d.substitutions["PollSeconds"], "30");
        assert_eq!(d.substitutions["HealFunctionArn"], function_arn("HealFunction"));
        assert_eq!(function_name(&d.substitutions["HealFunctionArn"]), "HealFunction");
        assert_eq!(d.function_timeouts["ProvisionFunction"], Duration::from_secs(120));
        let m = d.state_machine().unwrap();
        assert!(m.state_names().any(|s| s == "PollBudget"));
        assert_eq!(m.retriers("Provision").unwrap().len(), 2);
        let missing = substitute("{\"a\": \"${Nope}\"}", &BTreeMap::new()).unwrap_err();
        assert_eq!(missing, AslError::Substitution("no value for ${Nope}".into()));
    }

    #[test]
    fn the_poll_loop_waits_poll_seconds_on_virtual_time_and_counts_polls() {
        let m = deployed(40);
        let x = run(
            &m,
            json!({}),
            vec![out("waiting"), out("waiting"), out("converged"), out("converged")],
        );
        assert_eq!(x.status, ExecutionStatus::Succeeded, "{x:?}");
        assert_eq!(x.entered["WaitForAws"], 2);
        assert_eq!(x.elapsed, Duration::from_secs(60));
        let o = x.output.unwrap();
        assert_eq!(
            (o["polls"].as_u64(), o["limits"]["max_polls"].as_u64()),
            (Some(2), Some(40))
        );
        assert_eq!(x.invocations[0].function, function_arn("ProvisionFunction"));
        assert_eq!(
            x.invocations[3].payload,
            json!({}),
            "PublishAlias gets a literal empty payload"
        );
    }

    #[test]
    fn choice_operators_pick_the_documented_branch() {
        let cases: Vec<(Value, Value, &str)> = vec![
            (json!({"Variable": "$.a", "IsPresent": true}), json!({"a": null}), "Yes"),
            (json!({"Variable": "$.a", "IsPresent": true}), json!({}), "No"),
            (json!({"Variable": "$.a", "IsPresent": false}), json!({}), "Yes"),
            (json!({"Variable": "$.a", "IsNull": true}), json!({"a": null}), "Yes"),
            (
                json!({"Variable": "$.a", "StringEquals": "aws.ec2"}),
                json!({"a": "aws.ec2"}),
                "Yes",
            ),
            (
                json!({"Variable": "$.a", "StringEquals": "aws.ec2"}),
                json!({"a": "aws.fsx"}),
                "No",
            ),
            (json!({"Variable": "$.a", "StringEquals": "1"}), json!({"a": 1}), "No"),
            (
                json!({"Variable": "$.a", "StringEqualsPath": "$.b"}),
                json!({"a": "x", "b": "x"}),
                "Yes",
            ),
            (
                json!({"Variable": "$.a", "BooleanEquals": true}),
                json!({"a": true}),
                "Yes",
            ),
            (
                json!({"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"}),
                json!({"a": 2, "b": 2}),
                "Yes",
            ),
            (
                json!({"Variable": "$.a", "NumericGreaterThanEqualsPath": "$.b"}),
                json!({"a": 1, "b": 2}),
                "No",
            ),
            (
                json!({"Variable": "$.a", "NumericGreaterThanPath": "$.b"}),
                json!({"a": 2, "b": 2}),
                "No",
            ),
            (
                json!({"Variable": "$.a", "NumericLessThan": 2}),
                json!({"a": 1.5}),
                "Yes",
            ),
            (
                json!({"Variable": "$.a", "NumericLessThanEquals": 2}),
                json!({"a": 2}),
                "Yes",
            ),
            (json!({"Variable": "$.a", "NumericEquals": 2}), json!({"a": 2.0}), "Yes"),
            (json!({"Variable": "$.a", "NumericEquals": 2}), json!({"a": "2"}), "No"),
            (
                json!({"Variable": "$.a", "NumericGreaterThan": 2}),
                json!({"a": 3}),
                "Yes",
            ),
            (
                json!({"And": [{"Variable": "$.a", "IsPresent": true}, {"Variable": "$.a", "NumericEquals": 1}]}),
                json!({"a": 1}),
                "Yes",
            ),
            (
                json!({"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.a", "NumericEquals": 1}]}),
                json!({"a": 1}),
                "Yes",
            ),
            (
                json!({"Not": {"Variable": "$.a", "NumericEquals": 1}}),
                json!({"a": 1}),
                "No",
            ),
        ];
        for (rule, input, want) in cases {
            let mut rule = rule;
            rule["Next"] = json!("Yes");
            let m = machine(json!({
                "S": {"Type": "Choice", "Choices": [rule.clone()], "Default": "No"},
                "Yes": {"Type": "Succeed"},
                "No": {"Type": "Succeed"}
            }))
            .unwrap();
            let x = run(&m, input.clone(), vec![]);
            assert_eq!(x.path.last().map(String::as_str), Some(want), "{rule} on {input}");
        }
    }

    #[test]
    fn a_choice_on_a_missing_variable_fails_the_execution_and_no_match_without_default_too() {
        let m = machine(json!({
            "S": {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}
        }))
        .unwrap();
        let x = run(&m, json!({}), vec![]);
        assert_eq!(
            (x.status, x.error.as_deref()),
            (ExecutionStatus::Failed, Some("States.Runtime"))
        );
        let x = run(&m, json!({"a": 2}), vec![]);
        assert_eq!(x.error.as_deref(), Some("States.NoChoiceMatched"));
    }

    #[test]
    fn backoff_grows_by_the_rate_and_stops_at_max_delay_and_full_jitter_stays_below_it() {
        let m = deployed(40);
        let r = &m.retriers("Provision").unwrap()[0];
        let secs: Vec<u64> = (0..7).map(|a| r.backoff(a).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 120, 120]);
        let no_cap = Retrier {
            max_delay_seconds: None,
            ..r.clone()
        };
        assert_eq!(no_cap.backoff(6).as_secs(), 320);
        let unknown = &m.retriers("Provision").unwrap()[1];
        assert_eq!((unknown.max_attempts, unknown.jitter), (1, Jitter::None));
        assert_eq!(unknown.backoff(0), Duration::from_secs(30));
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws: Vec<Duration> = (0..200).map(|_| r.delay(3, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(40)));
        assert!(
            draws.iter().any(|d| *d < Duration::from_secs(20)) && draws.iter().any(|d| *d > Duration::from_secs(20))
        );
        let mut again = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(r.delay(3, &mut again), draws[0], "seeded: the same draw again");
    }

    #[test]
    fn transient_errors_are_retried_max_attempts_times_then_caught_by_states_all() {
        let m = deployed(40);
        let mut script = vec![err("Transient"); 6];
        script.insert(0, out("waiting"));
        let x = run(&m, json!({}), script);
        assert_eq!(x.status, ExecutionStatus::Failed);
        assert_eq!(x.error.as_deref(), Some("ReconcileFailed"));
        // First entry waited; the second entry of Provision (after a poll) is retried 5 times.
        assert_eq!(x.retries.len(), 5, "{:?}", x.retries);
        assert_eq!(x.retries.iter().map(|r| r.attempt).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        for r in &x.retries {
            assert!(r.delay <= Duration::from_secs(5 << r.attempt), "{r:?}");
        }
        let retried: Duration = x.retries.iter().map(|r| r.delay).sum();
        assert_eq!(x.elapsed, Duration::from_secs(30) + retried);
        assert_eq!(x.entered["Provision"], 2, "a retry does not enter the state again");
        assert_eq!(x.path.last().map(String::as_str), Some("Failed"));
    }

    #[test]
    fn each_retrier_counts_its_own_attempts_and_a_new_entry_starts_from_zero() {
        let m = deployed(40);
        // Two Lambda.Unknown on one entry: the second exceeds its single attempt, even though
        // Transient errors in between used the other retrier.
        let x = run(
            &m,
            json!({}),
            vec![err("Lambda.Unknown"), err("Transient"), err("Lambda.Unknown")],
        );
        assert_eq!(x.retries.iter().map(|r| r.retrier).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(x.error.as_deref(), Some("ReconcileFailed"));
        // One Lambda.Unknown on each of three entries of Provision: each is retried.
        let x = run(
            &m,
            json!({}),
            vec![
                err("Lambda.Unknown"),
                out("waiting"),
                err("Lambda.Unknown"),
                out("waiting"),
                err("Lambda.Unknown"),
                out("converged"),
                out("converged"),
            ],
        );
        assert_eq!(x.status, ExecutionStatus::Succeeded, "{x:?}");
        assert_eq!(x.retries.len(), 3);
        assert_eq!(x.elapsed, Duration::from_secs(3 * 30 + 2 * 30));
    }

    #[test]
    fn catch_puts_error_and_cause_at_its_result_path_and_keeps_the_rest_of_the_input() {
        let m = deployed(40);
        let x = run(
            &m,
            json!({}),
            vec![
                err("CapacityExhausted"),
                out("converged"),
                out("converged"),
                out("converged"),
            ],
        );
        assert_eq!(
            x.path,
            [
                "Init",
                "Route",
                "Provision",
                "HealBudget",
                "ResetForHeal",
                "Heal",
                "CountHeal",
                "Provision",
                "Provisioned",
                "PublishAlias",
                "Published",
                "DirectoryEnabled",
                "Done"
            ]
        );
        assert_eq!(x.invocations[1].function, function_arn("HealFunction"));
        let o = x.output.unwrap();
        assert_eq!(o["heal_attempts"], 1);
        assert_eq!(o["limits"]["max_heal_attempts"], 2);
        // CountHeal rebuilds the input without `error`: look at a Catch on its own.
        let m = machine(json!({
            "S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["Other"], "Next": "Other"}, {"ErrorEquals": ["CapacityExhausted"], "ResultPath": "$.error", "Next": "Caught"}],
                "Next": "Other"},
            "Caught": {"Type": "Succeed"},
            "Other": {"Type": "Fail"}
        }))
        .unwrap();
        let x = run(&m, json!({"keep": 1}), vec![err("CapacityExhausted")]);
        assert_eq!(x.path, ["S", "Caught"]);
        let o = x.output.unwrap();
        assert_eq!(o["keep"], 1);
        assert_eq!(o["error"]["Error"], "CapacityExhausted");
        let cause: Value = serde_json::from_str(o["error"]["Cause"].as_str().unwrap()).unwrap();
        assert_eq!(cause, json!({"errorType": "CapacityExhausted", "errorMessage": "m"}));
        // Without ResultPath the error output replaces the input.
        let m = machine(json!({
            "S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
        }))
        .unwrap();
        let x = run(&m, json!({"keep": 1}), vec![err("Anything")]);
        assert_eq!(
            x.output.unwrap(),
            json!({"Error": "Anything", "Cause": TaskError::function("Anything", "m").cause})
        );
        // An error no catcher matches fails the execution with that error and cause.
        let m = machine(json!({
            "S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["Other"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
        }))
        .unwrap();
        let x = run(&m, json!({}), vec![err("Transient")]);
        assert_eq!(
            (x.status, x.error.as_deref()),
            (ExecutionStatus::Failed, Some("Transient"))
        );
        assert_eq!(x.cause, Some(TaskError::function("Transient", "m").cause));
    }

    #[test]
    fn a_result_selector_path_missing_from_the_output_fails_the_execution_uncaught() {
        let m = deployed(40);
        let x = run(&m, json!({}), vec![Ok(json!({"status": "converged"}))]);
        assert_eq!(x.error.as_deref(), Some("States.Runtime"), "{x:?}");
        assert_eq!(x.path.last().map(String::as_str), Some("Provision"));
    }

    #[test]
    fn intrinsics_evaluate_and_refuse_bad_arguments() {
        let m = machine(json!({
            "S": {"Type": "Pass", "Parameters": {
                "n.$": "States.MathAdd($.n, -3)",
                "j.$": "States.StringToJson('{\"a\": [1]}')",
                "nested.$": "States.MathAdd(States.StringToJson('2'), 1)"
            }, "End": true}
        }));
        let m = m.unwrap();
        let x = run(&m, json!({"n": 5}), vec![]);
        assert_eq!(x.status, ExecutionStatus::Succeeded, "{x:?}");
        let o = x.output.unwrap();
        assert_eq!(
            (o["n"].clone(), o["j"].clone(), o["nested"].clone()),
            (json!(2), json!({"a": [1]}), json!(3))
        );
        let x = run(&m, json!({"n": 1.5}), vec![]);
        assert_eq!(x.error.as_deref(), Some("States.IntrinsicFailure"));
    }

    #[test]
    fn what_is_not_implemented_is_refused_with_a_typed_error() {
        let unsupported_cases = [
            json!({"S": {"Type": "Map", "End": true}}),
            json!({"S": {"Type": "Parallel", "Branches": [], "End": true}}),
            json!({"S": {"Type": "Pass", "InputPath": "$.a", "End": true}}),
            json!({"S": {"Type": "Pass", "Result": 1, "End": true}}),
            json!({"S": {"Type": "Pass", "Parameters": {"a.$": "States.Format('{}', $.b)"}, "End": true}}),
            json!({"S": {"Type": "Pass", "Parameters": {"a.$": "$.b[0]"}, "End": true}}),
            json!({"S": {"Type": "Pass", "Parameters": {"a.$": "$$.Execution.Id"}, "End": true}}),
            json!({"S": {"Type": "Wait", "Timestamp": "2024-01-01T00:00:00Z", "End": true}}),
            json!({"S": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}),
            json!({"S": {"Type": "Task", "Resource": LAMBDA_INVOKE, "TimeoutSeconds": 5,
                "Parameters": {"FunctionName": "f", "Payload": {}}, "End": true}}),
            json!({"S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "f", "Payload": {}, "Qualifier": "1"}, "End": true}}),
            json!({"S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "f", "Payload": {}},
                "Retry": [{"ErrorEquals": ["States.TaskFailed"]}], "End": true}}),
            json!({"S": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringMatches": "a*", "Next": "S"}]}}),
            json!({"S": {"Type": "Choice", "Choices": [{"Variable": "$.a", "TimestampEquals": "x", "Next": "S"}]}}),
        ];
        for states in unsupported_cases {
            let e = machine(states.clone()).unwrap_err();
            assert!(matches!(e, AslError::Unsupported { .. }), "{states}: {e:?}");
        }
        let e = StateMachine::parse(&json!({"StartAt": "S", "QueryLanguage": "JSONata", "States": {}}).to_string())
            .unwrap_err();
        assert!(matches!(e, AslError::Unsupported { .. }), "{e:?}");
        let e = machine(json!({"S": {"Type": "Pass", "Next": "Nowhere"}})).unwrap_err();
        assert!(matches!(e, AslError::Invalid { .. }), "{e:?}");
        let e = machine(json!({"S": {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "f", "Payload": {}},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}, {"ErrorEquals": ["X"], "Next": "S"}], "End": true}}))
        .unwrap_err();
        assert!(matches!(e, AslError::Invalid { .. }), "{e:?}");
    }

    #[test]
    fn runaway_loops_stop_at_the_transition_limit() {
        let m = machine(json!({"S": {"Type": "Pass", "Next": "S"}})).unwrap();
        let x = m.execute(
            json!({}),
            &ExecutionOptions {
                seed: 0,
                max_transitions: 50,
            },
            &mut |_| {},
            &mut |_, _| Ok(json!({})),
        );
        assert_eq!((x.error.as_deref(), x.path.len()), (Some("States.Runtime"), 50));
    }
}
