//! The hash-chain line format shared by the JSON Lines sink and the verifier (its
//! description is the [`verify`](crate::verify) module's).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use ring::{digest, hmac};
use serde::Deserialize;

use crate::error::{AuditError, AuditErrorKind};
use crate::event::AuditEvent;
use crate::time::Timestamp;

/// `prev` of the first line ever written: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line the verifier and the resuming sink accept, in bytes (events are
/// bounded far below this).
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// The shortest accepted checkpoint key, in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// An HMAC-SHA-256 key for checkpoints. `Debug` never shows it.
#[derive(Clone)]
pub struct CheckpointKey {
    key: hmac::Key,
}

impl CheckpointKey {
    /// A key from at least [`MIN_KEY_LEN`] bytes (for example the text of
    /// `openssl rand -hex 32`, used as is).
    pub fn new(bytes: &[u8]) -> Result<Self, AuditError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(AuditError::new(
                AuditErrorKind::InvalidConfig,
                format!("a checkpoint key needs at least {MIN_KEY_LEN} bytes"),
            ));
        }
        Ok(CheckpointKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        })
    }

    /// The signed text of a checkpoint.
    fn message(seq: u64, prev: &str, cp: &Checkpoint<'_>) -> String {
        let Checkpoint {
            time,
            is_final,
            interval,
            ..
        } = cp;
        let mut m = format!("token-audit-checkpoint-v2|{seq}|{prev}|{time}|{is_final}|{interval}");
        if let Some(r) = &cp.resumed {
            let _ = write!(m, "|resumed|{}|{}", r.last_seq, r.file);
        }
        if let Some(o) = &cp.opening {
            let _ = write!(m, "|opening|{}|{}", o.seq, o.hash);
        }
        m
    }

    /// The hex MAC of a checkpoint.
    pub(crate) fn sign(&self, seq: u64, prev: &str, cp: &Checkpoint<'_>) -> String {
        let tag = hmac::sign(&self.key, Self::message(seq, prev, cp).as_bytes());
        hex(tag.as_ref())
    }

    /// Whether `mac_hex` is the MAC of this checkpoint (constant time).
    pub(crate) fn verify(&self, seq: u64, prev: &str, cp: &Checkpoint<'_>, mac_hex: &str) -> bool {
        let Some(tag) = unhex(mac_hex) else {
            return false;
        };
        hmac::verify(&self.key, Self::message(seq, prev, cp).as_bytes(), &tag).is_ok()
    }
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckpointKey([redacted])")
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

/// The hex SHA-256 of a line's bytes (without its newline).
pub(crate) fn line_hash(line: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, line).as_ref())
}

/// Where the chain stands: the last line's seq and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: String,
}

impl Head {
    pub(crate) fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }

    /// Appends the next event line (with its newline) to `buf` and advances. (The
    /// sink refuses to resume a chain at `u64::MAX`, so `seq` cannot overflow.)
    pub(crate) fn push_event(&mut self, buf: &mut Vec<u8>, event: &AuditEvent) {
        let start = buf.len();
        let seq = self.seq.saturating_add(1);
        buf.extend_from_slice(format!("{{\"seq\":{seq},\"prev\":\"{}\",", self.hash).as_bytes());
        let body = buf.len();
        // Serializing a struct of strings, numbers and addresses into memory cannot
        // fail; should it ever, the line still closes as valid JSON.
        if serde_json::to_writer(&mut *buf, event).is_err() {
            buf.truncate(body);
            buf.extend_from_slice(b"{\"v\":1,\"kind\":\"audit.dropped\",\"outcome\":\"error\"}");
        }
        // Drop the event's own opening brace: the line already opened one.
        buf.remove(body);
        self.seq = seq;
        self.hash = line_hash(&buf[start..]);
        buf.push(b'\n');
    }

    /// Appends a signed checkpoint line (with its newline) to `buf` and advances.
    pub(crate) fn push_checkpoint(
        &mut self,
        buf: &mut Vec<u8>,
        key: &CheckpointKey,
        cp: &Checkpoint<'_>,
    ) {
        let start = buf.len();
        let seq = self.seq.saturating_add(1);
        let mac = key.sign(seq, &self.hash, cp);
        buf.extend_from_slice(checkpoint_line(seq, &self.hash, cp, &mac).as_bytes());
        self.seq = seq;
        self.hash = line_hash(&buf[start..]);
        buf.push(b'\n');
    }
}

