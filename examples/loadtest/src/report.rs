//! The table: per server, medians over the rounds, each ratio taken against bare axum
//! measured in the same round.

use crate::load::Measured;
use crate::server::Variant;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => f64::midpoint(xs[n / 2 - 1], xs[n / 2]),
    }
}

/// The `per_mille`-th of sorted `latencies` (500 = median, 990 = p99).
fn percentile(sorted: &[u32], per_mille: usize) -> u32 {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get((last * per_mille.min(1000)).div_ceil(1000))
        .copied()
        .unwrap_or(0)
}

/// Prints the table. `runs[i]` holds one `Measured` per round for `variants[i]`;
/// `variants[0]` is bare axum.
pub(crate) fn print(variants: &[Variant], runs: &[Vec<Measured>]) {
    println!(
        "{:<32} {:>8} {:>6} {:>11} {:>7} {:>7} {:>9} {:>7} {:>8} {:>7}",
        "server",
        "req/s",
        "x bare",
        "(range)",
        "p50 µs",
        "p99 µs",
        "CPU µs/r",
        "+µs/r",
        "user µs",
        "+user"
    );
    let bare = &runs[0];
    for (variant, rounds) in variants.iter().zip(runs) {
        // Each round against bare axum of the same round.
        let per_round = |f: fn(&Measured, &Measured) -> f64| -> Vec<f64> {
            rounds.iter().zip(bare).map(|(m, b)| f(m, b)).collect()
        };
        let ratios = per_round(|m, b| m.per_second() / b.per_second());
        let extra = per_round(|m, b| m.cpu_micros_per_request() - b.cpu_micros_per_request());
        let extra_user =
            per_round(|m, b| m.user_micros_per_request() - b.user_micros_per_request());
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut latencies: Vec<u32> = rounds
            .iter()
            .flat_map(|m| m.latencies.iter().copied())
            .collect();
        latencies.sort_unstable();
        let errors: u64 = rounds.iter().map(|m| m.errors).sum();
        println!(
            "{:<32} {:>8.0} {:>6.2} {:>11} {:>7} {:>7} {:>9.1} {:>7.1} {:>8.1} {:>7.1}{}",
            variant.label(),
            median(rounds.iter().map(Measured::per_second).collect()),
            median(ratios),
            format!("{lo:.2}-{hi:.2}"),
            percentile(&latencies, 500),
            percentile(&latencies, 990),
            median(
                rounds
                    .iter()
                    .map(Measured::cpu_micros_per_request)
                    .collect()
            ),
            median(extra),
            median(
                rounds
                    .iter()
                    .map(Measured::user_micros_per_request)
                    .collect()
            ),
            median(extra_user),
            if errors > 0 {
                format!("  ({errors} non-2xx!)")
            } else {
                String::new()
            }
        );
    }
    print_lateness(variants, runs);
}

/// Paced runs: how late the driver itself sent requests (its timer and scheduling).
/// The paced latencies include it, so a row's latency is only the server's when this
/// is small against it.
fn print_lateness(variants: &[Variant], runs: &[Vec<Measured>]) {
    for (variant, rounds) in variants.iter().zip(runs) {
        let mut late: Vec<u32> = rounds.iter().flat_map(|m| m.late.iter().copied()).collect();
        if late.is_empty() {
            continue;
        }
        late.sort_unstable();
        println!(
            "  driver lateness, {}: p50 {} µs, p99 {} µs (included in its latencies)",
            variant.label(),
            percentile(&late, 500),
            percentile(&late, 990)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![4.0, 1.0, 2.0, 3.0]) - 2.5).abs() < f64::EPSILON);
        assert!(median(Vec::new()).is_nan());
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 500), 501);
        assert_eq!(percentile(&sorted, 990), 991);
        assert_eq!(percentile(&sorted, 1000), 1000);
        assert_eq!(percentile(&[], 500), 0);
    }
}
