//! What every page and panel shares: formatting (times, durations, enum names), the one palette,
//! and the summary tiles. Depends on the domain and the live room only.

pub mod describe;
pub mod draft;
pub mod palette;
pub mod tiles;

pub use describe::{clock_time, describe};

/// `m:ss` or `h:mm:ss` since `since_ms`.
pub fn elapsed(now_ms: i64, since_ms: i64) -> String {
    let s = ((now_ms - since_ms).max(0) / 1000) as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Who acted, as an operator reads it: `pp.dispatcher@PP/dispatcher` → `pp.dispatcher (PP, opérateur)`
/// in French; a service's name as is.
pub fn who(lang: crate::i18n::Lang, actor: &str) -> String {
    match actor.split_once('@').and_then(|(login, rest)| Some((login, rest.split_once('/')?))) {
        Some((login, (agency, role))) => format!("{login} ({agency}, {})", crate::i18n::t(lang, role)),
        None => actor.to_owned(),
    }
}

/// `OnScene` → `on scene`.
pub fn words(debug: impl std::fmt::Debug) -> String {
    let camel = format!("{debug:?}");
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The snake_case name the API uses for an enum value.
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
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
    fn an_actor_reads_as_who_for_which_agency_in_which_role_in_the_screens_language() {
        use crate::i18n::Lang;
        assert_eq!(who(Lang::Fr, "pp.dispatcher@PP/dispatcher"), "pp.dispatcher (PP, opérateur)");
        assert_eq!(who(Lang::En, "bka.liaison@BKA/liaison"), "bka.liaison (BKA, liaison)");
        assert_eq!(who(Lang::Fr, "exercise-director"), "exercise-director");
    }

    #[test]
    fn utc_and_datetime_local_round_trip() {
        let ms = 1_795_000_123_000;
        let text = utc(ms);
        assert_eq!(text, "2026-11-18 11:08:43");
        assert_eq!(parse_utc(&text.replace(' ', "T")), Some(ms));
        assert_eq!(parse_utc("2026-11-18T11:08"), Some(ms - 43_000));
        assert_eq!(parse_utc("2024-02-29T00:00"), Some(1_709_164_800_000));
        assert_eq!(parse_utc("2026-13-01T00:00"), None);
        assert_eq!(parse_utc("yesterday"), None);
    }
}
