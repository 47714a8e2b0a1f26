-- The alert lists filter in SQL: a server's page lists that server's alerts, and clearing a rule on a server
-- finds its open alerts, newest first, without reading every alert.
CREATE INDEX alerts_server_rule ON alerts (server, rule_id, number);
