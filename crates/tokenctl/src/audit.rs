//! `tokenctl audit verify` and `tokenctl audit stats`: streaming checks and summaries
//! of token-audit's JSON Lines files.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use token_audit::CheckpointKey;
use token_audit::Timestamp;
use token_audit::anchor::read_anchor_file;
use token_audit::limits::MAX_LINE_LEN;
use token_audit::summary::LogSummary;
use token_audit::verify::{ChainErrorKind, ChainVerifier, VerifyOptions};

use crate::failure::Failure;
use crate::io::{print, read_file};
use crate::{AuditStatsArgs, AuditVerifyArgs};

/// Inputs at least this large (in total) get a progress bar, when standard error is a
/// terminal.
const PROGRESS_MIN_BYTES: u64 = 16 * 1024 * 1024;

/// A progress bar over `total` bytes, hidden unless standard error is a terminal and
/// the input is large.
fn progress(total: u64) -> ProgressBar {
    if total < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
    {
        bar.set_style(style);
    }
    bar
}

fn total_size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

fn open(path: &Path) -> Result<File, Failure> {
    File::open(path)
        .map_err(|e| Failure::usage(format_args!("cannot read {}: {e}", path.display())))
}

/// The seq of a file's first line (`u64::MAX` when it has none: empty or not a chain
/// line), to put the files in chain order.
fn first_seq(path: &Path) -> Result<u64, Failure> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    let mut line = Vec::new();
    BufReader::new(open(path)?)
        .take(MAX_LINE_LEN as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::usage(format_args!("cannot read {}: {e}", path.display())))?;
    Ok(serde_json::from_slice::<Seq>(line.trim_ascii_end()).map_or(u64::MAX, |s| s.seq))
}

/// Reads a checkpoint key file: its bytes, without trailing whitespace.
fn read_key(path: &Path) -> Result<CheckpointKey, Failure> {
    let bytes = read_file(path)?;
    CheckpointKey::new(bytes.trim_ascii_end())
        .map_err(|e| Failure::usage(format_args!("{}: {e}", path.display())))
}

/// `tokenctl audit verify`.
pub(crate) fn verify(args: &AuditVerifyArgs) -> Result<(), Failure> {
    let mut options = VerifyOptions::new()
        .allow_partial_start(args.partial)
        .allow_unsealed_tail(args.allow_unsealed)
        .require_final(args.closed)
        .expected_last_seq(args.expect_last_seq);
    if let Some(path) = &args.key {
        options = options.key(read_key(path)?);
    } else if args.closed {
        return Err(Failure::usage("--closed needs --key"));
    } else if args.max_age.is_some() {
        return Err(Failure::usage("--max-age needs --key"));
    }
    if let Some(secs) = args.max_age {
        let now = match args.now {
            Some(secs) => Timestamp::from_unix_micros(secs.saturating_mul(1_000_000)),
            None => token_audit::Timestamp::now(&token_core::SystemClock),
        };
        options = options.max_checkpoint_age(std::time::Duration::from_secs(secs), now);
    }
    if let Some(path) = &args.anchor {
        let entries = read_anchor_file(path).map_err(|e| Failure::usage(&e))?;
        options = options.anchor(entries);
    }
    let mut files = Vec::with_capacity(args.files.len());
    for f in &args.files {
        files.push((first_seq(f)?, f.clone()));
    }
    files.sort_by_key(|(seq, _)| *seq);
    let files: Vec<PathBuf> = files.into_iter().map(|(_, f)| f).collect();
    let bar = progress(total_size(&files));
    let mut verifier = ChainVerifier::new(options);
    let mut result = Ok(());
    for path in &files {
        let reader = BufReader::with_capacity(256 * 1024, bar.wrap_read(open(path)?));
        result = verifier.read(&path.display().to_string(), reader);
        if result.is_err() {
            break;
        }
    }
    bar.finish_and_clear();
    let report = result.and_then(|()| verifier.finish()).map_err(|e| {
        if e.kind() == ChainErrorKind::Io {
            Failure::usage(&e)
        } else {
            Failure::invalid(format_args!(
                "audit chain broken: {} ({:?})",
                escape_controls(&e.to_string()),
                e.kind()
            ))
        }
    })?;
    let mut text = format!(
        "ok: {} lines (seq {}..{}) in {} file(s)",
        report.lines, report.first_seq, report.last_seq, report.files
    );
    if args.key.is_some() {
        let _ = write!(
            text,
            ", {} checkpoint(s) verified",
            report.verified_checkpoints
        );
        if report.unsealed_lines > 0 {
            let _ = write!(
                text,
                ", {} unsealed line(s) at the end",
                report.unsealed_lines
            );
        }
        if report.closed {
            text.push_str(", closed cleanly");
        }
        if let Some(t) = report.last_checkpoint_time {
            let _ = write!(text, ", last checkpoint at {t}");
        }
    }
    if args.anchor.is_some() {
        let _ = write!(
            text,
            ", {} anchored checkpoint(s) found",
            report.anchored_checkpoints
        );
        if let Some(seq) = report.last_anchored_seq {
            let _ = write!(text, " (the last at seq {seq})");
        }
    } else {
        text.push_str(
            "; rollback not excluded: without --anchor ANCHORFILE, a log cut back to an earlier checkpoint while the writer was stopped (and continued) passes",
        );
    }
    for w in &report.warnings {
        eprintln!("warning: {}", escape_controls(&w.to_string()));
    }
    print(&text)
}

