-- The second factor (TOTP, RFC 6238): each account's secret (set at enrolment, kept until it is
-- removed), whether a code confirmed it, and the step of the last code accepted (a code is used
-- once). Agencies may require it of all their accounts. A session opened by an account that must
-- enrol but has not is marked: it can only enrol.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
CREATE TABLE agency_policies (
    agency       TEXT    PRIMARY KEY,
    require_totp INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE sessions ADD COLUMN enrolling INTEGER NOT NULL DEFAULT 0;
