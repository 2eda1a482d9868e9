//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one step of drift either
//! way), as every authenticator app speaks it. A secret is 160 random bits, shown once at
//! enrolment as an `otpauth://` URL in a QR code (SVG, drawn on the server) and as base32; a code
//! is accepted once (its step must be later than the last one used), so one overheard code cannot
//! open a second session.
//!
//! Required for `admin` and `auditor` accounts and for every account of an agency whose policy says
//! so; available to everyone. Until an account that needs it has enrolled, its session can only
//! enrol (`Caller::enrolling`).

use qrcode::render::svg;
use qrcode::QrCode;
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};
use vigie_domain::authority::{Principal, Role};

use crate::store::Store;

/// Seconds per code.
pub const STEP_S: u64 = 30;
const ISSUER: &str = "Vigie";

fn totp(secret: &[u8], login: &str) -> anyhow::Result<TOTP> {
    // Drift is handled by `check` (step by step, to know which step matched), so no skew here.
    TOTP::new(Algorithm::SHA1, 6, 0, STEP_S, secret.to_vec(), Some(ISSUER.into()), login.into())
        .map_err(|e| anyhow::anyhow!("a TOTP secret: {e}"))
}

/// A new secret, base32.
pub fn new_secret() -> String {
    let bytes = hex_to_bytes(&crate::token::hex(20));
    Secret::Raw(bytes).to_encoded().to_string()
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).filter_map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

fn raw(secret: &str) -> anyhow::Result<Vec<u8>> {
    Secret::Encoded(secret.to_owned()).to_bytes().map_err(|e| anyhow::anyhow!("a stored TOTP secret: {e:?}"))
}

/// What enrolment shows: the `otpauth://` URL and its QR code as SVG.
pub fn enrolment(secret: &str, login: &str) -> anyhow::Result<(String, String)> {
    let url = totp(&raw(secret)?, login)?.get_url();
    let code = QrCode::new(url.as_bytes())?;
    let image = code.render::<svg::Color>().min_dimensions(220, 220).quiet_zone(true).build();
    Ok((url, image))
}

/// The step `code` is valid at, within one step of `now_ms`, if any.
pub fn matching_step(secret: &str, login: &str, code: &str, now_ms: i64) -> anyhow::Result<Option<u64>> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(&raw(secret)?, login)?;
    let now = (now_ms.max(0) as u64) / 1000;
    let step = now / STEP_S;
    Ok([step.saturating_sub(1), step, step + 1].into_iter().find(|s| totp.check(code, s * STEP_S)))
}

/// The code for `secret` at `now_ms` (tests and the CLI's self-check).
pub fn code_at(secret: &str, login: &str, now_ms: i64) -> anyhow::Result<String> {
    Ok(totp(&raw(secret)?, login)?.generate((now_ms.max(0) as u64) / 1000))
}

/// An account's second factor as stored.
#[derive(Clone, Debug, Default)]
pub struct Factor {
    /// Set once enrolment started; `enabled` once a code confirmed it.
    pub secret: Option<String>,
    pub enabled: bool,
    pub last_step: u64,
}

/// Whether `principal` must have a second factor: an admin, an auditor, or any account of an
/// agency whose policy requires one.
pub async fn required(store: &Store, principal: &Principal) -> anyhow::Result<bool> {
    if principal.has(Role::Admin) || principal.has(Role::Auditor) {
        return Ok(true);
    }
    store.agency_requires_totp(principal.agency.as_str()).await
}

impl Store {
    pub async fn factor(&self, login: &str) -> anyhow::Result<Factor> {
        let row = sqlx::query("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE login = $1")
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map_or_else(Factor::default, |r| Factor {
            secret: r.get("totp_secret"),
            enabled: r.get::<i64, _>("totp_enabled") != 0,
            last_step: r.get::<i64, _>("totp_last_step") as u64,
        }))
    }

    /// Starts (or restarts) enrolment with a new secret; the factor is off until confirmed.
    pub async fn begin_totp(&self, login: &str, secret: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET totp_secret = $2, totp_enabled = 0 WHERE login = $1")
            .bind(login)
            .bind(secret)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Records the step of an accepted code (and turns the factor on): a code is used once.
    pub async fn use_totp_step(&self, login: &str, step: u64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_enabled = 1, totp_last_step = $2 WHERE login = $1 AND totp_last_step < $2",
        )
        .bind(login)
        .bind(step as i64)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn remove_totp(&self, login: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE users SET totp_secret = NULL, totp_enabled = 0 WHERE login = $1")
            .bind(login)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn agency_requires_totp(&self, agency: &str) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT require_totp FROM agency_policies WHERE agency = $1")
            .bind(agency)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some_and(|r| r.get::<i64, _>("require_totp") != 0))
    }

    pub async fn set_agency_requires_totp(&self, agency: &str, required: bool) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO agency_policies (agency, require_totp) VALUES ($1, $2) \
             ON CONFLICT (agency) DO UPDATE SET require_totp = excluded.require_totp",
        )
        .bind(agency)
        .bind(i64::from(required))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Every agency whose accounts must have a second factor.
    pub async fn agencies_requiring_totp(&self) -> anyhow::Result<Vec<String>> {
        let rows = sqlx::query("SELECT agency FROM agency_policies WHERE require_totp = 1 ORDER BY agency")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get("agency")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_its_step_and_the_ones_beside_it_only() {
        let secret = new_secret();
        assert!(secret.len() >= 32, "160 bits in base32: {secret}");
        let at = 1_795_000_000_000;
        let code = code_at(&secret, "admin", at).unwrap();
        let step = (at as u64 / 1000) / STEP_S;
        assert_eq!(matching_step(&secret, "admin", &code, at).unwrap(), Some(step));
        assert_eq!(matching_step(&secret, "admin", &code, at + 30_000).unwrap(), Some(step), "one step late");
        assert_eq!(matching_step(&secret, "admin", &code, at + 95_000).unwrap(), None, "three steps late");
        assert_eq!(matching_step(&secret, "admin", "12345", at).unwrap(), None);
        let (url, svg) = enrolment(&secret, "admin").unwrap();
        assert!(url.starts_with("otpauth://totp/Vigie:admin?") && url.contains(&format!("secret={secret}")), "{url}");
        assert!(svg.contains("<svg") && !svg.contains("<script"), "an SVG image, nothing else");
    }
}
