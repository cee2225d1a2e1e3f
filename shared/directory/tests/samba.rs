//! The directory crate against a real AD domain controller: Samba 4 on 127.0.0.1, provisioned
//! once into a golden copy, copied and started per test, stopped with SIGTERM and waited for
//! (the recipe: shared/recipes/samba-ad-dc.md). Every result is checked with tools independent of
//! the crate: `ldapsearch`, `dig @127.0.0.1`, `samba-tool spn list` / `dns`.
//!
//! Without `samba-tool` the tests print SKIPPED and return, unless
//! `FSXN_LATTICE_REQUIRE_SAMBA=1` (CI), where a missing Samba fails them. A DC binds
//! 53/88/389/636/3268/3269 on 127.0.0.1: the tests take a process-wide mutex and a file lock, so
//! no two DCs run at once (not even from two `cargo test` processes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use fsxn_lattice_core::error::ErrorKind;
use fsxn_lattice_directory::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const REALM: &str = "CORP.NON-97.NET";
const DOMAIN: &str = "corp.non-97.net";
const PASS: &str = "Passw0rd!Test123";
const ADMIN: &str = "Administrator@CORP.NON-97.NET";
const DC_NAME: &str = "dc1.corp.non-97.net";
const SVM: &str = "NON-97-SVM";
const ALIAS: &str = "non-97-svm-alias.corp.non-97.net";
const TARGET: &str = "vpce-0abc-123.rcfg-0def.vpc-lattice-rsc.us-east-1.on.aws";
const TARGET2: &str = "vpce-0new-456.rcfg-0def.vpc-lattice-rsc.us-east-1.on.aws";
/// Bump when the golden copy's recipe changes.
const GOLDEN_VERSION: &str = "fsxn-lattice samba golden v1";

static SERIAL: Mutex<()> = Mutex::new(());
static GOLDEN: OnceLock<Result<(), String>> = OnceLock::new();

fn base() -> PathBuf {
    std::env::temp_dir().join("fsxn-lattice-samba")
}
fn dc_dir() -> PathBuf {
    base().join("dc")
}
fn golden_dir() -> PathBuf {
    base().join("dc.golden")
}

