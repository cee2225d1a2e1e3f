//! The `dnsRecord` attribute of an AD-integrated DNS zone's `dnsNode` objects: one value per
//! resource record, each a DNS_RPC_RECORD as [MS-DNSP] §2.3.2.2 "dnsRecord" lays it out
//! (<https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-dnsp/6912b338-5472-4f59-b912-0edb536b6ed8>):
//!
//! ```text
//! DataLength u16 LE | Type u16 LE | Version u8 (=5) | Rank u8 | Flags u16 (=0) | Serial u32 LE
//! TtlSeconds u32 BIG-ENDIAN | Reserved u32 (=0) | TimeStamp u32 LE (0 = static) | Data
//! ```
//!
//! The TTL is the one big-endian field of an otherwise little-endian header (a record written
//! with a little-endian TTL of 300 is served with a TTL of 738,263,040 s). Name data (CNAME, NS,
//! PTR, …) is a DNS_COUNT_NAME ([MS-DNSP] §2.2.2.2.2): the length of the raw name including its
//! terminating zero, the label count, the length-prefixed labels, a zero byte; TXT data is a
//! sequence of length-prefixed strings (DNS_RPC_RECORD_STRING). Samba's `librpc/ndr/ndr_dnsp.c`
//! encodes names the same way (total length = wire length of the labels + the terminator).
//!
//! Everything here is bytes in, records out: no LDAP, no network. Decoding validates every length
//! against the buffer and refuses what it cannot read whole (a record this module cannot decode
//! is never taken for one of ours).

use std::net::Ipv4Addr;

/// Size of the fixed header before `Data`.
pub const HEADER_LEN: usize = 24;
/// The `Version` every record carries.
pub const VERSION: u8 = 5;
/// `RANK_ZONE` (0xF0): an authoritative record of the zone, what `dnscmd`/Samba write.
pub const RANK_ZONE: u8 = 0xF0;
/// DNS_TYPE_ZERO: the type of a tombstone (a record deleted through DNS; the node stays,
/// `dNSTombstoned` TRUE, until the DC's scavenging removes it).
pub const TYPE_TOMBSTONE: u16 = 0;
/// DNS_TYPE_A.
pub const TYPE_A: u16 = 1;
/// DNS_TYPE_CNAME.
pub const TYPE_CNAME: u16 = 5;
/// DNS_TYPE_TXT.
pub const TYPE_TXT: u16 = 16;

/// Longest label ([RFC 1035] §2.3.4).
pub const MAX_LABEL: usize = 63;
/// Longest name in wire form, length octets and terminator included ([RFC 1035] §2.3.4).
pub const MAX_WIRE_NAME: usize = 255;

/// Why bytes are not a record we can read, or a record cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnspError {
    /// Shorter than the header or than `DataLength` says.
    #[error("truncated: {0}")]
    Truncated(&'static str),
    /// More bytes than `DataLength` accounts for.
    #[error("{0} trailing bytes after the record data")]
    Trailing(usize),
    /// A `Version` other than 5.
    #[error("unsupported record version {0}")]
    Version(u8),
    /// A name that is not a host name we write or read.
    #[error("invalid DNS name: {0}")]
    Name(String),
    /// Data that does not fit its field.
    #[error("too long: {0}")]
    TooLong(&'static str),
}

/// The type-specific half of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// CNAME: the canonical name (lower case, no trailing dot).
    Cname(String),
    /// TXT: its strings.
    Txt(Vec<Vec<u8>>),
    /// A: an IPv4 address.
    A(Ipv4Addr),
    /// Anything else (tombstones included), kept as read.
    Other {
        /// DNS_RECORD_TYPE.
        record_type: u16,
        /// `Data`, raw.
        data: Vec<u8>,
    },
}

/// One `dnsRecord` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// `Rank`: [`RANK_ZONE`] for what we write.
    pub rank: u8,
    /// `Serial`: the zone's SOA serial when written.
    pub serial: u32,
    /// `TtlSeconds`.
    pub ttl: u32,
    /// `TimeStamp`: hours since 1601 for a dynamic (scavengeable) record, 0 for a static one.
    pub timestamp: u32,
    /// The data.
    pub data: RecordData,
}

impl DnsRecord {
    /// A static, zone-ranked CNAME record to `target` (validated and normalised).
    pub fn cname(target: &str, ttl: u32, serial: u32) -> Result<Self, DnspError> {
        Ok(Self {
            rank: RANK_ZONE,
            serial,
            ttl,
            timestamp: 0,
            data: RecordData::Cname(normalize_name(target)?),
        })
    }

