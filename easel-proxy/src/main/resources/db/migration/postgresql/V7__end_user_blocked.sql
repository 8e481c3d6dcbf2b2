-- POST /customer/block and /customer/unblock (LiteLLM's): a blocked end user's requests are refused before any
-- upstream call. Each proxy keeps the set of blocked end users in memory, read again with the budgets.
-- (V5 and V6 belong to other changes.)
ALTER TABLE easel_end_users ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT FALSE;
