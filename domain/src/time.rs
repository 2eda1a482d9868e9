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

/// `YYYY-MM-DD HH:MM:SS` UTC.
pub fn utc(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// `YYYY-MM-DDTHH:MM` (a `datetime-local` value) read as UTC.
pub fn parse_utc(value: &str) -> Option<i64> {
    let (date, time) = value.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.split('.').next().and_then(|p| p.parse::<i64>().ok()));
    let (h, min) = (t.next()??, t.next()??);
    let s = t.next().flatten().unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 59 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + min * 60 + s) * 1000)
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
