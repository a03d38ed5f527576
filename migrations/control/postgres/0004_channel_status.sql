-- A Twilio number or Meta phone-number id that a school administrator adds in the web
-- admin is pending until the operator approves it (`raabta channel approve <id>`):
-- routes are not claimed first-come. Channels that exist already stay active.
ALTER TABLE channel_accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'pending'));
