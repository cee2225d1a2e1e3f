//! CloudTrail records wrapped in EventBridge envelopes, shaped like the real ones (the seed's
//! record is the model for the EC2 failure).
//!
//! The world emits them: each write made through a port, as the tool's call, and what AWS or a
//! person does on its own (VPC Lattice's `CreateNetworkInterface`, an administrator's FSx
//! actions), each onto the EventBridge queue and into CloudTrail's event history.
//!
//! (The file is named as in `shared/aws/src`; the module keeps its public path, `trail`.)

use crate::world::CloudState;
use serde_json::{Value, json};

/// The identity of VPC Lattice's service-linked role, as in the seed's record.
pub fn lattice_identity(account: &str, time: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROASTFXPUVSRGLKAAAZI:LatticeAssumeRoleSession",
        "arn": format!("arn:aws:sts::{account}:assumed-role/AWSServiceRoleForVpcLattice/LatticeAssumeRoleSession"),
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROASTFXPUVSRGLKAAAZI",
                "arn": format!("arn:aws:iam::{account}:role/aws-service-role/vpc-lattice.amazonaws.com/AWSServiceRoleForVpcLattice"),
                "accountId": account,
                "userName": "AWSServiceRoleForVpcLattice"
            },
            "attributes": {"creationDate": time, "mfaAuthenticated": "false"}
        },
        "invokedBy": "vpc-lattice.amazonaws.com"
    })
}

/// The identity of whoever calls the simulated APIs (the tool, or a person).
pub fn caller_identity(account: &str, who: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROAEXAMPLEEXAMPLE01:{who}"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{who}/{who}"),
        "accountId": account
    })
}

/// Fields of one CloudTrail record.
pub struct Record<'a> {
    /// `eventSource`
    pub source: &'a str,
    /// `eventName`
    pub name: &'a str,
    /// `userIdentity`
    pub identity: Value,
    /// `sourceIPAddress` / `userAgent`
    pub agent: &'a str,
    /// `requestParameters`
    pub request: Value,
    /// `responseElements`
    pub response: Value,
    /// `errorCode`, `errorMessage`
    pub error: Option<(&'a str, &'a str)>,
    /// Whether AWS made the call on its own (service event).
    pub service_event: bool,
}

/// Wraps a record in an EventBridge envelope.
pub fn envelope(r: Record<'_>, account: &str, region: &str, time: &str, event_id: &str, request_id: &str) -> Value {
    let mut detail = json!({
        "eventVersion": "1.10",
        "userIdentity": r.identity,
        "eventTime": time,
        "eventSource": r.source,
        "eventName": r.name,
        "awsRegion": region,
        "sourceIPAddress": r.agent,
        "userAgent": r.agent,
    });
    let d = detail.as_object_mut().expect("object literal");
    if let Some((code, message)) = r.error {
        d.insert("errorCode".into(), code.into());
        d.insert("errorMessage".into(), message.into());
    }
    d.insert("requestParameters".into(), r.request);
    d.insert("responseElements".into(), r.response);
    d.insert("requestID".into(), request_id.into());
    d.insert("eventID".into(), event_id.into());
    d.insert("readOnly".into(), false.into());
    d.insert(
        "eventType".into(),
        if r.service_event {
            "AwsServiceEvent"
        } else {
            "AwsApiCall"
        }
        .into(),
    );
    d.insert("managementEvent".into(), true.into());
    d.insert("recipientAccountId".into(), account.into());
    d.insert("eventCategory".into(), "Management".into());
    let service = r.source.trim_end_matches(".amazonaws.com");
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": if r.service_event { "AWS Service Event via CloudTrail" } else { "AWS API Call via CloudTrail" },
        "source": format!("aws.{service}"),
        "account": account,
        "time": time,
        "region": region,
        "resources": [],
        "detail": detail
    })
}

impl CloudState {
    pub(crate) fn emit(&mut self, record: Record<'_>) {
        // A call in another account is in that account's CloudTrail, not on our bus.
        if self.caller.is_some() {
            return;
        }
        let (eid, rid) = (self.uuid(), self.uuid());
        let ev = envelope(
            record,
            &self.account.clone(),
            &self.region.clone(),
            &self.time(),
            &eid,
            &rid,
        );
        self.audit.record(self.now, &ev);
        self.events.push_back(ev);
    }

    pub(crate) fn emit_call(&mut self, source: &str, name: &str, request: Value, response: Value) {
        let identity = caller_identity(&self.account, "fsxn-lattice");
        self.emit(Record {
            source,
            name,
            identity,
            agent: "fsxn-lattice",
            request,
            response,
            error: None,
            service_event: false,
        });
    }
}
