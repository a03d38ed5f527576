-- A WhatsApp number typed in the web chat (issue 18): kept encrypted with the lead and
-- shown to the office only once its owner has answered the message sent to it.
ALTER TABLE leads ADD COLUMN phone_enc BYTEA;
ALTER TABLE leads ADD COLUMN phone_confirmed_at TIMESTAMPTZ;
