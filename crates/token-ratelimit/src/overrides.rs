//! Per-key override strings, parsed once per thread: a small per-thread table of the
//! most recent override strings and what they parsed to, so the hot path compares a
//! few bytes instead of parsing (and never locks or allocates).

use std::cell::RefCell;

use crate::quota::Quota;

/// Strings longer than this are parsed every time (valid quotas are much shorter).
const MAX_LEN: usize = 40;
/// Distinct override strings remembered per thread (plans are few).
const SLOTS: usize = 8;

#[derive(Clone, Copy)]
struct Slot {
    len: u8,
    text: [u8; MAX_LEN],
    /// `None`: the string does not parse.
    quota: Option<Quota>,
}

struct Recent {
    slots: [Option<Slot>; SLOTS],
    /// The slot to replace next (round robin).
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent { slots: [None; SLOTS], next: 0 })
    };
}

/// `text` parsed as a quota (`None` if it does not parse), from this thread's table
/// when it was seen recently.
pub(crate) fn parse_override(text: &str) -> Option<Quota> {
    if text.len() > MAX_LEN {
        return text.parse().ok();
    }
    RECENT
        .try_with(|recent| {
            let mut recent = recent.try_borrow_mut().ok()?;
            let hit = recent
                .slots
                .iter()
                .flatten()
                .find(|slot| &slot.text[..usize::from(slot.len)] == text.as_bytes());
            if let Some(slot) = hit {
                return Some(slot.quota);
            }
            let quota = text.parse().ok();
            let mut slot = Slot {
                len: u8::try_from(text.len()).ok()?,
                text: [0; MAX_LEN],
                quota,
            };
            slot.text[..text.len()].copy_from_slice(text.as_bytes());
            let next = recent.next;
            recent.slots[next] = Some(slot);
            recent.next = (next + 1) % SLOTS;
            Some(quota)
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| text.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_parses_and_failures() {
        let q = parse_override("1000/hour").unwrap();
        assert_eq!(q, Quota::per_hour(1000).unwrap());
        assert_eq!(parse_override("1000/hour"), Some(q));
        assert_eq!(parse_override("lots"), None);
        assert_eq!(parse_override("lots"), None);
        // Similar strings are distinct entries.
        assert_eq!(
            parse_override("100/hour"),
            Some(Quota::per_hour(100).unwrap())
        );
        assert_eq!(parse_override("1000/hour "), Some(q));
    }

    #[test]
    fn more_strings_than_slots_still_parse_correctly() {
        for round in 0..3 {
            for n in 1..=16_u32 {
                let text = format!("{n}/minute");
                assert_eq!(
                    parse_override(&text),
                    Some(Quota::per_minute(n).unwrap()),
                    "{round}"
                );
            }
        }
        let long = format!("{}5/minute", " ".repeat(MAX_LEN));
        assert_eq!(parse_override(&long), Some(Quota::per_minute(5).unwrap()));
    }
}
