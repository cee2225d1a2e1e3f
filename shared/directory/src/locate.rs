//! Locating domain controllers through DNS SRV (`_ldap._tcp.<domain>`, [MS-ADTS] §6.3.2
//! "DNS Record Registrations"), with a minimal DNS client over UDP (RFC 1035 §4): one question,
//! answers read with name compression, every length checked.

use crate::dnsp::normalize_name;
use crate::error::{DirectoryError, DirectoryErrorKind};
use crate::settings::DomainController;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

const TYPE_A: u16 = 1;
const TYPE_SRV: u16 = 33;

/// One SRV answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower first.
    pub priority: u16,
    /// Higher first among equal priorities.
    pub weight: u16,
    /// The port.
    pub port: u16,
    /// The target host.
    pub target: String,
}

/// The DNS servers of `/etc/resolv.conf`.
pub fn system_dns_servers() -> Vec<IpAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// The DCs of `domain` by `_ldap._tcp.<domain>` SRV, ordered (priority, then weight), each with
/// the address its target resolves to through the same DNS servers (so TLS verifies the
/// target's name while we connect to the address).
pub async fn locate_dcs(
    domain: &str,
    servers: &[IpAddr],
    timeout: Duration,
) -> Result<Vec<DomainController>, DirectoryError> {
    let op = "locate domain controllers";
    let domain = normalize_name(domain)
        .map_err(|e| DirectoryError::new(DirectoryErrorKind::InvalidInput, op, format!("domain {domain:?}: {e}")))?;
    let servers: Vec<IpAddr> = if servers.is_empty() {
        system_dns_servers()
    } else {
        servers.to_vec()
    };
    if servers.is_empty() {
        return Err(DirectoryError::new(
            DirectoryErrorKind::InvalidInput,
            op,
            "no DNS server configured or in /etc/resolv.conf",
        ));
    }
    let qname = format!("_ldap._tcp.{domain}");
    let mut last = None;
    for server in &servers {
        let srvs = match query(*server, &qname, TYPE_SRV, timeout).await {
            Ok(answers) => parse_srvs(&answers),
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let mut srvs = srvs;
        // Plain DNS is not authenticated: a spoofed answer naming a host outside the domain
        // (with a certificate a public CA issued for it) would receive the bind password. A
        // DC of the domain is named inside it; others are left out.
        let outside: Vec<String> = srvs
            .iter()
            .filter(|s| !in_domain(&s.target, &domain))
            .map(|s| s.target.clone())
            .collect();
        srvs.retain(|s| in_domain(&s.target, &domain));
        if srvs.is_empty() && !outside.is_empty() {
            return Err(DirectoryError::new(
                DirectoryErrorKind::InvalidInput,
                op,
                format!(
                    "{qname} at {server} names only hosts outside {domain} ({}): refused, a spoofed answer would get the password; name the domain controllers in [directory] instead",
                    outside.join(", ")
                ),
            ));
        }
        if srvs.is_empty() {
            return Err(DirectoryError::new(
                DirectoryErrorKind::NotFound,
                op,
                format!("{qname} has no SRV record at {server}"),
            ));
        }
        srvs.sort_by(|a, b| {
            a.priority
                .cmp(&b.priority)
                .then(b.weight.cmp(&a.weight))
                .then(a.target.cmp(&b.target))
        });
        let mut dcs = Vec::new();
        for s in srvs {
            let address = match query(*server, &s.target, TYPE_A, timeout).await {
                Ok(answers) => answers.iter().find_map(|a| match a {
                    Answer::A(ip) => Some(IpAddr::V4(*ip)),
                    _ => None,
                }),
                Err(_) => None,
            };
            dcs.push(DomainController {
                host: s.target,
                port: None,
                address,
            });
        }
        return Ok(dcs);
    }
    Err(last.unwrap_or_else(|| DirectoryError::new(DirectoryErrorKind::Unreachable, op, "no DNS server answered")))
}

/// Whether `host` is `domain` or a name inside it (both normalized: lower case, no final dot).
fn in_domain(host: &str, domain: &str) -> bool {
    host == domain || host.strip_suffix(domain).is_some_and(|rest| rest.ends_with('.'))
}

/// A decoded answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    A(Ipv4Addr),
    Srv(Srv),
    Other,
}

fn parse_srvs(answers: &[Answer]) -> Vec<Srv> {
    answers
        .iter()
        .filter_map(|a| match a {
            Answer::Srv(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

async fn query(server: IpAddr, name: &str, qtype: u16, timeout: Duration) -> Result<Vec<Answer>, DirectoryError> {
    let op = "DNS lookup";
    let unreachable = |m: String| DirectoryError::new(DirectoryErrorKind::Unreachable, op, m);
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        "[::]:0".parse().map_err(|_| unreachable("bind".into()))?
    };
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| unreachable(format!("UDP socket: {e}")))?;
    let id = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        & 0xffff) as u16;
    let q = build_query(id, name, qtype)?;
    sock.send_to(&q, (server, 53))
        .await
        .map_err(|e| unreachable(format!("{server}: {e}")))?;
    let mut buf = vec![0u8; 4096];
    let n = loop {
        let (n, from) = tokio::time::timeout(timeout, sock.recv_from(&mut buf))
            .await
            .map_err(|_| unreachable(format!("{server} did not answer {name} in time")))?
            .map_err(|e| unreachable(format!("{server}: {e}")))?;
        if from.ip() == server && n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            break n;
        }
    };
    parse_response(&buf[..n], id)
        .map_err(|m| DirectoryError::new(DirectoryErrorKind::Protocol, op, format!("{server} for {name}: {m}")))
}

fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, DirectoryError> {
    let name = normalize_name(name)
        .map_err(|e| DirectoryError::new(DirectoryErrorKind::InvalidInput, "DNS lookup", e.to_string()))?;
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    Ok(q)
}

fn be16(b: &[u8], i: usize) -> Result<u16, String> {
    b.get(i..i + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| "truncated".to_string())
}

/// Reads a (possibly compressed) name at `i`: the name and the offset after it in place.
fn read_name(b: &[u8], mut i: usize) -> Result<(String, usize), String> {
    let mut labels = Vec::new();
    let mut end = None;
    let mut jumps = 0;
    loop {
        let len = *b.get(i).ok_or("name runs past the message")?;
        match len {
            0 => {
                i += 1;
                break;
            }
            l if l & 0xC0 == 0xC0 => {
                let ptr = usize::from(be16(b, i)? & 0x3FFF);
                end.get_or_insert(i + 2);
                jumps += 1;
                if jumps > 32 || ptr >= b.len() {
                    return Err("name compression loop".into());
                }
                i = ptr;
            }
            l if l <= 63 => {
                let label = b
                    .get(i + 1..i + 1 + usize::from(l))
                    .ok_or("label runs past the message")?;
                labels.push(String::from_utf8_lossy(label).into_owned());
                i += 1 + usize::from(l);
            }
            _ => return Err("bad label length".into()),
        }
    }
    Ok((labels.join("."), end.unwrap_or(i)))
}

fn parse_response(b: &[u8], id: u16) -> Result<Vec<Answer>, String> {
    if be16(b, 0)? != id {
        return Err("wrong id".into());
    }
    let flags = be16(b, 2)?;
    if flags & 0x8000 == 0 {
        return Err("not a response".into());
    }
    let rcode = flags & 0x000F;
    if rcode == 3 {
        return Ok(Vec::new()); // NXDOMAIN
    }
    if rcode != 0 {
        return Err(format!("DNS rcode {rcode}"));
    }
    let qd = be16(b, 4)?;
    let an = be16(b, 6)?;
    let mut i = 12;
    for _ in 0..qd {
        i = read_name(b, i)?.1 + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        let (_, j) = read_name(b, i)?;
        let rtype = be16(b, j)?;
        let rdlen = usize::from(be16(b, j + 8)?);
        let rd = j + 10;
        let rdata = b.get(rd..rd + rdlen).ok_or("rdata runs past the message")?;
        out.push(match rtype {
            TYPE_A if rdlen == 4 => Answer::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            TYPE_SRV if rdlen >= 7 => {
                let (target, _) = read_name(b, rd + 6)?;
                Answer::Srv(Srv {
                    priority: be16(b, rd)?,
                    weight: be16(b, rd + 2)?,
                    port: be16(b, rd + 4)?,
                    target: normalize_name(&target).map_err(|e| e.to_string())?,
                })
            }
            _ => Answer::Other,
        });
        i = rd + rdlen;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hosts_inside_the_domain_count_as_its_domain_controllers() {
        assert!(in_domain("dc1.corp.example", "corp.example"));
        assert!(in_domain("corp.example", "corp.example"));
        assert!(!in_domain("dc1.evilcorp.example", "corp.example"));
        assert!(!in_domain("corp.example.attacker.net", "corp.example"));
        assert!(!in_domain("dc1.example", "corp.example"));
    }

    #[test]
    fn parses_a_compressed_srv_answer_and_refuses_loops() {
        let mut m = build_query(7, "_ldap._tcp.corp.example", TYPE_SRV).unwrap();
        m[2] = 0x85; // response, AA, RD
        m[3] = 0x80;
        m[7] = 1; // one answer
        // answer: name = pointer to the question (offset 12), SRV, IN, TTL, rdata
        m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60]);
        let target = b"\x03dc1\xC0\x17"; // dc1 + pointer to "corp.example" in the question
        let rd_len = 6 + target.len();
        m.extend_from_slice(&(rd_len as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 100, 1, 0x7C]);
        m.extend_from_slice(target);
        let answers = parse_response(&m, 7).unwrap();
        assert_eq!(
            answers,
            vec![Answer::Srv(Srv {
                priority: 0,
                weight: 100,
                port: 380,
                target: "dc1.corp.example".into()
            })]
        );
        // a pointer to itself
        let mut looped = m.clone();
        let at = looped.len() - 2;
        looped[at] = 0xC0;
        looped[at + 1] = (at - 4) as u8;
        let _ = parse_response(&looped, 7); // must return, not hang or panic
        let self_ptr = [0xC0u8, 0];
        assert!(read_name(&self_ptr, 0).is_err());
        for cut in 0..m.len() {
            assert!(parse_response(&m[..cut], 7).is_err() || cut >= m.len());
        }
    }
}