/// Writes to the process's stderr directly: libtest captures `print!`/`eprint!` of passing
/// tests, and a skip or a timing must show in every run (CI's log included).
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn log(msg: &str) {
    say(&format!("[samba] {msg}"));
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the test must be skipped: Samba missing and not required. Panics when required.
fn skip(test: &str) -> bool {
    let missing: Vec<&str> = [
        "samba-tool",
        "samba",
        "ldapsearch",
        "ldapmodify",
        "dig",
        "openssl",
        "base64",
    ]
    .into_iter()
    .filter(|t| !have(t))
    .collect();
    if missing.is_empty() {
        return false;
    }
    let msg = format!(
        "{test}: {} not installed (apt-get install -y samba krb5-user ldap-utils bind9-dnsutils winbind)",
        missing.join(", ")
    );
    if std::env::var("FSXN_LATTICE_REQUIRE_SAMBA").as_deref() == Ok("1") {
        panic!("FSXN_LATTICE_REQUIRE_SAMBA=1 and {msg}");
    }
    say(&format!("SKIPPED {msg}"));
    true
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl(args: &[&str], dir: &Path) {
    run(Command::new("openssl").args(args).current_dir(dir));
}

/// Provisions the domain once into `dc` and moves it to `dc.golden` (smb.conf's absolute paths
/// name `dc`, where each test's copy runs). Kept across runs while its version matches.
fn golden() -> Result<(), String> {
    GOLDEN
        .get_or_init(|| {
            let marker = golden_dir().join(".version");
            // The harness's recipe and Samba's version: either changing provisions anew.
            let samba = Command::new("samba").arg("--version").output().map_err(|e| e.to_string())?;
            let version = format!("{GOLDEN_VERSION}; {}", String::from_utf8_lossy(&samba.stdout).trim());
            if fs::read_to_string(&marker).is_ok_and(|v| v == version) {
                log("provision: golden copy reused from an earlier run");
                return Ok(());
            }
            let t = Instant::now();
            let d = dc_dir();
            let _ = fs::remove_dir_all(&d);
            let _ = fs::remove_dir_all(golden_dir());
            fs::create_dir_all(d.join("run")).map_err(|e| e.to_string())?;
            fs::create_dir_all(d.join("log")).map_err(|e| e.to_string())?;
            let empty = base().join("empty.conf");
            fs::write(&empty, "").map_err(|e| e.to_string())?;
            let ds = d.display().to_string();
            let opt = |o: String| format!("--option={o}");
            let out = Command::new("samba-tool")
                .args(["domain", "provision", "-s"])
                .arg(&empty)
                .args([
                    &format!("--realm={REALM}"),
                    "--domain=CORP",
                    "--host-name=DC1",
                    "--server-role=dc",
                    "--dns-backend=SAMBA_INTERNAL",
                    &format!("--adminpass={PASS}"),
                    &format!("--targetdir={ds}"),
                    "--host-ip=127.0.0.1",
                    &opt("interfaces=lo".into()),
                    &opt("bind interfaces only=yes".into()),
                    &opt(format!("pid directory={ds}/run")),
                    &opt(format!("ncalrpc dir={ds}/run/ncalrpc")),
                    &opt(format!("winbindd socket directory={ds}/run/winbindd")),
                    &opt(format!("ntp signd socket directory={ds}/run/ntp_signd")),
                    &opt(format!("log file={ds}/log/log.%m")),
                    &opt("allow dns updates=nonsecure and secure".into()),
                ])
                .output()
                .map_err(|e| e.to_string())?;
            if !out.status.success() {
                return Err(format!("provision failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            // Our own CA and DC certificate (SANs: the DC's name and 127.0.0.1), and a second CA
            // that did not issue it, for the untrusted-certificate test.
            let tls = d.join("tls");
            fs::create_dir_all(&tls).map_err(|e| e.to_string())?;
            for ca in ["ca", "other-ca"] {
                openssl(
                    &[
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout", &format!("{ca}.key"), "-out",
                        &format!("{ca}.pem"), "-subj", &format!("/CN=fsxn-lattice test {ca}"), "-addext",
                        "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                    ],
                    &tls,
                );
            }
            fs::write(
                tls.join("ext.cnf"),
                format!("subjectAltName=DNS:{DC_NAME},IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"),
            )
            .map_err(|e| e.to_string())?;
            openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "dc.csr", "-subj", &format!("/CN={DC_NAME}")], &tls);
            openssl(
                &["x509", "-req", "-in", "dc.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "cert.pem", "-days", "30", "-extfile", "ext.cnf"],
                &tls,
            );
            run(Command::new("chmod").arg("600").arg(tls.join("key.pem")));
            let conf = d.join("etc/smb.conf");
            let s = fs::read_to_string(&conf).map_err(|e| e.to_string())?;
            let t_dir = tls.display();
            let s = s.replacen(
                "[global]\n",
                &format!(
                    "[global]\n\ttls enabled = yes\n\ttls keyfile = {t_dir}/key.pem\n\ttls certfile = {t_dir}/cert.pem\n\ttls cafile = {t_dir}/ca.pem\n"
                ),
                1,
            );
            fs::write(&conf, s).map_err(|e| e.to_string())?;
            fs::rename(&d, golden_dir()).map_err(|e| e.to_string())?;
            fs::write(&marker, version).map_err(|e| e.to_string())?;
            log(&format!("provision (domain + certificates): {:.1} s", t.elapsed().as_secs_f64()));
            Ok(())
        })
        .clone()
}

/// A running DC: stopped (SIGTERM to its process group, then waited for) when dropped.
struct Dc {
    child: Option<Child>,
    _guard: MutexGuard<'static, ()>,
    _flock: fs::File,
    started: Instant,
    name: &'static str,
}

impl Dc {
    fn start(name: &'static str) -> Self {
        let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        fs::create_dir_all(base()).unwrap();
        let flock = fs::File::create(base().join("lock")).unwrap();
        flock.lock().unwrap();
        golden().unwrap();
        // No DC (ours from an earlier test, or anyone's) may still hold the ports: readiness is
        // judged by them.
        let deadline = Instant::now() + Duration::from_secs(15);
        while [389u16, 636, 3269, 53]
            .iter()
            .any(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            assert!(
                Instant::now() < deadline,
                "something else listens on 127.0.0.1:389/636/3269/53"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let t = Instant::now();
        let d = dc_dir();
        let _ = fs::remove_dir_all(&d);
        run(Command::new("cp").arg("-a").arg(golden_dir()).arg(&d));
        let copied = t.elapsed();
        let out = fs::File::create(d.join("log/samba.out")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("samba")
                .args(["-i", "-s"])
                .arg(d.join("etc/smb.conf"))
                .args(["-M", "single"])
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut dc = Dc {
            child: Some(child),
            _guard: guard,
            _flock: flock,
            started: Instant::now(),
            name,
        };
        dc.wait_ready();
        log(&format!(
            "{name}: copy {:.2} s + start {:.2} s",
            copied.as_secs_f64(),
            (t.elapsed() - copied).as_secs_f64()
        ));
        dc.started = Instant::now();
        dc
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let out = fs::read_to_string(dc_dir().join("log/samba.out")).unwrap_or_default();
                panic!("samba exited at start ({status}): {out}");
            }
            let ports = [636u16, 389, 3269]
                .iter()
                .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok());
            let dns = ports
                && Command::new("dig")
                    .args(["+short", "+time=1", "+tries=1", "@127.0.0.1", DOMAIN, "SOA"])
                    .output()
                    .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
            if dns {
                return;
            }
            assert!(Instant::now() < deadline, "samba not ready within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        let ran = self.started.elapsed();
        if let Some(mut child) = self.child.take() {
            let t = Instant::now();
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{}", child.id())])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                    _ => {
                        let _ = Command::new("kill")
                            .args(["-KILL", "--", &format!("-{}", child.id())])
                            .status();
                        let _ = child.wait();
                        break;
                    }
                }
            }
            log(&format!(
                "{}: test {:.2} s, stop {:.2} s",
                self.name,
                ran.as_secs_f64(),
                t.elapsed().as_secs_f64()
            ));
        }
    }
}

fn ca_pem() -> String {
    fs::read_to_string(dc_dir().join("tls/ca.pem")).unwrap()
}

fn settings() -> DirectorySettings {
    let mut s = DirectorySettings::new(DOMAIN);
    s.domain_controllers = vec![DomainController::new("127.0.0.1")];
    s.tls.ca_bundle_pem = Some(ca_pem());
    s.timeout_seconds = 5;
    s
}

fn admin() -> Credentials {
    Credentials::new(ADMIN, PASS)
}

fn owner() -> AliasOwner {
    AliasOwner {
        owner: "default".into(),
        svm: "svm-0123456789abcdef0".into(),
    }
}

fn samba_tool(args: &[&str]) -> String {
    let conf = dc_dir().join("etc/smb.conf");
    run(Command::new("samba-tool").args(args).arg("-s").arg(&conf).args([
        "-H",
        "ldap://127.0.0.1",
        "--use-kerberos=off",
        "-U",
        &format!("CORP\\Administrator%{PASS}"),
    ]))
}

fn samba_tool_dns(args: &[&str]) -> String {
    let conf = dc_dir().join("etc/smb.conf");
    run(Command::new("samba-tool")
        .args(["dns"])
        .args(args)
        .arg("-s")
        .arg(&conf)
        .args(["--use-kerberos=off", "-U", &format!("CORP\\Administrator%{PASS}")]))
}

/// `ldapsearch` over LDAPS, verifying the DC's certificate with our CA.
fn ldapsearch(base: &str, filter: &str, attrs: &[&str]) -> String {
    run(Command::new("ldapsearch")
        .env("LDAPTLS_CACERT", dc_dir().join("tls/ca.pem"))
        .args([
            "-LLL",
            "-o",
            "ldif-wrap=no",
            "-H",
            "ldaps://127.0.0.1",
            "-x",
            "-D",
            ADMIN,
            "-w",
            PASS,
            "-b",
            base,
            filter,
        ])
        .args(attrs))
}

fn computer_attrs(name: &str) -> String {
    ldapsearch(
        "DC=corp,DC=non-97,DC=net",
        &format!("(sAMAccountName={name}$)"),
        &["servicePrincipalName", "msDS-AdditionalDnsHostName"],
    )
}

fn dig(name: &str, rtype: &str) -> String {
    run(Command::new("dig").args(["+norec", "+short", "+time=2", "+tries=1", "@127.0.0.1", name, rtype]))
        .trim()
        .to_string()
}

fn zone_nodes() -> String {
    ldapsearch(
        &format!("DC={DOMAIN},CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=non-97,DC=net"),
        "(objectClass=dnsNode)",
        &["name", "dNSTombstoned"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spns_are_added_once_and_only_ours_are_removed() {
    if skip("spns_are_added_once_and_only_ours_are_removed") {
        return;
    }
    let _dc = Dc::start("spns_are_added_once_and_only_ours_are_removed");
    samba_tool(&["computer", "add", SVM]);
    // An administrator already set the short SPN by hand: it is theirs, kept, never removed.
    samba_tool(&["spn", "add", "HOST/NON-97-SVM-ALIAS", &format!("{SVM}$")]);
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    assert!(dir.global_catalog().0, "{:?}", dir.global_catalog());

    let first = dir.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap();
    assert_eq!(
        first.added,
        vec![
            format!("msDS-AdditionalDnsHostName: {ALIAS}"),
            format!("servicePrincipalName: HOST/{ALIAS}")
        ]
    );
    assert_eq!(
        first.foreign,
        vec!["servicePrincipalName: HOST/NON-97-SVM-ALIAS".to_string()]
    );
    assert_eq!(
        first.record.to_tag_value(),
        format!("{ALIAS} dns+fqdn {}", guid_by_samba_tool(SVM))
    );
    let listed = samba_tool(&["spn", "list", &format!("{SVM}$")]);
    assert!(
        listed.contains(&format!("HOST/{ALIAS}")) && listed.contains("HOST/NON-97-SVM-ALIAS"),
        "{listed}"
    );
    let attrs = computer_attrs(SVM);
    assert!(
        attrs.contains(&format!("msDS-AdditionalDnsHostName: {ALIAS}")),
        "{attrs}"
    );

    // Re-run: nothing changes, the record stays what it was.
    let again = dir.ensure_spn(SVM, ALIAS, &first.record).await.unwrap();
    assert!(again.added.is_empty(), "{again:?}");
    assert_eq!(again.record, first.record);
    assert_eq!(computer_attrs(SVM), attrs);

    // Removal takes exactly ours: the administrator's short SPN stays.
    let removed = dir.remove_spn(SVM, &again.record).await.unwrap();
    assert_eq!(removed.removed.len(), 2, "{removed:?}");
    assert!(removed.record.added.is_empty());
    let after = computer_attrs(SVM);
    assert!(!after.contains("msDS-AdditionalDnsHostName"), "{after}");
    assert!(!after.contains(&format!("HOST/{ALIAS}")), "{after}");
    assert!(after.contains("servicePrincipalName: HOST/NON-97-SVM-ALIAS"), "{after}");
    // And again: nothing left of ours.
    let twice = dir.remove_spn(SVM, &removed.record).await.unwrap();
    assert!(twice.removed.is_empty());
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_spn_held_by_another_account_is_refused_with_its_dn() {
    if skip("an_spn_held_by_another_account_is_refused_with_its_dn") {
        return;
    }
    let _dc = Dc::start("an_spn_held_by_another_account_is_refused_with_its_dn");
    samba_tool(&["computer", "add", SVM]);
    samba_tool(&["computer", "add", "OTHER-SVM"]);
    // Held elsewhere in another case: the search must match case-insensitively.
    samba_tool(&["spn", "add", &format!("host/{}", ALIAS.to_uppercase()), "OTHER-SVM$"]);
    let before = computer_attrs(SVM);
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    let e = dir.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::SpnTaken, "{e}");
    assert_eq!(e.error_kind(), ErrorKind::Conflict);
    let holder = e.holder_dn.clone().unwrap();
    assert!(holder.to_ascii_uppercase().starts_with("CN=OTHER-SVM,"), "{holder}");
    assert!(e.message.contains(&holder), "{e}");
    // Nothing was written: not even the host name, which was free.
    assert_eq!(computer_attrs(SVM), before);
    assert!(!before.contains("msDS-AdditionalDnsHostName"));
    let other = samba_tool(&["spn", "list", "OTHER-SVM$"]);
    assert!(other.to_lowercase().contains(&format!("host/{ALIAS}")), "{other}");

    // cifs/<short name> elsewhere holds HOST/<SHORT> too (the KDC maps cifs onto HOST).
    samba_tool(&["spn", "delete", &format!("host/{}", ALIAS.to_uppercase()), "OTHER-SVM$"]);
    samba_tool(&["spn", "add", "cifs/non-97-svm-alias", "OTHER-SVM$"]);
    let e = dir.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::SpnTaken, "{e}");
    assert!(e.message.contains("HOST/NON-97-SVM-ALIAS"), "{e}");
    assert!(e.holder_dn.unwrap().to_ascii_uppercase().starts_with("CN=OTHER-SVM,"));
    assert_eq!(computer_attrs(SVM), before);
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alias_cname_resolves_repoints_and_is_withdrawn() {
    if skip("the_alias_cname_resolves_repoints_and_is_withdrawn") {
        return;
    }
    let _dc = Dc::start("the_alias_cname_resolves_repoints_and_is_withdrawn");
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    let o = owner();
    assert_eq!(
        dir.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &o).await.unwrap(),
        CnameChange::Created
    );
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET}."));
    let marker = dig(&format!("_fsxn-lattice.{ALIAS}"), "TXT");
    assert_eq!(
        marker,
        "\"heritage=fsxn-lattice,owner=default,svm=svm-0123456789abcdef0\""
    );
    // The TTL is served as written (big-endian in the record).
    let full = run(Command::new("dig").args(["+norec", "+noall", "+answer", "@127.0.0.1", ALIAS, "CNAME"]));
    assert!(full.split_whitespace().nth(1) == Some("300"), "{full}");

    assert_eq!(
        dir.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &o).await.unwrap(),
        CnameChange::Unchanged
    );
    assert_eq!(
        dir.ensure_alias_cname(DOMAIN, ALIAS, TARGET2, 300, &o).await.unwrap(),
        CnameChange::Repointed {
            from: TARGET.to_string()
        }
    );
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET2}."));
    assert!(
        dir.alias_state(DOMAIN, ALIAS, &o)
            .await
            .unwrap()
            .starts_with("ours -> vpce-0new")
    );

    // Another SVM's fsxn-lattice may not take it.
    let other = AliasOwner {
        owner: "default".into(),
        svm: "svm-0ffffffffffffffff".into(),
    };
    let e = dir
        .ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &other)
        .await
        .unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::RecordNotOurs, "{e}");
    assert!(matches!(
        dir.remove_alias_cname(DOMAIN, ALIAS, &other).await.unwrap(),
        CnameChange::LeftAlone(_)
    ));
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET2}."));

    assert_eq!(
        dir.remove_alias_cname(DOMAIN, ALIAS, &o).await.unwrap(),
        CnameChange::Removed
    );
    assert_eq!(dig(ALIAS, "CNAME"), "");
    assert_eq!(dig(&format!("_fsxn-lattice.{ALIAS}"), "TXT"), "");
    let nodes = zone_nodes();
    assert!(!nodes.contains("non-97-svm-alias"), "{nodes}");
    assert_eq!(
        dir.remove_alias_cname(DOMAIN, ALIAS, &o).await.unwrap(),
        CnameChange::Absent
    );

    // Published again after a withdrawal (and after a DNS-level delete that leaves a
    // tombstoned node behind).
    assert_eq!(
        dir.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &o).await.unwrap(),
        CnameChange::Created
    );
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET}."));
    samba_tool_dns(&["delete", "127.0.0.1", DOMAIN, "non-97-svm-alias", "CNAME", TARGET]);
    assert_eq!(dig(ALIAS, "CNAME"), "");
    // Our marker is still there, so the name is ours: re-published over the tombstone.
    assert_eq!(
        dir.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &o).await.unwrap(),
        CnameChange::Created
    );
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET}."));
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_is_not_ours_is_never_clobbered() {
    if skip("a_record_that_is_not_ours_is_never_clobbered") {
        return;
    }
    let _dc = Dc::start("a_record_that_is_not_ours_is_never_clobbered");
    // An administrator's CNAME at the alias, written through DNS RPC.
    samba_tool_dns(&[
        "add",
        "127.0.0.1",
        DOMAIN,
        "non-97-svm-alias",
        "CNAME",
        "fileserver.corp.non-97.net",
    ]);
    assert_eq!(dig(ALIAS, "CNAME"), "fileserver.corp.non-97.net.");
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    let e = dir
        .ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, &owner())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::RecordNotOurs, "{e}");
    assert_eq!(e.error_kind(), ErrorKind::Conflict);
    assert!(
        e.holder_dn.as_deref().unwrap().starts_with("DC=non-97-svm-alias,"),
        "{e:?}"
    );
    assert!(matches!(
        dir.remove_alias_cname(DOMAIN, ALIAS, &owner()).await.unwrap(),
        CnameChange::LeftAlone(_)
    ));
    // Theirs is intact and no marker was written.
    assert_eq!(dig(ALIAS, "CNAME"), "fileserver.corp.non-97.net.");
    assert_eq!(dig(&format!("_fsxn-lattice.{ALIAS}"), "TXT"), "");
    assert!(!zone_nodes().contains("_fsxn-lattice"));
    // A marker name held by someone else (an A record there) refuses too.
    samba_tool_dns(&["add", "127.0.0.1", DOMAIN, "_fsxn-lattice.other-alias", "A", "10.0.0.9"]);
    let e = dir
        .ensure_alias_cname(DOMAIN, "other-alias.corp.non-97.net", TARGET, 300, &owner())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::RecordNotOurs, "{e}");
    assert_eq!(dig("other-alias.corp.non-97.net", "CNAME"), "");
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_untrusted_certificate_and_unreachable_dc_fail_with_their_kind() {
    if skip("wrong_password_untrusted_certificate_and_unreachable_dc_fail_with_their_kind") {
        return;
    }
    let _dc = Dc::start("wrong_password_untrusted_certificate_and_unreachable_dc_fail_with_their_kind");
    let before = zone_nodes();

    let e = Directory::connect(&settings(), &Credentials::new(ADMIN, "Wrong-Passw0rd!"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::InvalidCredentials, "{e}");
    assert_eq!(e.error_kind(), ErrorKind::AccessDenied);
    assert!(!e.to_string().contains("Wrong-Passw0rd"), "{e}");

    let mut untrusted = settings();
    untrusted.tls.ca_bundle_pem = Some(fs::read_to_string(dc_dir().join("tls/other-ca.pem")).unwrap());
    let e = Directory::connect(&untrusted, &admin()).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::UntrustedCertificate, "{e}");
    assert_eq!(e.error_kind(), ErrorKind::InvalidInput);
    // StartTLS verifies the same way.
    untrusted.tls.mode = TlsMode::StartTls;
    let e = Directory::connect(&untrusted, &admin()).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::UntrustedCertificate, "{e}");
    // A name the certificate does not carry is refused too.
    let mut wrong_name = settings();
    wrong_name.domain_controllers = vec![DomainController {
        host: "dc2.corp.non-97.net".into(),
        port: None,
        address: Some("127.0.0.1".parse().unwrap()),
    }];
    let e = Directory::connect(&wrong_name, &admin()).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::UntrustedCertificate, "{e}");

    // A closed port on 127.0.0.1.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut unreachable = settings();
    unreachable.domain_controllers[0].port = Some(closed);
    let e = Directory::connect(&unreachable, &admin()).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::Unreachable, "{e}");
    assert_eq!(e.error_kind(), ErrorKind::Transient);

    // An unreachable DC first, a good one next: the good one is used.
    let mut fallback = settings();
    fallback
        .domain_controllers
        .insert(0, unreachable.domain_controllers[0].clone());
    let dir = Directory::connect(&fallback, &admin()).await.unwrap();
    assert_eq!(dir.controller(), "127.0.0.1");
    dir.close().await;

    // The insecure switch with a CA bundle is refused before any connection: the bundle would
    // be silently ignored.
    let mut insecure = settings();
    insecure.tls.ca_bundle_pem = Some(fs::read_to_string(dc_dir().join("tls/other-ca.pem")).unwrap());
    insecure.tls.insecure_skip_verify = true;
    let e = Directory::connect(&insecure, &admin()).await.unwrap_err();
    assert_eq!(e.kind, DirectoryErrorKind::InvalidInput, "{e}");
    assert!(e.message.contains("ca_bundle_pem"), "{e}");
    // Alone, named explicitly, it connects whatever the certificate (the DC's is not in the
    // system's roots).
    insecure.tls.ca_bundle_pem = None;
    Directory::connect(&insecure, &admin()).await.unwrap().close().await;

    assert_eq!(zone_nodes(), before, "nothing may be written by failed connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcs_located_through_srv_with_starttls_and_the_doctor_checks() {
    if skip("dcs_located_through_srv_with_starttls_and_the_doctor_checks") {
        return;
    }
    let _dc = Dc::start("dcs_located_through_srv_with_starttls_and_the_doctor_checks");
    samba_tool(&["computer", "add", SVM]);
    // Provisioning on a loopback address registers the SRV records but no A record for the DC.
    samba_tool_dns(&["add", "127.0.0.1", DOMAIN, "dc1", "A", "127.0.0.1"]);
    let mut s = settings();
    s.domain_controllers.clear();
    s.dns_servers = vec!["127.0.0.1".parse().unwrap()];
    s.tls.mode = TlsMode::StartTls;
    let dir = Directory::connect(&s, &admin()).await.unwrap();
    assert_eq!(
        dir.controller(),
        DC_NAME,
        "SRV _ldap._tcp.{DOMAIN} names the DC; TLS verified that name"
    );
    dir.close().await;

    let target = CheckTarget {
        computer: Some(SVM.into()),
        alias: Some(ALIAS.into()),
        zone: Some(DOMAIN.into()),
        owner: Some(owner()),
        record: None,
    };
    let report = check(&s, &admin(), &target).await;
    let summary: Vec<String> = report
        .iter()
        .map(|c| format!("{} {}: {}", c.status.symbol(), c.subject, c.message))
        .collect();
    eprintln!("{}", summary.join("\n"));
    for subject in [
        "dc reachable",
        "tls",
        "bind",
        "computer object",
        "zone writable",
        "alias record",
    ] {
        let c = report
            .iter()
            .find(|c| c.subject == subject)
            .unwrap_or_else(|| panic!("no {subject}: {summary:?}"));
        assert_eq!(c.status, fsxn_lattice_core::doctor::Status::Pass, "{summary:?}");
    }
    assert!(
        report
            .iter()
            .any(|c| c.subject == format!("servicePrincipalName HOST/{ALIAS}") && c.message == "free")
    );

    // A held SPN and a foreign record show up as failures, with who holds them.
    samba_tool(&["computer", "add", "OTHER-SVM"]);
    samba_tool(&["spn", "add", &format!("HOST/{ALIAS}"), "OTHER-SVM$"]);
    samba_tool_dns(&["add", "127.0.0.1", DOMAIN, "non-97-svm-alias", "A", "10.0.0.7"]);
    let report = check(&s, &admin(), &target).await;
    let spn = report
        .iter()
        .find(|c| c.subject == format!("servicePrincipalName HOST/{ALIAS}"))
        .unwrap();
    assert_eq!(spn.status, fsxn_lattice_core::doctor::Status::Fail);
    assert!(spn.message.to_ascii_uppercase().contains("CN=OTHER-SVM,"), "{spn:?}");
    let rec = report.iter().find(|c| c.subject == "alias record").unwrap();
    assert_eq!(rec.status, fsxn_lattice_core::doctor::Status::Fail, "{rec:?}");

    // A wrong password: reachable and TLS pass, the bind fails, nothing after it is claimed.
    let report = check(&s, &Credentials::new(ADMIN, "nope-Wrong1"), &target).await;
    let got: Vec<(&str, _)> = report.iter().map(|c| (c.subject.as_str(), c.status)).collect();
    use fsxn_lattice_core::doctor::Status::*;
    assert_eq!(got, vec![("dc reachable", Pass), ("tls", Pass), ("bind", Fail)]);
}

