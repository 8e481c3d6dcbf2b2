-- request_id is Easel's own id, unique per request; the caller's own id (x-request-id / x-client-request-id) is a
-- correlation field kept beside it. Before, the caller's id was the row key and a reused one dropped rows.
ALTER TABLE easel_spend_logs ADD COLUMN client_request_id TEXT;
CREATE INDEX easel_spend_logs_client_request_id ON easel_spend_logs (client_request_id);