    /// A static, zone-ranked TXT record of one string.
    pub fn txt(text: &str, ttl: u32, serial: u32) -> Result<Self, DnspError> {
        if text.len() > 255 {
            return Err(DnspError::TooLong("a TXT string is at most 255 bytes"));
        }
        Ok(Self {
            rank: RANK_ZONE,
            serial,
            ttl,
            timestamp: 0,
            data: RecordData::Txt(vec![text.as_bytes().to_vec()]),
        })
    }

    /// DNS_RECORD_TYPE of the data.
    pub fn record_type(&self) -> u16 {
        match &self.data {
            RecordData::Cname(_) => TYPE_CNAME,
            RecordData::Txt(_) => TYPE_TXT,
            RecordData::A(_) => TYPE_A,
            RecordData::Other { record_type, .. } => *record_type,
        }
    }

    /// Whether this is a tombstone (the record was deleted through DNS).
    pub fn is_tombstone(&self) -> bool {
        self.record_type() == TYPE_TOMBSTONE
    }

    /// The value of a `dnsRecord` attribute.
    pub fn encode(&self) -> Result<Vec<u8>, DnspError> {
        let data = match &self.data {
            RecordData::Cname(name) => encode_count_name(name)?,
            RecordData::Txt(strings) => {
                let mut out = Vec::new();
                for s in strings {
                    let len =
                        u8::try_from(s.len()).map_err(|_| DnspError::TooLong("a TXT string is at most 255 bytes"))?;
                    out.push(len);
                    out.extend_from_slice(s);
                }
                out
            }
            RecordData::A(ip) => ip.octets().to_vec(),
            RecordData::Other { data, .. } => data.clone(),
        };
        let len = u16::try_from(data.len()).map_err(|_| DnspError::TooLong("record data is at most 65535 bytes"))?;
        let mut out = Vec::with_capacity(HEADER_LEN + data.len());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.record_type().to_le_bytes());
        out.push(VERSION);
        out.push(self.rank);
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Reads a `dnsRecord` value. CNAME, TXT and A data are decoded (and must decode whole);
    /// other types are kept raw.
    pub fn decode(bytes: &[u8]) -> Result<Self, DnspError> {
        if bytes.len() < HEADER_LEN {
            return Err(DnspError::Truncated("shorter than the 24-byte header"));
        }
        let u16le = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32le = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let data_len = usize::from(u16le(0));
        let record_type = u16le(2);
        if bytes[4] != VERSION {
            return Err(DnspError::Version(bytes[4]));
        }
        let rank = bytes[5];
        let serial = u32le(8);
        let ttl = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        let timestamp = u32le(20);
        let rest = &bytes[HEADER_LEN..];
        if rest.len() < data_len {
            return Err(DnspError::Truncated("shorter than DataLength"));
        }
        if rest.len() > data_len {
            return Err(DnspError::Trailing(rest.len() - data_len));
        }
        let data = match record_type {
            TYPE_CNAME => {
                let (name, used) = decode_count_name(rest)?;
                if used != rest.len() {
                    return Err(DnspError::Trailing(rest.len() - used));
                }
                RecordData::Cname(name)
            }
            TYPE_TXT => {
                let mut strings = Vec::new();
                let mut i = 0;
                while i < rest.len() {
                    let n = usize::from(rest[i]);
                    let s = rest
                        .get(i + 1..i + 1 + n)
                        .ok_or(DnspError::Truncated("a TXT string runs past the data"))?;
                    strings.push(s.to_vec());
                    i += 1 + n;
                }
                RecordData::Txt(strings)
            }
            TYPE_A => {
                let o: [u8; 4] = rest.try_into().map_err(|_| DnspError::Truncated("A data is 4 bytes"))?;
                RecordData::A(Ipv4Addr::from(o))
            }
            _ => RecordData::Other {
                record_type,
                data: rest.to_vec(),
            },
        };
        Ok(Self {
            rank,
            serial,
            ttl,
            timestamp,
            data,
        })
    }
}

/// Validates and normalises a host name: ASCII letters, digits, `-` and `_` (for `_service`
/// labels), labels of 1–63 characters, lower-cased, one trailing dot accepted and dropped, at
/// most 255 bytes in wire form. Non-ASCII (an IDN not in its `xn--` form) is refused, not
/// guessed at.
pub fn normalize_name(name: &str) -> Result<String, DnspError> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(DnspError::Name("empty name".into()));
    }
    let mut wire = 1; // the terminating zero
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(DnspError::Name(format!("empty label in {name:?}")));
        }
        if label.len() > MAX_LABEL {
            return Err(DnspError::Name(format!(
                "label of {} characters (at most {MAX_LABEL}) in {name:?}",
                label.len()
            )));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(DnspError::Name(format!(
                "character {c:?} in {name:?}: only ASCII letters, digits, '-' and '_' (use the xn-- form of an IDN)"
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DnspError::Name(format!("label {label:?} starts or ends with '-'")));
        }
        wire += 1 + label.len();
    }
    if wire > MAX_WIRE_NAME {
        return Err(DnspError::Name(format!(
            "{wire} bytes in wire form (at most {MAX_WIRE_NAME})"
        )));
    }
    Ok(bare.to_ascii_lowercase())
}

