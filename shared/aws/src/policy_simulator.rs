//! IAM policy simulation of a deployed stack's function roles, for the doctor: CloudFormation
//! `DescribeStackResources` finds the roles, IAM `SimulatePrincipalPolicy` evaluates their
//! policies for the actions each function needs.
//!
//! (Named `policy_simulator`, not `iam`: `iam.rs` holds the IAM action table of the template.)
//!
//! A role's ARN is built from the resource's `PhysicalResourceId` (an `AWS::IAM::Role`'s is its
//! name) and the partition and account of the stack's ARN; SAM's function roles have the
//! default path `/` (assumed: SAM sets no `Path`). The simulation gets the tag and record-type
//! context the stack's conditions test ([SimulatePrincipalPolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
//! a condition key missing from `ContextEntries` makes the statement not match, reported in
//! `MissingContextValues`).

use crate::error::{malformed, translate};
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use fsxn_lattice_core::audit::*;
use fsxn_lattice_core::ports::CloudResult;

/// The CloudFormation + IAM adapter.
#[derive(Debug, Clone)]
pub struct AwsPolicySimulator {
    cloudformation: aws_sdk_cloudformation::Client,
    iam: aws_sdk_iam::Client,
}

impl AwsPolicySimulator {
    /// Wraps the two clients.
    pub fn new(cloudformation: aws_sdk_cloudformation::Client, iam: aws_sdk_iam::Client) -> Self {
        Self { cloudformation, iam }
    }

    /// `DescribeStackResources`: the stack's `AWS::IAM::Role` resources with their ARNs.
    pub async fn stack_roles(&self, stack: &str) -> CloudResult<Vec<StackRole>> {
        const OP: &str = "DescribeStackResources";
        let out = self
            .cloudformation
            .describe_stack_resources()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| translate(OP, e))?;
        let mut roles = Vec::new();
        for r in out.stack_resources() {
            if r.resource_type() != Some("AWS::IAM::Role") {
                continue;
            }
            let (Some(logical), Some(name)) = (r.logical_resource_id(), r.physical_resource_id()) else {
                continue;
            };
            // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>
            let stack_arn = r.stack_id().ok_or_else(|| malformed(OP, "StackId"))?;
            let parts: Vec<&str> = stack_arn.split(':').collect();
            if parts.len() < 6 {
                return Err(malformed(OP, "a StackId in ARN form"));
            }
            roles.push(StackRole {
                logical_id: logical.to_string(),
                arn: format!("arn:{}:iam::{}:role/{name}", parts[1], parts[4]),
            });
        }
        Ok(roles)
    }

    /// `SimulatePrincipalPolicy`, all pages.
    pub async fn simulate_principal_policy(&self, request: &SimulationRequest) -> CloudResult<Vec<PolicyDecision>> {
        const OP: &str = "SimulatePrincipalPolicy";
        let context: Vec<ContextEntry> = request
            .context
            .iter()
            .map(|(key, values)| {
                ContextEntry::builder()
                    .context_key_name(key)
                    .set_context_key_values(Some(values.clone()))
                    .context_key_type(if values.len() == 1 {
                        ContextKeyTypeEnum::String
                    } else {
                        ContextKeyTypeEnum::StringList
                    })
                    .build()
            })
            .collect();
        let mut decisions = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .simulate_principal_policy()
                .policy_source_arn(&request.principal_arn)
                .set_action_names(Some(request.actions.clone()))
                .set_context_entries(Some(context.clone()))
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| translate(OP, e))?;
            for r in out.evaluation_results() {
                decisions.push(PolicyDecision {
                    action: r.eval_action_name().to_string(),
                    decision: match r.eval_decision() {
                        PolicyEvaluationDecisionType::Allowed => Decision::Allowed,
                        PolicyEvaluationDecisionType::ExplicitDeny => Decision::ExplicitDeny,
                        _ => Decision::ImplicitDeny,
                    },
                    missing_context_values: r.missing_context_values().to_vec(),
                });
            }
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => return Ok(decisions),
            }
        }
    }
}
