-- The web chat (issue 18): the provider check gains 'web'.
ALTER TABLE conversations DROP CONSTRAINT conversations_provider_check;
ALTER TABLE conversations ADD CONSTRAINT conversations_provider_check
    CHECK (provider IN ('twilio', 'meta', 'telegram', 'console', 'web'));
