-- A route (Twilio number, Meta phone-number id) is unique among *active* channels
-- only: a school administrator's pending claim no longer blocks the rightful school
-- from asking too, and says nothing about another school's claim.
ALTER TABLE channel_accounts DROP CONSTRAINT channel_accounts_provider_route_key_key;
CREATE UNIQUE INDEX channel_accounts_active_route ON channel_accounts (provider, route_key) WHERE status = 'active';
CREATE INDEX channel_accounts_route ON channel_accounts (provider, route_key);
