"""The Python 3 / boto3 baseline of the cold-start benchmark (bench/src/cold_start.rs).

It does what an fsxn-lattice function does at cold start and for an event it does not
handle: read and validate the TOML configuration, build the EC2, VPC Lattice, Route 53,
FSx and Resource Groups Tagging API clients (the Rust functions build the same five from one
SDK configuration), then classify the event and answer "ignored". Run under awslambdaric:
    python3 -m awslambdaric handler.handler
"""

import json
import os
import tomllib

import boto3

CONFIG = tomllib.loads(os.environ["FSXN_LATTICE_CONFIG"])
if not CONFIG.get("owner"):
    raise ValueError("FSXN_LATTICE_CONFIG: owner is required")

_session = boto3.session.Session()
EC2 = _session.client("ec2")
LATTICE = _session.client("vpc-lattice")
ROUTE53 = _session.client("route53")
FSX = _session.client("fsx")
TAGGING = _session.client("resourcegroupstaggingapi")

FSX_EVENTS = {
    "CreateFileSystem", "UpdateFileSystem", "DeleteFileSystem",
    "CreateStorageVirtualMachine", "UpdateStorageVirtualMachine", "DeleteStorageVirtualMachine",
    "TagResource", "UntagResource",
}


def handler(event, context):
    if not isinstance(event, dict):
        raise ValueError("not an event")
    detail = event.get("detail") or {}
    source = detail.get("eventSource")
    name = detail.get("eventName")
    if source == "fsx.amazonaws.com" and name in FSX_EVENTS and not detail.get("errorCode"):
        raise NotImplementedError("the baseline measures the ignored path only")
    return {"status": "ignored", "function": "provision",
            "reason": json.dumps({"source": source, "event": name})}