/// The canonical text of a checkpoint line (without its newline). The writer
/// produces it and the verifier requires a checkpoint line to be exactly this, so a
/// checkpoint line cannot be altered (extra members, another order, other escapes)
/// even though nothing hashes the last line of a chain.
pub(crate) fn checkpoint_line(seq: u64, prev: &str, cp: &Checkpoint<'_>, mac: &str) -> String {
    let mut line = format!(
        "{{\"seq\":{seq},\"prev\":\"{prev}\",\"checkpoint\":{{\"time\":{},\"final\":{},\"interval\":{}",
        json_string(&cp.time),
        cp.is_final,
        cp.interval
    );
    if let Some(r) = &cp.resumed {
        let _ = write!(
            line,
            ",\"resumed\":{{\"file\":{},\"last_seq\":{}}}",
            json_string(&r.file),
            r.last_seq
        );
    }
    if let Some(o) = &cp.opening {
        let _ = write!(
            line,
            ",\"opening\":{{\"seq\":{},\"hash\":{}}}",
            o.seq,
            json_string(&o.hash)
        );
    }
    let _ = write!(line, ",\"mac\":{}}}}}", json_string(mac));
    line
}

/// A string as JSON (`serde_json`'s escaping).
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The chain members of a line, as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct LineHead<'a> {
    pub(crate) seq: u64,
    #[serde(borrow)]
    pub(crate) prev: Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) checkpoint: Option<CheckpointFields<'a>>,
}

/// A checkpoint's signed members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint<'a> {
    pub(crate) time: Cow<'a, str>,
    pub(crate) is_final: bool,
    /// The most event lines between two checkpoints; 0 when only time triggers them.
    pub(crate) interval: u64,
    pub(crate) resumed: Option<Resumed<'a>>,
    pub(crate) opening: Option<Opening<'a>>,
}

impl Checkpoint<'_> {
    /// A checkpoint at `time`; `interval`: the most event lines the writer puts
    /// between two checkpoints (0: time-based checkpoints only).
    pub(crate) fn at(time: Timestamp, is_final: bool, interval: u64) -> Self {
        Checkpoint {
            time: Cow::Owned(time.to_string()),
            is_final,
            interval,
            resumed: None,
            opening: None,
        }
    }
}

/// On the first checkpoint a writer wrote when it started on an existing chain: the
/// seq and hash of the line the previous run ended with (its final checkpoint after
/// a clean shutdown), from which this run continues. When the writer's anchor records
/// a later checkpoint than the log holds (the log was cut back), that checkpoint: the
/// writer continues after it, so no seq is used twice.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Opening<'a> {
    pub(crate) seq: u64,
    #[serde(borrow)]
    pub(crate) hash: Cow<'a, str>,
}

/// On the first checkpoint a writer wrote after finding the previous file's tail
/// unsealed or invalid: that file (moved aside) and the last seq it read there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Resumed<'a> {
    #[serde(borrow)]
    pub(crate) file: Cow<'a, str>,
    pub(crate) last_seq: u64,
}

/// A checkpoint's members, as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct CheckpointFields<'a> {
    #[serde(borrow)]
    pub(crate) time: Cow<'a, str>,
    #[serde(rename = "final")]
    pub(crate) is_final: bool,
    pub(crate) interval: u64,
    #[serde(default, borrow)]
    pub(crate) resumed: Option<Resumed<'a>>,
    #[serde(default, borrow)]
    pub(crate) opening: Option<Opening<'a>>,
    #[serde(borrow)]
    pub(crate) mac: Cow<'a, str>,
}

impl<'a> CheckpointFields<'a> {
    /// The signed members.
    pub(crate) fn signed(&self) -> Checkpoint<'a> {
        Checkpoint {
            time: self.time.clone(),
            is_final: self.is_final,
            interval: self.interval,
            resumed: self.resumed.clone(),
            opening: self.opening.clone(),
        }
    }
}

impl LineHead<'_> {
    /// Whether this checkpoint line is exactly its canonical form (true for a line
    /// that is not a checkpoint).
    pub(crate) fn is_canonical(&self, line: &[u8]) -> bool {
        self.checkpoint.as_ref().is_none_or(|cp| {
            checkpoint_line(self.seq, &self.prev, &cp.signed(), &cp.mac).as_bytes() == line
        })
    }

    /// Whether this line is a checkpoint that verifies under `key` and is in its
    /// canonical form.
    pub(crate) fn is_valid_checkpoint(&self, line: &[u8], key: &CheckpointKey) -> bool {
        self.checkpoint
            .as_ref()
            .is_some_and(|cp| key.verify(self.seq, &self.prev, &cp.signed(), &cp.mac))
            && self.is_canonical(line)
    }
}

