-- One index per way /spend/logs, /spend/logs/v2 and the budget windows read the log. Each ends in the keyset
-- order (start_time, request_id), so a filtered page — first or after a cursor — is one index range read
-- backwards, never an OFFSET scan or a sort. request_id filters use the primary key. On a large existing table
-- this migration holds writes while the indexes build; rows wait in each proxy's journal meanwhile.
DROP INDEX easel_spend_logs_start_time;
DROP INDEX easel_spend_logs_end_user;
DROP INDEX easel_spend_logs_model_group;
DROP INDEX easel_spend_logs_client_request_id;
CREATE INDEX easel_spend_logs_time_id ON easel_spend_logs (start_time, request_id);
CREATE INDEX easel_spend_logs_end_user_time_id ON easel_spend_logs (end_user, start_time, request_id);
CREATE INDEX easel_spend_logs_model_group_time_id ON easel_spend_logs (model_group, start_time, request_id);
CREATE INDEX easel_spend_logs_deployment_time_id ON easel_spend_logs (deployment_id, start_time, request_id);
CREATE INDEX easel_spend_logs_status_time_id ON easel_spend_logs (status, start_time, request_id);
CREATE INDEX easel_spend_logs_client_request_id_time_id ON easel_spend_logs (client_request_id, start_time,
    request_id);