/// `s` with C0 and C1 control characters and DEL shown as `\u{..}` escapes, so that
/// text from an audit file cannot move the cursor, retitle the terminal or hide
/// lines when printed.
fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Up to `top` rows of a table, largest first, as text.
fn table(
    out: &mut String,
    title: &str,
    rows: &std::collections::BTreeMap<String, u64>,
    top: usize,
) {
    if rows.is_empty() {
        return;
    }
    let mut sorted: Vec<(&String, &u64)> = rows.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let more = sorted.len().saturating_sub(top);
    let label = format!("({more} more)");
    let shown: Vec<(std::borrow::Cow<'_, str>, u64)> = sorted
        .iter()
        .map(|(k, v)| (escape_controls(k), **v))
        .collect();
    let width = shown
        .iter()
        .take(top)
        .map(|(k, _)| k.chars().count())
        .chain([title.len(), if more > 0 { label.len() } else { 0 }])
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "\n{title:<width$}  count");
    for (k, v) in shown.iter().take(top) {
        let _ = writeln!(out, "{k:<width$}  {v}");
    }
    if more > 0 {
        let rest: u64 = shown[top..].iter().map(|(_, v)| *v).sum();
        let _ = writeln!(out, "{label:<width$}  {rest}");
    }
}

/// `tokenctl audit stats`.
pub(crate) fn stats(args: &AuditStatsArgs) -> Result<(), Failure> {
    let bar = progress(total_size(&args.files));
    let mut summary = LogSummary::new();
    for path in &args.files {
        let reader = BufReader::with_capacity(256 * 1024, bar.wrap_read(open(path)?));
        summary
            .read(reader)
            .map_err(|e| Failure::usage(format_args!("cannot read {}: {e}", path.display())))?;
    }
    bar.finish_and_clear();
    if args.json {
        let json = serde_json::to_string_pretty(&summary)
            .map_err(|e| Failure::usage(format_args!("cannot encode the summary: {e}")))?;
        return print(&json);
    }
    let mut out = format!(
        "lines {}  events {}  checkpoints {}  malformed {}\n",
        summary.lines, summary.events, summary.checkpoints, summary.malformed
    );
    if let (Some(first), Some(last)) = (&summary.first_time, &summary.last_time) {
        let _ = writeln!(
            out,
            "from {} to {}",
            escape_controls(first),
            escape_controls(last)
        );
    }
    table(&mut out, "kind", &summary.by_kind, args.top);
    table(&mut out, "outcome", &summary.by_outcome, args.top);
    table(&mut out, "reason", &summary.by_reason, args.top);
    table(&mut out, "key", &summary.by_key, args.top);
    table(&mut out, "tenant", &summary.by_tenant, args.top);
    print(out.trim_end())
}
