//! Key records for people: an aligned table, one row per key, never a secret or a
//! hash (`--json` prints the records as JSON lines instead, for scripts).

use token_core::apikey::{KeyRecord, KeyStatus};

const HEADERS: [&str; 8] = [
    "ID", "NAME", "STATUS", "SCOPES", "OWNER", "TENANT", "CREATED", "EXPIRES",
];

/// `secs` as an RFC 3339 UTC time (`-` for none).
fn time(secs: Option<i64>) -> String {
    secs.and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// Control characters shown as `?`, so a stored name cannot drive the terminal.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn status(record: &KeyRecord) -> String {
    match &record.status {
        KeyStatus::Active => "active".to_owned(),
        KeyStatus::Revoked { .. } => "revoked".to_owned(),
        KeyStatus::Rotated { grace_end, .. } => {
            format!("rotated (until {})", time(Some(*grace_end)))
        }
        _ => "unknown".to_owned(),
    }
}

fn row(record: &KeyRecord) -> [String; 8] {
    [
        clean(&record.id),
        clean(&record.name),
        status(record),
        clean(&record.scopes.to_string()),
        clean(record.owner.as_deref().unwrap_or("-")),
        clean(record.tenant.as_deref().unwrap_or("-")),
        time(Some(record.created_at)),
        time(record.expires_at),
    ]
}

/// The table of `records`, a header line first, columns padded to their widest
/// cell.
pub(crate) fn render(records: &[KeyRecord]) -> String {
    let rows: Vec<[String; 8]> = records.iter().map(row).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out
    };
    let mut out = line(&HEADERS.map(str::to_owned));
    for r in &rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}
