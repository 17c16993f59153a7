//! PEM armour for key import/export, a thin bounded wrapper over the `pem` crate.

use zeroize::Zeroize;

/// Largest PEM text accepted by [`decode`], in bytes (a 16384-bit RSA key is ~13 KiB).
pub(crate) const MAX_PEM_LEN: usize = 64 * 1024;

/// Why a PEM document was rejected. Messages never include the encoded data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PemError {
    /// The text is longer than [`MAX_PEM_LEN`].
    #[error("PEM input too large: {len} bytes (limit {MAX_PEM_LEN})")]
    TooLarge {
        /// Length of the rejected input in bytes.
        len: usize,
    },
    /// No `-----BEGIN ...-----` / `-----END ...-----` block was found.
    #[error("no PEM block found")]
    Missing,
    /// More than one PEM block was found where exactly one is expected.
    #[error("expected exactly one PEM block, found {0}")]
    Multiple(usize),
    /// Framing, label or base64 body is malformed; the field names the problem.
    #[error("malformed PEM: {0}")]
    Malformed(&'static str),
    /// The block carries RFC 1421 headers (e.g. legacy OpenSSL encryption).
    #[error("PEM headers (e.g. encrypted legacy keys) are not supported")]
    Headers,
}

/// Decodes a text holding exactly one PEM block into its label and DER body.
///
/// Text outside the block (comments, whitespace) is ignored.
pub(crate) fn decode(text: &str) -> Result<(String, Vec<u8>), PemError> {
    if text.len() > MAX_PEM_LEN {
        return Err(PemError::TooLarge { len: text.len() });
    }
    let mut blocks = ::pem::parse_many(text).map_err(|e| map_error(&e))?;
    let block = match blocks.len() {
        0 => return Err(PemError::Missing),
        1 => blocks.pop().ok_or(PemError::Missing)?,
        n => {
            for block in blocks {
                block.into_contents().zeroize();
            }
            return Err(PemError::Multiple(n));
        }
    };
    let label = block.tag().to_owned();
    let headers = block.headers().iter().next().is_some();
    let mut der = block.into_contents();
    if headers || der.is_empty() {
        der.zeroize();
        return Err(if headers {
            PemError::Headers
        } else {
            PemError::Malformed("empty body")
        });
    }
    Ok((label, der))
}

/// Encodes `der` as a PEM block labelled `label`, with LF line endings and 64-column lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let block = ::pem::Pem::new(label, der);
    let config = ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF);
    let text = ::pem::encode_config(&block, config);
    block.into_contents().zeroize();
    text
}

/// Maps a `pem` crate error to [`PemError`], dropping any echoed input.
fn map_error(err: &::pem::PemError) -> PemError {
    PemError::Malformed(match err {
        ::pem::PemError::MismatchedTags(..) => "BEGIN and END labels differ",
        ::pem::PemError::MalformedFraming => "framing",
        ::pem::PemError::MissingBeginTag => "missing BEGIN line",
        ::pem::PemError::MissingEndTag => "missing END line",
        ::pem::PemError::MissingData => "missing body",
        ::pem::PemError::InvalidData(_) => "invalid base64 body",
        ::pem::PemError::InvalidHeader(_) => "invalid header",
        ::pem::PemError::NotUtf8(_) => "label is not UTF-8",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DER: &[u8] = &[0x30, 0x03, 0x02, 0x01, 0x05];

    #[test]
    fn round_trip_lf() {
        let der: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let text = encode("PRIVATE KEY", &der);
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(text.ends_with("-----END PRIVATE KEY-----\n"));
        assert!(!text.contains('\r'));
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(decode(&text), Ok(("PRIVATE KEY".to_owned(), der)));
    }

    #[test]
    fn accepts_crlf_and_surrounding_text() {
        let text = format!(
            "comment\r\n{}trailer\n",
            encode("PUBLIC KEY", DER).replace('\n', "\r\n")
        );
        assert_eq!(decode(&text), Ok(("PUBLIC KEY".to_owned(), DER.to_vec())));
    }

    #[test]
    fn rejects_missing_multiple_and_oversized() {
        assert_eq!(decode(""), Err(PemError::Missing));
        assert_eq!(decode("not pem at all"), Err(PemError::Missing));
        let two = format!("{}{}", encode("A", DER), encode("B", DER));
        assert_eq!(decode(&two), Err(PemError::Multiple(2)));
        let big = " ".repeat(MAX_PEM_LEN + 1);
        assert_eq!(
            decode(&big),
            Err(PemError::TooLarge {
                len: MAX_PEM_LEN + 1
            })
        );
        assert_eq!(
            decode(&encode("EMPTY", &[])),
            Err(PemError::Malformed("empty body"))
        );
    }

    #[test]
    fn rejects_malformed_without_echoing_input() {
        let bad = "-----BEGIN PRIVATE KEY-----\nSECRET$$$\n-----END PRIVATE KEY-----\n";
        let err = decode(bad).unwrap_err();
        assert_eq!(err, PemError::Malformed("invalid base64 body"));
        assert!(!err.to_string().contains("SECRET"));
        let mismatched = "-----BEGIN A-----\nMAMCAQU=\n-----END B-----\n";
        assert!(matches!(decode(mismatched), Err(PemError::Malformed(_))));
        let encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                         DEK-Info: AES-128-CBC,00\n\nMAMCAQU=\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(decode(encrypted), Err(PemError::Headers));
    }

    #[test]
    fn truncated_input_never_panics() {
        let text = encode("PRIVATE KEY", DER);
        for end in 0..text.len() {
            let _ = decode(&text[..end]);
        }
    }
}
