-- A conversation's messages, jobs, timers and leads by conversation: the web chat reads
-- its thread on every request, and the retention pass deletes a conversation's rows.
CREATE INDEX inbound_events_conversation ON inbound_events (conversation_id, id);
CREATE INDEX jobs_conversation ON jobs (conversation_id);
CREATE INDEX flow_timers_conversation ON flow_timers (conversation_id);
CREATE INDEX leads_conversation ON leads (conversation_id);
