-- 004: a disabled account is also expired in shadow (usermod --expiredate 1), so that pam_unix's
-- account phase refuses it even when diycloudd cannot answer. The expiry it replaced is kept here
-- ('never', or days since 1970-01-01) and put back when the account is enabled again; NULL when
-- nothing was saved (an enabled account, or a directory user whose shadow entry we do not own).
ALTER TABLE users ADD COLUMN saved_expiry TEXT CHECK (saved_expiry IS NULL OR saved_expiry = 'never' OR saved_expiry GLOB '[0-9]*');
