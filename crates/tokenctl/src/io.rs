//! Bounded input, standard output and error that never panic, and warnings.

use std::fmt;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::failure::Failure;

/// The largest key file read, in bytes (a JWKS of many RSA keys fits easily).
pub(crate) const MAX_FILE_LEN: u64 = 1024 * 1024;

/// The largest token or API key read from standard input, in bytes. The verifier's own
/// limit is lower and is reported as an invalid token.
pub(crate) const MAX_TOKEN_INPUT_LEN: u64 = 64 * 1024;

/// Reads a file of at most [`MAX_FILE_LEN`] bytes into a buffer wiped on drop (key
/// files hold secrets).
pub(crate) fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let shown = path.display();
    let file =
        File::open(path).map_err(|e| Failure::usage(format_args!("cannot read {shown}: {e}")))?;
    let size = file.metadata().map_or(0, |m| m.len());
    if size > MAX_FILE_LEN {
        return Err(Failure::usage(format_args!(
            "{shown} is larger than {MAX_FILE_LEN} bytes"
        )));
    }
    // Sized up front so that no reallocation leaves a copy of the secret behind.
    let capacity = usize::try_from(size).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format_args!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(Failure::usage(format_args!(
            "{shown} is larger than {MAX_FILE_LEN} bytes"
        )));
    }
    Ok(bytes)
}

/// The token to work on: `given`, or else standard input, with surrounding whitespace
/// trimmed; `None` when standard input holds more than [`MAX_TOKEN_INPUT_LEN`] bytes
/// (a token too large, which the caller reports as an invalid token). Refuses to wait
/// on an interactive terminal.
pub(crate) fn token_input(given: Option<&str>) -> Result<Option<Zeroizing<String>>, Failure> {
    read_secret(given, "token")
}

/// The secret (`what`: "token", "API key") to work on: `given`, or else standard input,
/// with surrounding whitespace trimmed, in buffers wiped on drop. Refuses to wait on an
/// interactive terminal.
pub(crate) fn secret_input(given: Option<&str>, what: &str) -> Result<Zeroizing<String>, Failure> {
    read_secret(given, what)?.ok_or_else(|| {
        Failure::usage(format_args!(
            "standard input is larger than {MAX_TOKEN_INPUT_LEN} bytes"
        ))
    })
}

/// [`secret_input`], with `None` for standard input over [`MAX_TOKEN_INPUT_LEN`] bytes.
fn read_secret(given: Option<&str>, what: &str) -> Result<Option<Zeroizing<String>>, Failure> {
    if let Some(text) = given {
        return Ok(Some(Zeroizing::new(text.trim().to_owned())));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::usage(format_args!(
            "no {what}: give it as an argument or on standard input"
        )));
    }
    // Sized up front so that no reallocation leaves a copy of the secret behind.
    let capacity = usize::try_from(MAX_TOKEN_INPUT_LEN + 1).unwrap_or(0);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    stdin
        .lock()
        .take(MAX_TOKEN_INPUT_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format_args!("cannot read standard input: {e}")))?;
    if bytes.len() as u64 > MAX_TOKEN_INPUT_LEN {
        return Ok(None);
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::usage("standard input is not UTF-8 text"))?;
    Ok(Some(Zeroizing::new(text.trim().to_owned())))
}

/// Writes `text` and a newline to standard output. A closed pipe is an error, not a
/// panic.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::usage(format_args!("cannot write to standard output: {e}")))
}

/// Writes `text` and a newline to standard error. A closed pipe is an error, not a
/// panic.
pub(crate) fn print_stderr(text: &str) -> Result<(), Failure> {
    let mut err = std::io::stderr().lock();
    writeln!(err, "{text}")
        .and_then(|()| err.flush())
        .map_err(|e| Failure::usage(format_args!("cannot write to standard error: {e}")))
}

/// Prints `tokenctl: warning: <message>` on standard error.
pub(crate) fn warn(message: fmt::Arguments<'_>) {
    eprintln!("tokenctl: warning: {message}");
}