/// The core's port over LDAP ([`LdapDirectory`]), called as the applier and `observe` call it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_port_reads_and_writes_what_the_planner_asks_for() {
    use fsxn_lattice_core::ids::SvmId;
    use fsxn_lattice_core::ports::Directory as _;
    if skip("the_core_port_reads_and_writes_what_the_planner_asks_for") {
        return;
    }
    let _dc = Dc::start("the_core_port_reads_and_writes_what_the_planner_asks_for");
    samba_tool(&["computer", "add", SVM]);
    samba_tool(&["computer", "add", "OTHER-SVM"]);
    let port = LdapDirectory::new(Directory::connect(&settings(), &admin()).await.unwrap());
    let svm = SvmId::parse("svm-0123456789abcdef0").unwrap();

    assert_eq!(port.read_computer("NOBODY", ALIAS).await.unwrap(), None);
    let before = port.read_computer(SVM, ALIAS).await.unwrap().unwrap();
    assert!(
        before.dn.to_ascii_uppercase().starts_with("CN=NON-97-SVM,"),
        "{}",
        before.dn
    );
    assert!(before.held_elsewhere.is_empty(), "{before:?}");
    let record = port.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap();
    assert_eq!(record.to_tag_value(), format!("{ALIAS} dns+fqdn+short {}", before.guid));
    let after = port.read_computer(SVM, ALIAS).await.unwrap().unwrap();
    assert!(SpnValue::ALL.iter().all(|v| after.has(*v, ALIAS)), "{after:?}");

    // AD DNS: free, then ours at the endpoint, then repointed, then withdrawn.
    assert!(port.read_alias(DOMAIN, ALIAS).await.unwrap().is_empty());
    let made = port
        .ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, "default", &svm)
        .await
        .unwrap();
    assert_eq!(made, "created, with its marker");
    let state = port.read_alias(DOMAIN, ALIAS).await.unwrap();
    assert!(
        state.owned_by("default", svm.as_str()) && state.cname_targets == [TARGET],
        "{state:?}"
    );
    assert!(dig(ALIAS, "CNAME").contains(TARGET));
    let moved = port
        .ensure_alias_cname(DOMAIN, ALIAS, TARGET2, 300, "default", &svm)
        .await
        .unwrap();
    assert_eq!(moved, format!("repointed from {TARGET}"));
    assert_eq!(
        port.remove_alias_cname(DOMAIN, ALIAS, "default", &svm).await.unwrap(),
        "removed, with its marker"
    );
    assert!(port.read_alias(DOMAIN, ALIAS).await.unwrap().is_empty());

    // Opt-out removes exactly the record; then a value held elsewhere is seen and refused.
    assert_eq!(port.remove_spn(SVM, &record).await.unwrap().len(), 3);
    samba_tool(&["spn", "add", "cifs/non-97-svm-alias", "OTHER-SVM$"]);
    let held = port.read_computer(SVM, ALIAS).await.unwrap().unwrap();
    let holder = held.held_elsewhere.get(&SpnValue::HostShort).expect("held elsewhere");
    assert!(holder.to_ascii_uppercase().starts_with("CN=OTHER-SVM,"), "{holder}");
    let e = port.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Conflict);
    assert!(e.message.contains(holder.as_str()), "{e}");
    port.into_inner().close().await;
}