/// DNS_COUNT_NAME of a (valid) name.
pub fn encode_count_name(name: &str) -> Result<Vec<u8>, DnspError> {
    let name = normalize_name(name)?;
    let labels: Vec<&str> = name.split('.').collect();
    let raw_len = labels.iter().map(|l| 1 + l.len()).sum::<usize>() + 1;
    let mut out = Vec::with_capacity(2 + raw_len);
    // normalize_name bounds both: ≤ 255 bytes, hence ≤ 127 labels.
    out.push(u8::try_from(raw_len).map_err(|_| DnspError::TooLong("name"))?);
    out.push(u8::try_from(labels.len()).map_err(|_| DnspError::TooLong("name"))?);
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    Ok(out)
}

/// Reads a DNS_COUNT_NAME: the name (lower case, no trailing dot) and the bytes used. The label
/// count must match the labels, the raw name must end with its zero byte within its stated
/// length (pad bytes after it are allowed, as Samba allows them), and the name must be a valid
/// host name.
pub fn decode_count_name(bytes: &[u8]) -> Result<(String, usize), DnspError> {
    let (&raw_len, rest) = bytes.split_first().ok_or(DnspError::Truncated("empty name"))?;
    let (&count, rest) = rest
        .split_first()
        .ok_or(DnspError::Truncated("name without label count"))?;
    let raw = rest
        .get(..usize::from(raw_len))
        .ok_or(DnspError::Truncated("name shorter than its length"))?;
    let mut labels = Vec::with_capacity(usize::from(count));
    let mut i = 0;
    for _ in 0..count {
        let n = usize::from(*raw.get(i).ok_or(DnspError::Truncated("label count past the name"))?);
        if n == 0 || n > MAX_LABEL {
            return Err(DnspError::Name(format!("label length {n}")));
        }
        let label = raw
            .get(i + 1..i + 1 + n)
            .ok_or(DnspError::Truncated("label past the name"))?;
        if label.contains(&b'.') {
            return Err(DnspError::Name("a label holds a '.'".into()));
        }
        labels.push(String::from_utf8(label.to_vec()).map_err(|_| DnspError::Name("non-UTF-8 label".into()))?);
        i += 1 + n;
    }
    if raw.get(i) != Some(&0) {
        return Err(DnspError::Name("name not terminated by a zero byte".into()));
    }
    let name = normalize_name(&labels.join("."))?;
    Ok((name, 2 + usize::from(raw_len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cname_encodes_byte_for_byte_with_a_big_endian_ttl() {
        let r = DnsRecord::cname("vpce-1.rcfg-2.on.aws", 300, 7).unwrap();
        let b = r.encode().unwrap();
        // data: len, count, 4 labels, terminator
        let data = b"\x16\x04\x06vpce-1\x06rcfg-2\x02on\x03aws\x00";
        assert_eq!(data.len(), 0x16 + 2);
        let mut want = vec![data.len() as u8, 0, 5, 0, 5, 0xF0, 0, 0, 7, 0, 0, 0];
        want.extend_from_slice(&[0, 0, 0x01, 0x2C]); // 300, big-endian
        want.extend_from_slice(&[0; 8]); // reserved, timestamp 0 = static
        want.extend_from_slice(data);
        assert_eq!(b, want);
        assert_eq!(DnsRecord::decode(&b).unwrap(), r);
    }

    #[test]
    fn ttl_is_big_endian_and_the_rest_little_endian() {
        let r = DnsRecord {
            rank: RANK_ZONE,
            serial: 0x0102_0304,
            ttl: 0x0A0B_0C0D,
            timestamp: 0x1122_3344,
            data: RecordData::A(Ipv4Addr::new(10, 0, 0, 1)),
        };
        let b = r.encode().unwrap();
        assert_eq!(&b[8..12], &[4, 3, 2, 1]);
        assert_eq!(&b[12..16], &[0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(&b[20..24], &[0x44, 0x33, 0x22, 0x11]);
        assert_eq!(DnsRecord::decode(&b).unwrap(), r);
    }

    #[test]
    fn round_trips_txt_a_and_unknown_types() {
        for r in [
            DnsRecord::txt("heritage=fsxn-lattice,owner=default,svm=svm-1", 60, 1).unwrap(),
            DnsRecord {
                rank: RANK_ZONE,
                serial: 1,
                ttl: 3600,
                timestamp: 3_000_000,
                data: RecordData::Txt(vec![b"a".to_vec(), Vec::new(), vec![0xff; 255]]),
            },
            DnsRecord {
                rank: 0x20,
                serial: 9,
                ttl: 0,
                timestamp: 0,
                data: RecordData::Other {
                    record_type: TYPE_TOMBSTONE,
                    data: vec![1, 2, 3, 4, 5, 6, 7, 8],
                },
            },
        ] {
            assert_eq!(DnsRecord::decode(&r.encode().unwrap()).unwrap(), r);
        }
    }

    #[test]
    fn names_normalise_a_trailing_dot_and_case() {
        assert_eq!(
            normalize_name("SVM-Alias.Corp.Example.").unwrap(),
            "svm-alias.corp.example"
        );
        assert_eq!(normalize_name("_fsxn-lattice.a.b").unwrap(), "_fsxn-lattice.a.b");
        let with_dot = encode_count_name("a.b.").unwrap();
        assert_eq!(with_dot, encode_count_name("a.b").unwrap());
        assert_eq!(with_dot, b"\x05\x02\x01a\x01b\x00");
    }

    #[test]
    fn hostile_names_are_refused() {
        for bad in [
            "",
            ".",
            "a..b",
            "..",
            "a.b..",
            ".a.b",
            "-a.b",
            "a-.b",
            "a b.c",
            "a/b.c",
            "a\0b.c",
            "bücher.example",
            "ａ.example", // full-width
            "a.b\n",
        ] {
            assert!(normalize_name(bad).is_err(), "{bad:?} accepted");
            assert!(DnsRecord::cname(bad, 60, 1).is_err(), "{bad:?} encoded");
        }
        let long_label = format!("{}.example", "a".repeat(64));
        assert!(matches!(normalize_name(&long_label), Err(DnspError::Name(m)) if m.contains("64")));
        assert!(normalize_name(&format!("{}.example", "a".repeat(63))).is_ok());
        // 4 labels of 63 + length bytes + terminator = 257 > 255
        let long_name = vec!["a".repeat(63); 4].join(".");
        assert!(normalize_name(&long_name).is_err());
        let at_limit = [vec!["a".repeat(63); 3], vec!["a".repeat(61)]].concat().join(".");
        assert_eq!(encode_count_name(&at_limit).unwrap().len(), 2 + 255);
        assert!(DnsRecord::txt(&"x".repeat(256), 60, 1).is_err());
    }

    #[test]
    fn hostile_bytes_are_refused_not_panicked_on() {
        let good = DnsRecord::cname("a.example", 60, 1).unwrap().encode().unwrap();
        for cut in 0..good.len() {
            assert!(
                DnsRecord::decode(&good[..cut]).is_err(),
                "accepted a record cut at {cut}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(DnsRecord::decode(&trailing), Err(DnspError::Trailing(1)));
        let mut version = good.clone();
        version[4] = 4;
        assert_eq!(DnsRecord::decode(&version), Err(DnspError::Version(4)));
        // label count larger than the labels
        assert!(decode_count_name(b"\x05\x03\x01a\x01b\x00").is_err());
        // label count smaller than the labels: no terminator where expected
        assert!(decode_count_name(b"\x05\x01\x01a\x01b\x00").is_err());
        // a label length running past the stated raw length
        assert!(decode_count_name(b"\x03\x01\x05abcde\x00").is_err());
        // oversized label length byte
        let mut big = vec![70u8, 1, 64];
        big.extend_from_slice(&[b'a'; 64]);
        big.push(0);
        big[0] = 66;
        assert!(decode_count_name(&big).is_err());
        // non-ASCII label bytes
        assert!(decode_count_name(b"\x04\x01\x02\xc3\xbc\x00").is_err());
        // a dot inside a label would change the name's meaning
        assert!(decode_count_name(b"\x05\x01\x03a.b\x00").is_err());
        // pad bytes after the terminator, within the stated length, are accepted (as Samba does)
        assert_eq!(
            decode_count_name(b"\x06\x01\x01a\x00\x00\x00\x00").unwrap(),
            ("a".to_string(), 8)
        );
        // every single-byte corruption of a valid record either decodes to something or errs, never panics
        for i in 0..good.len() {
            for v in [0u8, 1, 0x3f, 0x40, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = DnsRecord::decode(&b);
            }
        }
    }
}