impl LineHead<'_> {
    /// Parses a line's chain members; `None` if it is not a chain line.
    pub(crate) fn parse(line: &[u8]) -> Option<LineHead<'_>> {
        let head: LineHead<'_> = serde_json::from_slice(line).ok()?;
        let valid_hex = head.prev.len() == 64
            && head
                .prev
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        (valid_hex && head.seq > 0).then_some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Checkpoint, CheckpointKey, GENESIS, Head, LineHead, Opening, Resumed, hex, line_hash, unhex,
    };
    use crate::event::{AuditEvent, EventKind, Outcome};
    use crate::time::Timestamp;

    #[test]
    fn lines_chain_by_hash_and_parse_back() {
        let mut head = Head::genesis();
        let mut buf = Vec::new();
        let e = AuditEvent::new(EventKind::KeyCreated, Outcome::Allowed).key_id("key_1");
        head.push_event(&mut buf, &e);
        let first = buf.clone();
        assert_eq!(
            std::str::from_utf8(&first).unwrap(),
            format!(
                "{{\"seq\":1,\"prev\":\"{GENESIS}\",\"v\":1,\"kind\":\"key.created\",\"outcome\":\"allowed\",\"key_id\":\"key_1\"}}\n"
            )
        );
        assert_eq!(head.hash, line_hash(&first[..first.len() - 1]));
        let key = CheckpointKey::new(&[7; 32]).unwrap();
        head.push_checkpoint(
            &mut buf,
            &key,
            &Checkpoint::at(Timestamp::from_unix_micros(0), true, 5),
        );
        let second = &buf[first.len()..buf.len() - 1];
        let parsed = LineHead::parse(second).unwrap();
        assert_eq!(parsed.seq, 2);
        assert_eq!(parsed.prev, line_hash(&first[..first.len() - 1]));
        assert!(parsed.is_valid_checkpoint(second, &key));
        let cp = parsed.checkpoint.as_ref().unwrap();
        assert!(cp.is_final);
        assert_eq!(cp.interval, 5);
        let mut signed = cp.signed();
        assert!(key.verify(2, &parsed.prev, &signed, &cp.mac));
        signed.interval = 6;
        assert!(!key.verify(2, &parsed.prev, &signed, &cp.mac));
        signed.interval = 5;
        signed.is_final = false;
        assert!(!key.verify(2, &parsed.prev, &signed, &cp.mac));
        let other = CheckpointKey::new(&[8; 32]).unwrap();
        assert!(!other.verify(2, &parsed.prev, &cp.signed(), &cp.mac));
        // The signed text, as docs/audit.md shows it.
        assert_eq!(
            CheckpointKey::message(2, &parsed.prev, &cp.signed()),
            format!(
                "token-audit-checkpoint-v2|2|{}|1970-01-01T00:00:00.000000Z|true|5",
                parsed.prev
            )
        );
    }

    #[test]
    fn a_checkpoint_line_must_be_canonical() {
        let key = CheckpointKey::new(&[7; 32]).unwrap();
        let mut head = Head::genesis();
        let mut buf = Vec::new();
        let resumed = Resumed {
            file: "audit.\"x\".jsonl".into(),
            last_seq: 41,
        };
        let t = Timestamp::from_unix_micros(0);
        let cp = Checkpoint {
            resumed: Some(resumed),
            opening: Some(Opening {
                seq: 40,
                hash: "ab".repeat(32).into(),
            }),
            ..Checkpoint::at(t, false, 0)
        };
        head.push_checkpoint(&mut buf, &key, &cp);
        let line = String::from_utf8(buf[..buf.len() - 1].to_vec()).unwrap();
        let parsed = LineHead::parse(line.as_bytes()).unwrap();
        assert!(parsed.is_valid_checkpoint(line.as_bytes(), &key), "{line}");
        let cp = parsed.checkpoint.as_ref().unwrap();
        assert_eq!(cp.resumed.as_ref().unwrap().last_seq, 41);
        assert!(
            CheckpointKey::message(1, GENESIS, &cp.signed()).ends_with(&format!(
                "|false|0|resumed|41|audit.\"x\".jsonl|opening|40|{}",
                "ab".repeat(32)
            ))
        );
        assert_eq!(cp.opening.as_ref().unwrap().seq, 40);
        // Same members, altered bytes: an extra member, another order, a space.
        for altered in [
            line.replacen("\"checkpoint\":{", "\"checkpoint\":{\"x\":1,", 1),
            line.replacen("}}", "},\"note\":\"hi\"}", 1),
            line.replacen(
                "\"final\":false,\"interval\":0",
                "\"interval\":0,\"final\":false",
                1,
            ),
            line.replacen("\"seq\":1,", "\"seq\": 1,", 1),
            line.replacen("\"opening\":{\"seq\":40,", "\"opening\":{\"seq\":40 ,", 1),
        ] {
            assert_ne!(altered, line);
            let p = LineHead::parse(altered.as_bytes()).unwrap();
            assert!(!p.is_canonical(altered.as_bytes()), "{altered}");
            assert!(
                !p.is_valid_checkpoint(altered.as_bytes(), &key),
                "{altered}"
            );
        }
    }

    #[test]
    fn short_keys_and_bad_lines_are_refused() {
        assert!(CheckpointKey::new(&[1; 31]).is_err());
        assert_eq!(
            format!("{:?}", CheckpointKey::new(&[1; 32]).unwrap()),
            "CheckpointKey([redacted])"
        );
        for bad in [
            &b"not json"[..],
            br#"{"seq":0,"prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            br#"{"seq":1,"prev":"abc"}"#,
            br#"{"seq":1,"seq":2,"prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
            br#"{"seq":-1,"prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#,
        ] {
            assert!(LineHead::parse(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(unhex(&hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
