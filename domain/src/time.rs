//! Times from outside (requests, imported files, devices) are milliseconds since the Unix epoch,
//! UTC, and are checked against a sane range before any arithmetic: within it, adding a day's
//! margin or a 31-day window, or multiplying an elapsed time by 60, cannot overflow an `i64`.

use crate::Refusal;

/// 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 0;
/// 3000-01-01T00:00:00Z: later than any real moment, far from `i64::MAX` (about 292 million years).
pub const LATEST_MS: i64 = 32_503_680_000_000;

/// `ms` if it lies in `[EARLIEST_MS, LATEST_MS]`, else a refusal naming `field`.
pub fn check_ms(field: &str, ms: i64) -> Result<i64, Refusal> {
    if (EARLIEST_MS..=LATEST_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(Refusal::invalid(
            field,
            format!("{field} must be a time between 1970 and 3000 in ms since the Unix epoch (got {ms})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_1970_to_3000_are_refused_by_name() {
        assert_eq!(check_ms("at_ms", 1_795_000_000_000), Ok(1_795_000_000_000));
        for bad in [-1, i64::MIN, i64::MAX, LATEST_MS + 1] {
            assert_eq!(check_ms("at_ms", bad).unwrap_err().field.as_deref(), Some("at_ms"));
        }
        // The largest window plus the largest margin, at 60×, stays far from overflow.
        assert!(LATEST_MS.checked_add(31 * 86_400_000 + 86_400_000).is_some());
        assert!(((LATEST_MS - EARLIEST_MS) as f64 * 60.0) < i64::MAX as f64);
    }
}
