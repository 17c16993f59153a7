//! The DER primitives: a forward-only reader and TLV writers.

use super::{DerError, INTEGER, Malformed, SEQUENCE, Unsupported};

/// A forward-only cursor over DER elements.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    /// Reads `der` as exactly one SEQUENCE and returns a cursor over its contents.
    pub(super) fn outer(der: &'a [u8], what: &'static str) -> Result<Self, DerError> {
        let mut outer = Reader(der);
        let inner = outer.expect(SEQUENCE, what)?;
        outer.finish(what).map(|()| Reader(inner))
    }

    /// Reads one element, returning its tag and contents.
    pub(super) fn any(&mut self, what: &'static str) -> Result<(u8, &'a [u8]), DerError> {
        let (tag, first, rest) = match self.0 {
            [tag, first, rest @ ..] if tag & 0x1F != 0x1F => (*tag, *first, rest), // no high tags
            _ => return Err(Malformed(what)),
        };
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            // 0x80 is the BER indefinite form; more than 4 length bytes is never needed.
            let count = usize::from(first & 0x7F);
            let split = rest
                .split_at_checked(count)
                .filter(|_| (1..=4).contains(&count));
            let (bytes, rest) = split.ok_or(Malformed(what))?;
            let len = bytes.iter().fold(0, |acc, &b| (acc << 8) | usize::from(b));
            if bytes.first() == Some(&0) || len < 0x80 {
                return Err(Malformed(what)); // non-minimal length
            }
            (len, rest)
        };
        let (content, rest) = rest.split_at_checked(len).ok_or(Malformed(what))?;
        self.0 = rest;
        Ok((tag, content))
    }

    /// Reads one element that must carry `tag`.
    pub(super) fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.any(what)? {
            (t, content) if t == tag => Ok(content),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads an element if the next tag is `tag`.
    pub(super) fn optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<&'a [u8]>, DerError> {
        self.peek(tag).then(|| self.expect(tag, what)).transpose()
    }

    /// Whether the next element carries `tag`.
    pub(super) fn peek(&self, tag: u8) -> bool {
        self.0.first() == Some(&tag)
    }

    /// Reads a BIT STRING (possibly implicitly tagged) with no unused bits.
    pub(super) fn bits(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.expect(tag, what)? {
            [0, bits @ ..] => Ok(bits),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads a positive INTEGER, returning it without leading zeros.
    pub(super) fn uint(&mut self, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.expect(INTEGER, what)? {
            // Non-empty, non-negative and non-zero.
            c @ [b, ..] if b & 0x80 == 0 && !strip_zeros(c).is_empty() => Ok(strip_zeros(c)),
            _ => Err(Malformed(what)),
        }
    }

    /// Reads a small version INTEGER (0..=127).
    pub(super) fn version(&mut self, what: &'static str) -> Result<u8, DerError> {
        match self.expect(INTEGER, what)? {
            [v] if *v < 0x80 => Ok(*v),
            _ => Err(Unsupported(what)),
        }
    }

    /// Fails unless every byte has been consumed.
    pub(super) fn finish(self, what: &'static str) -> Result<(), DerError> {
        self.0.is_empty().then_some(()).ok_or(Malformed(what))
    }
}

/// Appends a tag and a minimal definite length.
pub(super) fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let be = len.to_be_bytes();
            let digits = be.iter().skip_while(|b| **b == 0);
            out.push(digits.clone().fold(0x80, |n, _| n + 1));
            out.extend(digits);
        }
    }
}

/// Appends a complete element.
pub(super) fn tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    header(out, tag, content.len());
    out.extend_from_slice(content);
}

/// Appends an element whose contents `f` writes in place; the header is then rotated in front.
pub(super) fn nested(out: &mut Vec<u8>, tag: u8, f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    f(out);
    let end = out.len();
    header(out, tag, end - start);
    let header_len = out.len() - end;
    if let Some(element) = out.get_mut(start..) {
        element.rotate_right(header_len);
    }
}

/// Appends a BIT STRING (or an implicitly tagged one) with no unused bits.
pub(super) fn bit_string(out: &mut Vec<u8>, tag: u8, bits: &[u8]) {
    header(out, tag, bits.len() + 1);
    out.push(0);
    out.extend_from_slice(bits);
}

/// Appends a non-negative INTEGER in minimal two's complement (empty means zero).
pub(super) fn uint(out: &mut Vec<u8>, value: &[u8]) {
    let value = strip_zeros(value);
    let pad = value.first().is_none_or(|b| b & 0x80 != 0);
    header(out, INTEGER, value.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(value);
}

/// Appends a PKCS#1 `RSAPublicKey`.
pub(super) fn write_rsa_public(out: &mut Vec<u8>, n: &[u8], e: &[u8]) {
    nested(out, SEQUENCE, |o| {
        uint(o, n);
        uint(o, e);
    });
}

/// Strips leading zero bytes.
pub(crate) fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}
