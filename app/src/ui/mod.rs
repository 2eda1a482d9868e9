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

pub use vigie_domain::text::words;

/// The snake_case name the API uses for an enum value.
pub fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub use vigie_domain::time::{parse_utc, utc};

/// Waits `ms` in the browser (polling a job or a verification).
#[cfg(feature = "hydrate")]
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = leptos::prelude::window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
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
