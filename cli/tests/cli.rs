//! The `fsxn-lattice` binary, run as a user would: demo, capacity, explain-event.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsxn-lattice"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn demo_json_has_a_timeline_and_the_final_state() {
    let out = run(&["demo", "--seed", "3", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let timeline = v["timeline"].as_array().unwrap();
    assert!(timeline.len() > 10);
    for e in timeline {
        assert!(
            e["t"].is_string() && e["kind"].is_string() && e["message"].is_string(),
            "{e}"
        );
    }
    let f = &v["final"];
    assert_eq!(f["endpoint_state"], "available");
    assert_eq!(f["alias_fqdn"], "non-97-svm-alias.corp.non-97.net");
    assert_eq!(f["alias_target"], f["endpoint_dns_name"]);
    assert!(
        f["endpoint_dns_name"]
            .as_str()
            .unwrap()
            .ends_with(".vpc-lattice-rsc.us-east-1.on.aws")
    );
    let subnets = f["gateway_subnets"].as_array().unwrap();
    assert_eq!(subnets.len(), 2);
    assert!(subnets.iter().all(|s| s["addresses_consumed"] == 17));
    // Deterministic for a seed.
    assert_eq!(run(&["demo", "--seed", "3", "--output", "json"]).stdout, out.stdout);
}

#[test]
fn demo_text_is_a_readable_timeline() {
    let out = run(&["demo"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "212 free addresses",
        "There aren't sufficient free Ipv4 addresses or prefixes",
        "CREATE CNAME",
        "msDS-AdditionalDnsHostname",
        "Result",
        "17 addresses consumed",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn demo_with_the_directory_does_the_kerberos_step_itself() {
    let out = run(&["demo", "--directory", "--output", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let kinds: Vec<(&str, &str)> = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    let ntlm = kinds.iter().position(|(k, m)| *k == "smb" && m.contains("NTLMv2"));
    let spn = kinds
        .iter()
        .position(|(k, m)| *k == "action" && m.contains("to AD computer NON-97-SVM"));
    let kerberos = kinds.iter().position(|(k, m)| *k == "smb" && m.contains("Kerberos"));
    assert!(
        matches!((ntlm, spn, kerberos), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "{kinds:#?}"
    );
    assert!(!kinds.iter().any(|(k, _)| *k == "manual_step"), "{kinds:#?}");
    assert_eq!(v["final"]["manual_steps"], serde_json::json!([]));
    assert!(
        v["final"]["kerberos"]
            .as_str()
            .unwrap()
            .contains("SMB authenticates with Kerberos")
    );
    // The default demo's JSON has no `kerberos` field: unchanged without the directory.
    assert!(
        json(&run(&["demo", "--output", "json"]))["final"]
            .get("kerberos")
            .is_none()
    );
}

const CAP: &str = "tests/fixtures/capacity";

#[test]
fn capacity_json_reports_free_aligned_blocks_per_subnet() {
    let out = run(&[
        "capacity",
        "--subnets",
        &format!("{CAP}/describe-subnets.json"),
        "--network-interfaces",
        &format!("{CAP}/describe-network-interfaces.json"),
        "--cidr-reservations",
        &format!("{CAP}/get-subnet-cidr-reservations-subnet-029a939990627d570.json"),
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    let by_id = |id: &str| {
        v["subnets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subnet_id"] == id)
            .unwrap()
            .clone()
    };
    let fragmented = by_id("subnet-0ddc1cafa116ba0dd");
    assert_eq!(
        fragmented["free_addresses"], 212,
        "matches the seed's AvailableIpAddressCount"
    );
    assert_eq!(fragmented["can_host_gateway_eni"], false);
    assert_eq!(fragmented["free_prefix_blocks"].as_array().unwrap().len(), 0);
    assert!(
        fragmented["reason"]
            .as_str()
            .unwrap()
            .contains("212 free addresses but no free aligned /28")
    );
    let roomy = by_id("subnet-029a939990627d570");
    assert_eq!(roomy["free_addresses"], 1002, "the seed's 1019 - 17");
    assert_eq!(roomy["can_host_gateway_eni"], true);
    let blocks: Vec<&str> = roomy["free_prefix_blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert_eq!(
        blocks.len(),
        52,
        "62 candidates - the ENI's /28 - the block holding 10.0.6.79 - 8 explicitly reserved"
    );
    assert_eq!(blocks[0], "10.0.4.16/28");
    assert!(!blocks.contains(&"10.0.4.32/28") && !blocks.contains(&"10.0.6.64/28") && !blocks.contains(&"10.0.7.0/28"));
    let mut sorted = blocks.clone();
    sorted.sort_by_key(|b| b.split('/').next().unwrap().parse::<std::net::Ipv4Addr>().unwrap());
    assert_eq!(blocks, sorted, "ascending");
    assert_eq!(
        roomy["free_blocks_in_prefix_reservations"],
        serde_json::json!(["10.0.4.48/28"])
    );
    let small = by_id("subnet-0c0ffee0c0ffee0c0");
    assert_eq!(
        (small["candidate_blocks"].clone(), small["can_host_gateway_eni"].clone()),
        (0.into(), false.into())
    );
}

#[test]
fn capacity_text_is_a_table_with_reasons() {
    let out = run(&[
        "capacity",
        "--subnets",
        &format!("{CAP}/describe-subnets.json"),
        "--network-interfaces",
        &format!("{CAP}/describe-network-interfaces.json"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(text.starts_with("SUBNET"));
    assert!(text.contains("subnet-0ddc1cafa116ba0dd: 212 free addresses but no free aligned /28"));
    assert!(text.contains("too small"));
    // stdout is a pipe here: no map (map::tests draw it), and --no-map changes nothing.
    assert!(!text.contains("map: "), "{text}");
    let no_map = run(&[
        "capacity",
        "--subnets",
        &format!("{CAP}/describe-subnets.json"),
        "--network-interfaces",
        &format!("{CAP}/describe-network-interfaces.json"),
        "--no-map",
    ]);
    assert_eq!(no_map.stdout, out.stdout);
}

#[test]
fn capacity_bad_input_is_a_typed_error_with_exit_code_2() {
    let out = run(&[
        "capacity",
        "--subnets",
        &format!("{CAP}/describe-network-interfaces.json"),
        "--network-interfaces",
        &format!("{CAP}/describe-network-interfaces.json"),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let v = json(&out);
    assert_eq!(v["error"]["type"], "InvalidInput");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("describe-network-interfaces.json")
    );
    let missing = run(&[
        "capacity",
        "--subnets",
        "nope.json",
        "--network-interfaces",
        "nope.json",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.json"));
}

#[test]
fn explain_event_names_the_trigger_for_every_fixture() {
    let expected = [
        (
            "ec2-create-network-interface-insufficient-ips.json",
            "gateway_capacity_exhausted",
        ),
        (
            "ec2-service-event-insufficient-cidr-blocks.json",
            "gateway_capacity_exhausted",
        ),
        (
            "ec2-assign-private-ip-addresses-insufficient-cidr-blocks.json",
            "gateway_capacity_exhausted",
        ),
        ("ec2-create-network-interface-success.json", "ignored"),
        // The EKS VPC CNI's prefix exhaustion: not VPC Lattice's call, not ours to heal.
        (
            "ec2-assign-private-ip-addresses-eks-vpc-cni-insufficient-cidr-blocks.json",
            "ignored",
        ),
        ("ec2-create-network-interface-other-error.json", "ignored"),
        ("fsx-create-storage-virtual-machine.json", "fsx_changed"),
        ("fsx-update-storage-virtual-machine.json", "fsx_changed"),
        ("fsx-delete-storage-virtual-machine.json", "fsx_changed"),
        ("fsx-tag-resource-svm.json", "fsx_changed"),
        ("fsx-untag-resource-file-system.json", "fsx_changed"),
        ("fsx-update-file-system.json", "fsx_changed"),
        ("fsx-create-file-system.json", "fsx_changed"),
        ("fsx-delete-file-system.json", "fsx_changed"),
        ("fsx-create-backup.json", "ignored"),
        ("fsx-tag-resource-failed.json", "ignored"),
        ("scheduled-reconcile.json", "reconcile_all"),
    ];
    // Step Functions inputs (step-input-*.json) are not EventBridge events
    // (explain_event_explains_a_step_functions_input).
    let listed: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("step-input-"))
        .collect();
    assert_eq!(
        listed.len(),
        expected.len(),
        "every event fixture in events/ is covered: {listed:?}"
    );
    for (file, trigger) in expected {
        let out = run(&["explain-event", &format!("events/{file}"), "--output", "json"]);
        assert!(out.status.success(), "{file}");
        let v = json(&out);
        assert_eq!(v["trigger"], trigger, "{file}");
        if trigger == "ignored" {
            assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()), "{file}");
        }
    }
    let seed = json(&run(&[
        "explain-event",
        "events/ec2-create-network-interface-insufficient-ips.json",
        "--output",
        "json",
    ]));
    assert_eq!(seed["subnet_id"], "subnet-0ddc1cafa116ba0dd");
    assert_eq!(seed["gateway_id"], "rgw-0f84e11568c258a2b");
    let text = String::from_utf8(
        run(&[
            "explain-event",
            "events/ec2-create-network-interface-insufficient-ips.json",
        ])
        .stdout,
    )
    .unwrap();
    assert!(text.starts_with("gateway_capacity_exhausted"), "{text}");
}

#[test]
fn explain_event_refuses_malformed_input_with_exit_code_2() {
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // An object without `detail-type` is a Step Functions input (the functions reconcile on it),
    // so `{}` is no longer among these.
    for (i, body) in ["not json", "[]", "7", r#"{"detail-type":"AWS API Call via CloudTrail"}"#, r#"{"event":"x","polls":1}"#, r#"{"id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.fsx","time":"t","region":"r","account":"1","detail":{"eventSource":"fsx.amazonaws.com","eventName":"TagResource","requestParameters":{"resourceARN":"arn:aws:fsx:us-east-1:1:file-system/NOT-AN-ID"}}}"#].iter().enumerate() {
        let f = dir.join(format!("bad{i}.json"));
        std::fs::write(&f, body).unwrap();
        let out = run(&["explain-event", f.to_str().unwrap(), "--output", "json"]);
        assert_eq!(out.status.code(), Some(2), "{body}");
        let v = json(&out);
        assert_eq!(v["error"]["type"], "InvalidInput", "{body}");
        assert!(v["error"]["message"].as_str().unwrap().starts_with("invalid event"), "{v}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs the binary with static test credentials and no instance metadata, so nothing but
/// 127.0.0.1 is ever contacted.
fn run_offline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsxn-lattice"))
        .args(args)
        .current_dir(root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn seed_config_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("fsxn-lattice-cli-config-{}.toml", std::process::id()));
    std::fs::write(&path, fsxn_lattice_sim::scenario::SEED_CONFIG).unwrap();
    path
}

#[test]
fn plan_and_apply_refuse_bad_input_before_calling_aws() {
    let bad = std::env::temp_dir().join(format!("fsxn-lattice-cli-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[gateway]\nsecurity_group_ids = []\n").unwrap();
    let out = run_offline(&["plan", "--config", bad.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out)["error"]["type"], "InvalidInput");
    let good = seed_config_file();
    let out = run_offline(&["apply", "--config", good.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(2), "no --yes and no terminal: refused");
    assert!(json(&out)["error"]["message"].as_str().unwrap().contains("--yes"));
    std::fs::remove_file(bad).unwrap();
}

#[test]
fn plan_reports_an_unreachable_endpoint_as_a_transient_error() {
    // Port 9 on 127.0.0.1: nothing listens, the connection is refused at once.
    let good = seed_config_file();
    let out = run_offline(&[
        "plan",
        "--config",
        good.to_str().unwrap(),
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--output",
        "json",
    ]);
    if cfg!(feature = "aws") {
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
        let v = json(&out);
        assert_eq!(v["error"]["type"], "Transient", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("DescribeFileSystems failed"),
            "{v}"
        );
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(json(&out)["error"]["type"], "Unsupported");
    }
}

#[test]
fn doctor_explains_the_seeds_failure_and_exits_1() {
    let out = run(&["doctor", "--simulated", "--stack", "fsxn-lattice"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "(read-only: nothing is changed)",
        "✓ cloudtrail",
        "212 free addresses but 0 free aligned /28 — fragmented",
        "✗ resource",
        "cause from CloudTrail: CreateNetworkInterface by vpc-lattice.amazonaws.com",
        "Client.InvalidParameterValue \"There aren't sufficient free Ipv4 addresses or prefixes\"",
        "fix: gateway subnets cannot be changed",
        "✓ permission ReconcileFunctionRole",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
    assert!(text.contains("\n1 failed") || text.contains(", 1 failed"), "{text}");
    // Deterministic for a seed.
    assert_eq!(
        run(&["doctor", "--simulated", "--stack", "fsxn-lattice"]).stdout,
        text.as_bytes()
    );
}

#[test]
fn doctor_on_the_healed_world_exits_0_with_json_checks() {
    let out = run(&["doctor", "--simulated=healed", "--seed", "2", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["summary"]["fail"], 0);
    assert_eq!(v["simulated"], true);
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(
        checks.len() as u64,
        v["summary"]["pass"].as_u64().unwrap() + v["summary"]["warn"].as_u64().unwrap()
    );
    for c in checks {
        assert!(["pass", "warn"].contains(&c["status"].as_str().unwrap()), "{c}");
        assert!(c["area"].is_string() && c["subject"].is_string() && c["message"].is_string());
    }
    assert!(
        checks
            .iter()
            .any(|c| c["area"] == "resource" && c["message"].as_str().unwrap().contains("is available"))
    );
}

#[test]
fn doctor_refuses_bad_input_with_exit_2() {
    let bad_lookback = run(&["doctor", "--simulated", "--lookback-hours", "0", "--output", "json"]);
    assert_eq!(bad_lookback.status.code(), Some(2));
    assert_eq!(json(&bad_lookback)["error"]["type"], "InvalidInput");
    let bad_stack = run(&["doctor", "--simulated", "--stack", "not_a_stack", "--output", "json"]);
    assert_eq!(bad_stack.status.code(), Some(2));
    assert!(
        json(&bad_stack)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--stack")
    );
    let missing = run(&["doctor", "--simulated", "--config", "no/such/file.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    // No config and no --simulated, or --simulated with a live-only flag: refused by the parser.
    assert_eq!(run(&["doctor"]).status.code(), Some(2));
    assert_eq!(
        run(&["doctor", "--simulated", "--region", "us-east-1"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["doctor", "--simulated=broken"]).status.code(), Some(2));
}

#[test]
fn the_readme_doctor_sample_is_what_the_command_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let intro = "`fsxn-lattice doctor --simulated --stack fsxn-lattice` (seed 1; exit code 1):\n\n```\n";
    let start = readme.find(intro).expect("the README has the doctor sample") + intro.len();
    let sample = &readme[start..start + readme[start..].find("\n```").unwrap() + 1];
    let out = run(&["doctor", "--simulated", "--stack", "fsxn-lattice"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(sample, String::from_utf8(out.stdout).unwrap());
}

#[test]
fn hostile_input_files_are_refused_with_exit_code_2_and_bounded_memory() {
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-cli-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let enis = dir.join("enis.json");
    std::fs::write(
        &enis,
        r#"{"NetworkInterfaces":[{"NetworkInterfaceId":"eni-1","SubnetId":"subnet-1","PrivateIpAddress":"10.0.0.5"}]}"#,
    )
    .unwrap();
    // Subnet CIDRs EC2 never gives: /0 used to allocate 11.8 GB, /29-/31 panicked (exit 101).
    for cidr in [
        "10.0.0.0/0",
        "10.0.0.0/1",
        "10.0.0.0/29",
        "10.0.0.0/31",
        "255.255.255.255/32",
    ] {
        let subnets = dir.join("subnets.json");
        std::fs::write(
            &subnets,
            format!(r#"{{"Subnets":[{{"SubnetId":"subnet-1","VpcId":"vpc-1","AvailabilityZone":"a","CidrBlock":"{cidr}"}}]}}"#),
        )
        .unwrap();
        let out = run(&[
            "capacity",
            "--subnets",
            subnets.to_str().unwrap(),
            "--network-interfaces",
            enis.to_str().unwrap(),
            "--output",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{cidr}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json(&out);
        assert_eq!(v["error"]["type"], "InvalidInput", "{cidr}");
        assert!(v["error"]["message"].as_str().unwrap().contains("/16 to /28"), "{v}");
    }
    // An endless input stops at the cap instead of reading until memory runs out.
    let out = run(&["explain-event", "/dev/zero", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(json(&out)["error"]["message"].as_str().unwrap().contains("64 MiB"));
    // A byte-order mark does not make a valid file invalid.
    let event = std::fs::read(root().join("events/fsx-tag-resource-svm.json")).unwrap();
    let bom = dir.join("bom.json");
    std::fs::write(&bom, [b"\xef\xbb\xbf".as_slice(), &event].concat()).unwrap();
    let out = run(&["explain-event", bom.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_event_text_never_prints_control_characters_from_the_event() {
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-cli-esc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed =
        std::fs::read_to_string(root().join("events/ec2-create-network-interface-insufficient-ips.json")).unwrap();
    let mut v: Value = serde_json::from_str(&seed).unwrap();
    v["detail"]["errorMessage"] = Value::String(
        "There aren't sufficient free Ipv4 addresses or prefixes\u{1b}[2J\u{1b}]0;owned\u{7}\r\nfake line".into(),
    );
    let f = dir.join("evil.json");
    std::fs::write(&f, v.to_string()).unwrap();
    let out = run(&["explain-event", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    assert!(
        text.contains("\\u{1b}[2J") && text.contains("\\r\\nfake line"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "no injected line: {text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_exit_0() {
    // `fsxn-lattice demo | head -1`, made deterministic: the pipe's read end is closed before
    // the binary starts, so its first write fails with EPIPE.
    let caps = [
        "capacity",
        "--subnets",
        "tests/fixtures/capacity/describe-subnets.json",
        "--network-interfaces",
        "tests/fixtures/capacity/describe-network-interfaces.json",
    ];
    let commands: Vec<Vec<&str>> = vec![
        vec!["demo"],
        vec!["demo", "--output", "json"],
        caps.to_vec(),
        [caps.as_slice(), &["--output", "json"]].concat(),
        vec![
            "explain-event",
            "events/ec2-create-network-interface-insufficient-ips.json",
        ],
        vec!["doctor", "--simulated"],
        vec!["chaos", "--runs", "2"],
        // An error printed as JSON on stdout, and clap's own help.
        vec!["explain-event", "no/such/file.json", "--output", "json"],
        vec!["--help"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_fsxn-lattice"))
            .args(&args)
            .current_dir(root())
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}: nothing on stderr");
    }
}

#[test]
fn argument_errors_honour_output_json_and_help_still_exits_0() {
    // Refused by the parser, with --output json anywhere on the line: one JSON object on stdout
    // (where every other error goes under --output json), exit 2.
    for (args, needle) in [
        (vec!["demo", "--seed", "x", "--output", "json"], "--seed"),
        (vec!["demo", "--output=json", "--seed", "x"], "--seed"),
        (
            vec!["capacity", "--subnets", "a.json", "--output", "json"],
            "--network-interfaces",
        ),
        (vec!["capacity", "--bogus", "--output", "json"], "--bogus"),
        (vec!["chaos", "--output", "json", "--runs"], "--runs"),
        (vec!["doctor", "--output", "json"], "--config"),
        (vec!["demo", "--output", "json", "--output", "json"], "--output"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
        let v = json(&out);
        assert_eq!(v["error"]["type"], "InvalidInput", "{args:?}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{args:?}: {message}");
        assert!(!message.starts_with("error:") && !message.contains('\n'), "{message}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    }
    // Without --output json (or with another format) clap's text on stderr, as before.
    for args in [
        vec!["demo", "--seed", "x"],
        vec!["demo", "--output", "xml"],
        vec!["demo", "--seed", "x", "--", "--output", "json"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "), "{args:?}");
    }
    // --help and --version: their usual output on stdout, exit 0, --output json or not.
    for args in [
        vec!["demo", "--output", "json", "--help"],
        vec!["--help"],
        vec!["capacity", "-h", "--output=json"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: fsxn-lattice"),
            "{args:?}"
        );
    }
    let version = run(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("fsxn-lattice {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn explain_event_explains_a_step_functions_input() {
    // events/step-input-poll.json is what every poll hands a function: `{}`.
    let out = run(&["explain-event", "events/step-input-poll.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("step_functions_input: "), "{text}");
    assert!(
        text.contains("not an EventBridge event") && text.contains("re-reads the world"),
        "{text}"
    );
    assert!(
        text.contains("provision → infrastructure, heal → infrastructure, publish-alias → dns, reconcile → all, directory → directory"),
        "the scopes of fsxn_lattice_core::step::Function: {text}"
    );
    let v = json(&run(&[
        "explain-event",
        "events/step-input-poll.json",
        "--output",
        "json",
    ]));
    assert_eq!(v["input"], "step_functions_input");
    assert_eq!(v["trigger"], Value::Null);
    assert_eq!(
        v["scopes"],
        serde_json::json!({"provision": "infrastructure", "heal": "infrastructure", "publish-alias": "dns", "reconcile": "all", "directory": "directory"})
    );
    assert_eq!(v["unread"], serde_json::json!([]));

    // A whole state of the execution (what CountPoll passes on): its tasks get its `event`.
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-cli-step-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let poll_state = dir.join("poll-state.json");
    std::fs::write(
        &poll_state,
        r#"{"event": {}, "heal_attempts": 1, "polls": 3, "limits": {"max_polls": 60, "poll_seconds": 30, "max_heal_attempts": 2}}"#,
    )
    .unwrap();
    let out = run(&["explain-event", poll_state.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("step_functions_state: ") && text.contains("(polls 3, heal attempts 1)"),
        "{text}"
    );
    assert!(text.contains("\nstep_functions_input: "), "{text}");
    let v = json(&run(&[
        "explain-event",
        poll_state.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(
        (v["input"].as_str(), v["polls"].as_u64()),
        (Some("step_functions_state"), Some(3))
    );
    assert_eq!(v["payload"]["input"], "step_functions_input");

    // Init's state keeps the triggering event: that event's trigger is explained.
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/fsx-tag-resource-svm.json")).unwrap())
            .unwrap();
    let init_state = dir.join("init-state.json");
    std::fs::write(
        &init_state,
        serde_json::json!({"event": event, "heal_attempts": 0, "polls": 0}).to_string(),
    )
    .unwrap();
    let v = json(&run(&[
        "explain-event",
        init_state.to_str().unwrap(),
        "--output",
        "json",
    ]));
    assert_eq!(v["payload"]["trigger"], "fsx_changed");
    assert_eq!(v["payload"]["svm_id"], "svm-0a1b2c3d4e5f60718");

    // An object that was meant as an event but lacks `detail-type`: still a Step Functions input,
    // as the functions would take it, and the members they ignore are named.
    let typo = dir.join("typo.json");
    std::fs::write(
        &typo,
        r#"{"detail_type": "AWS API Call via CloudTrail", "source": "aws.fsx"}"#,
    )
    .unwrap();
    let text = String::from_utf8(run(&["explain-event", typo.to_str().unwrap()]).stdout).unwrap();
    assert!(
        text.contains("Note: not read by the functions: detail_type, source."),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `capacity --vpc/--subnet` against a moto server on 127.0.0.1 (moto's EC2 answers
/// DescribeSubnets filtered by an unknown VPC with an empty list, as EC2 does).
#[cfg(feature = "aws")]
#[test]
fn live_capacity_refuses_an_unknown_vpc_or_subnet_as_not_found() {
    use fsxn_lattice_tests::moto::MotoServer;
    let moto = MotoServer::start();
    let ec2 = |body: &str| {
        let (status, xml) = moto.post(
            "/",
            "application/x-www-form-urlencoded",
            "",
            "ec2",
            &format!("{body}&Version=2016-11-15"),
        );
        assert_eq!(status, 200, "{xml}");
        xml
    };
    let tag = |xml: &str, name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open).unwrap() + open.len();
        xml[start..start + xml[start..].find('<').unwrap()].to_string()
    };
    let vpc = tag(&ec2("Action=CreateVpc&CidrBlock=10.0.0.0%2F16"), "vpcId");
    let subnet = tag(
        &ec2(&format!(
            "Action=CreateSubnet&VpcId={vpc}&CidrBlock=10.0.8.0%2F24&AvailabilityZone=us-east-1a"
        )),
        "subnetId",
    );
    let url = moto.url();
    let capacity = |extra: &[&str]| {
        let mut args = vec!["capacity", "--endpoint-url", &url];
        args.extend_from_slice(extra);
        run_offline(&args)
    };

    let out = capacity(&["--vpc", &vpc, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["subnets"][0]["subnet_id"], subnet.as_str());
    let out = capacity(&["--vpc", &vpc, "--subnet", &subnet, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    // Was: an empty table and exit 0.
    let out = capacity(&["--vpc", "vpc-0000000000000dead", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["error"]["type"], "NotFound", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("VPC vpc-0000000000000dead not found"),
        "{v}"
    );
    let out = capacity(&["--vpc", "vpc-0000000000000dead"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no table");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error (NotFound): VPC vpc-0000000000000dead"));

    let out = capacity(&[
        "--vpc",
        &vpc,
        "--subnet",
        "subnet-0000000000000dead",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["error"]["type"], "NotFound", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("subnet subnet-0000000000000dead not found in {vpc}")),
        "{v}"
    );
}

/// `doctor` with `[directory]` against a moto server on 127.0.0.1 (moto models Secrets
/// Manager): a bind secret that does not exist, or that is not `{"username", "password"}`, is
/// one failed `directory` line naming it and what to grant, never its value; a usable one goes
/// on to the DC, here one that refuses the connection, whose fix says where it must be
/// reachable from.
#[cfg(feature = "aws")]
#[test]
fn live_doctor_checks_the_bind_secret_and_the_dc_without_printing_the_secret() {
    use fsxn_lattice_tests::moto::MotoServer;
    let moto = MotoServer::start();
    let create = |name: &str, value: &str| -> String {
        let (status, body) = moto.post(
            "/",
            "application/x-amz-json-1.1",
            "X-Amz-Target: secretsmanager.CreateSecret\r\n",
            "secretsmanager",
            &serde_json::json!({"Name": name, "SecretString": value}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["ARN"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let malformed = create(
        "ad-bind-malformed",
        r#"{"username":"svc-fsxnl@corp.non-97.net","pass":"topsecret-value"}"#,
    );
    let usable = create(
        "ad-bind",
        r#"{"username":"svc-fsxnl@corp.non-97.net","password":"hunter2-Secret!"}"#,
    );
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-Ab12Cd".to_string();
    let url = moto.url();
    let doctor = |arn: &str| {
        let path = std::env::temp_dir().join(format!("fsxn-lattice-cli-directory-{}.toml", std::process::id()));
        // Port 9 on 127.0.0.1: nothing listens, the connection is refused at once.
        std::fs::write(
            &path,
            format!(
                "{}\n[directory]\ndomain = \"corp.non-97.net\"\nsecret_arn = \"{arn}\"\ntimeout_seconds = 2\n[[directory.domain_controllers]]\nhost = \"dc1.corp.non-97.net\"\naddress = \"127.0.0.1\"\nport = 9\n",
                fsxn_lattice_sim::scenario::SEED_CONFIG
            ),
        )
        .unwrap();
        let out = run_offline(&[
            "doctor",
            "--config",
            path.to_str().unwrap(),
            "--endpoint-url",
            &url,
            "--output",
            "json",
        ]);
        std::fs::remove_file(&path).unwrap();
        let text = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(
            !text.contains("topsecret") && !text.contains("hunter2"),
            "the secret's value is printed:\n{text}"
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
        assert_eq!(out.status.code(), Some(1), "{text}");
        json(&out)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["area"] == "directory")
            .cloned()
            .collect::<Vec<Value>>()
    };

    for (arn, error, fix) in [
        (
            &missing,
            "ResourceNotFoundException",
            format!("secretsmanager:GetSecretValue on {missing}"),
        ),
        (
            &malformed,
            "has no string field \"password\"",
            "\"username\"".to_string(),
        ),
    ] {
        let lines = doctor(arn);
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line = &lines[0];
        assert_eq!(
            (&line["subject"], &line["status"]),
            (&"bind secret".into(), &"fail".into())
        );
        let message = line["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "cannot read the bind secret {arn}, so the directory was not checked"
            )),
            "{message}"
        );
        assert!(message.contains(error), "{message}");
        assert!(line["fix"].as_str().unwrap().contains(&fix), "{line}");
    }

    // Readable: the checks connect. moto has no FSx SVMs, so there is no exposure to check:
    // the connection is checked once, and here it is refused.
    let lines = doctor(&usable);
    assert_eq!(lines[0]["subject"], "dc reachable", "{lines:?}");
    assert_eq!(lines[0]["status"], "fail");
    assert!(
        lines[0]["message"].as_str().unwrap().contains("127.0.0.1:9"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0]["fix"].as_str().unwrap().contains(
            "the DC must be reachable from where this check runs: the Directory function runs in DirectorySubnetIds"
        ),
        "{}",
        lines[0]
    );
}

#[test]
fn capacity_refuses_an_aws_output_file_of_the_wrong_kind() {
    let subnets = format!("{CAP}/describe-subnets.json");
    let enis = format!("{CAP}/describe-network-interfaces.json");
    let reservations = format!("{CAP}/get-subnet-cidr-reservations-subnet-029a939990627d570.json");
    // (option given the wrong file, the file, what the error must say it looks like)
    let wrong = [
        (
            "--subnets",
            &enis,
            "looks like `aws ec2 describe-network-interfaces` output",
        ),
        (
            "--subnets",
            &reservations,
            "looks like `aws ec2 get-subnet-cidr-reservations` output",
        ),
        (
            "--network-interfaces",
            &subnets,
            "looks like `aws ec2 describe-subnets` output",
        ),
        (
            "--network-interfaces",
            &reservations,
            "looks like `aws ec2 get-subnet-cidr-reservations` output",
        ),
        // The field report's mistake: this one used to be read as "no reservations".
        (
            "--cidr-reservations",
            &subnets,
            "looks like `aws ec2 describe-subnets` output",
        ),
        (
            "--cidr-reservations",
            &enis,
            "looks like `aws ec2 describe-network-interfaces` output",
        ),
    ];
    for (option, file, looks_like) in wrong {
        let mut files = vec![
            ("--subnets", subnets.as_str()),
            ("--network-interfaces", enis.as_str()),
            ("--cidr-reservations", reservations.as_str()),
        ];
        for f in &mut files {
            if f.0 == option {
                f.1 = file;
            }
        }
        let mut args = vec!["capacity"];
        for (o, f) in &files {
            args.extend([*o, *f]);
        }
        args.extend(["--output", "json"]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{option} {file}");
        let v = json(&out);
        assert_eq!(v["error"]["type"], "InvalidInput", "{option} {file}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{file}: {option} takes `aws ec2 ")),
            "names the file and the option: {message}"
        );
        assert!(message.contains(looks_like), "{option} {file}: {message}");
    }
    // Neither kind: its members are named; not an object: said so.
    let dir = std::env::temp_dir().join(format!("fsxn-lattice-cli-kind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"Vpcs": [], "NextToken": "x"}"#).unwrap();
    let list = dir.join("list.json");
    std::fs::write(&list, "[]").unwrap();
    for (file, needle) in [
        (&other, "its top-level members are `NextToken`, `Vpcs`"),
        (
            &list,
            "not the JSON object that `aws ec2 get-subnet-cidr-reservations` prints",
        ),
    ] {
        let out = run(&[
            "capacity",
            "--subnets",
            &subnets,
            "--network-interfaces",
            &enis,
            "--cidr-reservations",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("error (InvalidInput): ") && stderr.contains(needle),
            "{stderr}"
        );
    }
    // A reservations listing with IPv6 reservations only is the right kind.
    let v6 = dir.join("v6.json");
    std::fs::write(&v6, r#"{"SubnetIpv6CidrReservations": []}"#).unwrap();
    let out = run(&[
        "capacity",
        "--subnets",
        &subnets,
        "--network-interfaces",
        &enis,
        "--cidr-reservations",
        v6.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// apply's progress line is for a person at a terminal (spinner::tests has the decision):
/// on a pipe, in text or JSON, stderr gets no spinner frames or line clears.
#[cfg(feature = "aws")]
#[test]
fn apply_draws_no_progress_line_on_a_pipe() {
    let good = seed_config_file();
    for output in ["text", "json"] {
        let out = run_offline(&[
            "apply",
            "--config",
            good.to_str().unwrap(),
            "--yes",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--output",
            output,
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains('\r') && !stderr.contains("\u{1b}["),
            "{output}: {stderr:?}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("reading the account"));
    }
}

#[test]
fn the_readme_capacity_sample_is_what_the_command_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    // The command as the README writes it (continuation lines joined), then its output block.
    let open = "```sh\nfsxn-lattice capacity --subnets tests/fixtures/capacity/";
    let start = readme.find(open).expect("the README has the capacity command") + "```sh\n".len();
    let end = start + readme[start..].find("\n```").unwrap();
    let command = readme[start..end].replace("\\\n", " ");
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(&args[..2], ["fsxn-lattice", "capacity"]);
    let rest = &readme[end + "\n```".len()..];
    let block = "\n\n```\n";
    assert!(rest.starts_with(block), "the output follows the command");
    let sample = &rest[block.len()..block.len() + rest[block.len()..].find("\n```").unwrap() + 1];
    let out = run(&args[1..]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sample, String::from_utf8(out.stdout).unwrap());
}

#[test]
fn the_readme_documents_every_error_type_the_cli_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("### Exit codes and errors").expect("README has the table");
    let section = &readme[start..start + readme[start..].find("\n## ").unwrap()];
    // A row of the types table (its first column) names it.
    let documented = |t: &str| {
        section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .any(|l| l.split(" | ").next().unwrap().contains(&format!("`{t}`")))
    };
    // The CLI's own types: every `kind: "…"` of CliError's constructors.
    let main = std::fs::read_to_string(root().join("cli/src/main.rs")).unwrap();
    let own: Vec<&str> = main
        .split("kind: \"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert_eq!(own, ["InvalidInput", "Unsupported", "NotFound", "Internal"]);
    // What an AWS call's error can be (fsxn_lattice_core::error::classify_code and the adapters).
    use fsxn_lattice_core::error::ErrorKind::*;
    let cloud = [
        Transient,
        Conflict,
        NotFound,
        CapacityExhausted,
        QuotaExceeded,
        AccessDenied,
        InvalidInput,
        Internal,
    ];
    for t in own.iter().copied().chain(cloud.iter().map(|k| k.as_str())) {
        assert!(documented(t), "README \"Exit codes and errors\" lacks `{t}`");
    }
    for code in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(section.contains(code), "{code}");
    }
}