/// Runs `ldapmodify` over LDAPS with `ldif` on its standard input: an administrator's change,
/// made without the crate.
fn ldapmodify(ldif: &str) {
    use std::io::Write;
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", dc_dir().join("tls/ca.pem"))
        .args(["-H", "ldaps://127.0.0.1", "-x", "-D", ADMIN, "-w", PASS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(ldif.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ldapmodify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The computer's objectGUID as stored: the 16 bytes `ldapsearch` prints in base64
/// (`objectGUID:: …`, binary), decoded by coreutils' `base64`.
fn guid_bytes_by_ldapsearch(name: &str) -> Vec<u8> {
    let out = ldapsearch(
        "DC=corp,DC=non-97,DC=net",
        &format!("(sAMAccountName={name}$)"),
        &["objectGUID"],
    );
    let b64 = out
        .lines()
        .find_map(|l| l.strip_prefix("objectGUID:: "))
        .unwrap_or_else(|| panic!("no base64 objectGUID in {out}"));
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b64.as_bytes()).unwrap();
    }
    let bytes = child.wait_with_output().unwrap().stdout;
    assert_eq!(bytes.len(), 16, "{b64}");
    bytes
}

/// The computer's objectGUID as Samba's own tool prints it (ldb formats GUIDs as AD displays
/// them): a check of the byte order independent of the crate's formatting.
fn guid_by_samba_tool(name: &str) -> String {
    let out = samba_tool(&["computer", "show", name]);
    out.lines()
        .find_map(|l| l.strip_prefix("objectGUID: "))
        .unwrap_or_else(|| panic!("no objectGUID in {out}"))
        .trim()
        .to_string()
}

/// Runs `nsupdate` with `script` (unsigned: the DC allows nonsecure updates).
fn nsupdate(script: &str) {
    use std::io::Write;
    let mut child = Command::new("nsupdate")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsupdate failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The TTL `dig` is served for `name`'s `rtype` (the answer's second field).
fn dig_ttl(name: &str, rtype: &str) -> Option<u32> {
    let full = run(Command::new("dig").args([
        "+norec",
        "+noall",
        "+answer",
        "+time=2",
        "+tries=1",
        "-p",
        "53",
        "@127.0.0.1",
        name,
        rtype,
    ]));
    full.lines().find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_computer_is_read_with_the_guid_and_host_name_ad_holds() {
    use fsxn_lattice_core::directory::parse_object_guid;
    use fsxn_lattice_core::ports::Directory as _;
    if skip("the_computer_is_read_with_the_guid_and_host_name_ad_holds") {
        return;
    }
    let _dc = Dc::start("the_computer_is_read_with_the_guid_and_host_name_ad_holds");
    samba_tool(&["computer", "add", SVM]);
    samba_tool(&["computer", "add", "OTHER-SVM"]);
    let port = LdapDirectory::new(Directory::connect(&settings(), &admin()).await.unwrap());
    let state = port.read_computer(SVM, ALIAS).await.unwrap().unwrap();
    // The same 16 bytes as ldapsearch's, and the same text as Samba's own display.
    assert_eq!(
        parse_object_guid(&state.guid).map(Vec::from),
        Some(guid_bytes_by_ldapsearch(SVM)),
        "{}",
        state.guid
    );
    assert_eq!(state.guid, guid_by_samba_tool(SVM));
    assert_eq!(state.guid, state.guid.to_ascii_lowercase());
    assert_ne!(
        port.read_computer("OTHER-SVM", ALIAS).await.unwrap().unwrap().guid,
        state.guid
    );
    // `samba-tool computer add` sets no dNSHostName; an administrator's, in upper case, is read
    // normalized.
    assert_eq!(state.dns_host_name, None);
    ldapmodify(&format!(
        "dn: {}\nchangetype: modify\nreplace: dNSHostName\ndNSHostName: NON-97-SVM.CORP.NON-97.NET\n",
        state.dn
    ));
    let state = port.read_computer(SVM, ALIAS).await.unwrap().unwrap();
    assert_eq!(state.dns_host_name.as_deref(), Some("non-97-svm.corp.non-97.net"));
    port.into_inner().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_computer_recreated_under_its_name_is_another_object_and_not_ours() {
    if skip("a_computer_recreated_under_its_name_is_another_object_and_not_ours") {
        return;
    }
    let _dc = Dc::start("a_computer_recreated_under_its_name_is_another_object_and_not_ours");
    samba_tool(&["computer", "add", SVM]);
    let old_guid = guid_by_samba_tool(SVM);
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    let old = dir.ensure_spn(SVM, ALIAS, &SpnRecord::empty(ALIAS)).await.unwrap();
    assert_eq!(old.record.account.as_deref(), Some(old_guid.as_str()));
    assert_eq!(old.record.to_tag_value(), format!("{ALIAS} dns+fqdn+short {old_guid}"));

    // The SVM's account is deleted and re-created (a re-join); an administrator puts the host
    // name and the FQDN SPN on the new one by hand.
    samba_tool(&["computer", "delete", SVM]);
    samba_tool(&["computer", "add", SVM]);
    let new_guid = guid_by_samba_tool(SVM);
    assert_ne!(new_guid, old_guid);
    samba_tool(&["spn", "add", &format!("HOST/{ALIAS}"), &format!("{SVM}$")]);
    let dn = ldapsearch(
        "DC=corp,DC=non-97,DC=net",
        &format!("(sAMAccountName={SVM}$)"),
        &["1.1"],
    );
    let dn = dn.lines().find_map(|l| l.strip_prefix("dn: ")).unwrap().to_string();
    ldapmodify(&format!(
        "dn: {dn}\nchangetype: modify\nadd: msDS-AdditionalDnsHostName\nmsDS-AdditionalDnsHostName: {ALIAS}\n"
    ));
    let theirs = computer_attrs(SVM);
    assert!(
        theirs.contains(&format!("servicePrincipalName: HOST/{ALIAS}"))
            && theirs.contains(&format!("msDS-AdditionalDnsHostName: {ALIAS}")),
        "{theirs}"
    );

    // The old record names the deleted object: nothing is removed from the new one.
    let removed = dir.remove_spn(SVM, &old.record).await.unwrap();
    assert!(removed.removed.is_empty(), "{removed:?}");
    assert_eq!(computer_attrs(SVM), theirs);

    // Nor does ensure claim the administrator's values: only what it adds is ours.
    let now = dir.ensure_spn(SVM, ALIAS, &old.record).await.unwrap();
    assert_eq!(now.record.account.as_deref(), Some(new_guid.as_str()));
    assert_eq!(now.record.to_tag_value(), format!("{ALIAS} short {new_guid}"));
    assert_eq!(now.added, ["servicePrincipalName: HOST/NON-97-SVM-ALIAS"]);
    assert_eq!(
        now.foreign,
        [
            format!("msDS-AdditionalDnsHostName: {ALIAS}"),
            format!("servicePrincipalName: HOST/{ALIAS}")
        ]
    );
    // Removing the new record takes exactly what it added; the administrator's values stay.
    let removed = dir.remove_spn(SVM, &now.record).await.unwrap();
    assert_eq!(removed.removed, ["servicePrincipalName: HOST/NON-97-SVM-ALIAS"]);
    assert_eq!(computer_attrs(SVM), theirs);

    // A record from before the GUID was kept (two tokens) still acts by name.
    let legacy = SpnRecord::parse_tag_value(&format!("{ALIAS} fqdn")).unwrap();
    assert_eq!(legacy.account, None);
    let removed = dir.remove_spn(SVM, &legacy).await.unwrap();
    assert_eq!(removed.removed, [format!("servicePrincipalName: HOST/{ALIAS}")]);
    assert!(!computer_attrs(SVM).contains(&format!("HOST/{ALIAS}")));
    dir.close().await;
}

/// A record is an SVM tag, which whoever may tag the SVM can write: one naming another
/// computer's objectGUID, or the SVM's own join-time names, makes the bind account remove
/// nothing (checked with ldapsearch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_record_never_touches_another_computer_or_an_accounts_own_names() {
    if skip("a_forged_record_never_touches_another_computer_or_an_accounts_own_names") {
        return;
    }
    let _dc = Dc::start("a_forged_record_never_touches_another_computer_or_an_accounts_own_names");
    samba_tool(&["computer", "add", SVM]);
    samba_tool(&["computer", "add", "FILER2"]);
    let filer2 = "filer2.corp.non-97.net";
    samba_tool(&["spn", "add", &format!("HOST/{filer2}"), "FILER2$"]);
    samba_tool(&["spn", "add", "HOST/FILER2", "FILER2$"]);
    let victim = computer_attrs("FILER2");
    assert!(
        victim.contains(&format!("servicePrincipalName: HOST/{filer2}")),
        "{victim}"
    );
    let dir = Directory::connect(&settings(), &admin()).await.unwrap();
    // The other computer's GUID, its host name as the "alias", every value claimed.
    let mut forged = SpnRecord::empty(filer2);
    forged.added.extend(SpnValue::ALL);
    forged.account = Some(guid_by_samba_tool("FILER2"));
    let removed = dir.remove_spn(SVM, &forged).await.unwrap();
    assert!(removed.removed.is_empty(), "{removed:?}");
    assert_eq!(computer_attrs("FILER2"), victim);
    // The SVM's own account, its own join-time host name as the "alias".
    samba_tool(&[
        "spn",
        "add",
        &format!("HOST/{}.corp.non-97.net", SVM.to_ascii_lowercase()),
        &format!("{SVM}$"),
    ]);
    samba_tool(&["spn", "add", &format!("HOST/{SVM}"), &format!("{SVM}$")]);
    let own = computer_attrs(SVM);
    let mut forged = SpnRecord::empty(format!("{}.corp.non-97.net", SVM.to_ascii_lowercase()));
    forged.added.extend(SpnValue::ALL);
    forged.account = Some(guid_by_samba_tool(SVM));
    let removed = dir.remove_spn(SVM, &forged).await.unwrap();
    assert!(removed.removed.is_empty(), "{removed:?}");
    assert_eq!(computer_attrs(SVM), own);
    dir.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_are_listed_from_the_zone_and_a_new_ttl_is_served() {
    use fsxn_lattice_core::directory::marker;
    use fsxn_lattice_core::ids::SvmId;
    use fsxn_lattice_core::ports::Directory as _;
    if skip("markers_are_listed_from_the_zone_and_a_new_ttl_is_served") {
        return;
    }
    let _dc = Dc::start("markers_are_listed_from_the_zone_and_a_new_ttl_is_served");
    let port = LdapDirectory::new(Directory::connect(&settings(), &admin()).await.unwrap());
    let svm = SvmId::parse("svm-0123456789abcdef0").unwrap();
    let other_svm = SvmId::parse("svm-0ffffffffffffffff").unwrap();
    let other_alias = "second-alias.corp.non-97.net";
    assert_eq!(port.list_alias_markers(DOMAIN).await.unwrap(), []);

    port.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 300, "default", &svm)
        .await
        .unwrap();
    // Another deployment's alias is listed too (whoever's: the caller reads the marker).
    port.ensure_alias_cname(DOMAIN, other_alias, TARGET2, 300, "other", &other_svm)
        .await
        .unwrap();
    // An administrator's CNAME has no marker: not listed.
    samba_tool_dns(&[
        "add",
        "127.0.0.1",
        DOMAIN,
        "plain-cname",
        "CNAME",
        "fileserver.corp.non-97.net",
    ]);
    assert_eq!(
        dig("plain-cname.corp.non-97.net", "CNAME"),
        "fileserver.corp.non-97.net."
    );
    let ours = marker("default", svm.as_str());
    let theirs = marker("other", other_svm.as_str());
    assert_eq!(
        port.list_alias_markers(DOMAIN).await.unwrap(),
        [
            (ALIAS.to_string(), ours.clone()),
            (other_alias.to_string(), theirs.clone())
        ]
    );
    // What dig serves at the marker names is what was listed.
    assert_eq!(dig(&format!("_fsxn-lattice.{ALIAS}"), "TXT"), format!("\"{ours}\""));

    // A marker deleted by a DNS update (RFC 2136) leaves a tombstoned node behind: not listed.
    nsupdate(&format!(
        "server 127.0.0.1 53\nzone {DOMAIN}\nupdate delete _fsxn-lattice.{other_alias}. TXT\nsend\n"
    ));
    assert_eq!(dig(&format!("_fsxn-lattice.{other_alias}"), "TXT"), "");
    let nodes = ldapsearch(
        &format!("DC={DOMAIN},CN=MicrosoftDNS,DC=DomainDnsZones,DC=corp,DC=non-97,DC=net"),
        "(name=_fsxn-lattice.second-alias)",
        &["dNSTombstoned"],
    );
    assert!(nodes.contains("dNSTombstoned: TRUE"), "{nodes}");
    assert_eq!(
        port.list_alias_markers(DOMAIN).await.unwrap(),
        [(ALIAS.to_string(), ours.clone())]
    );

    // A new TTL on our record, the target unchanged: rewritten, and served.
    assert_eq!(dig_ttl(ALIAS, "CNAME"), Some(300));
    assert_eq!(port.read_alias(DOMAIN, ALIAS).await.unwrap().ttl, Some(300));
    let done = port
        .ensure_alias_cname(DOMAIN, ALIAS, TARGET, 60, "default", &svm)
        .await
        .unwrap();
    assert_eq!(done, "ttl 300 → 60");
    assert_eq!(dig_ttl(ALIAS, "CNAME"), Some(60));
    assert_eq!(dig(ALIAS, "CNAME"), format!("{TARGET}."));
    assert_eq!(port.read_alias(DOMAIN, ALIAS).await.unwrap().ttl, Some(60));
    assert_eq!(
        port.ensure_alias_cname(DOMAIN, ALIAS, TARGET, 60, "default", &svm)
            .await
            .unwrap(),
        "unchanged"
    );
    port.into_inner().close().await;
}
