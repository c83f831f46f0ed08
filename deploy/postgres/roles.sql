-- Steward on PostgreSQL: two roles, so that the application cannot change the rules it runs under.
--
--   steward_migrate  owns the database and every table, function and trigger; used only for
--                    `steward init` (create and migrate the schema) and then grants.sql.
--   steward_app      what the app, the CLI and cron connect as: it may read and write the
--                    registry, but it owns nothing, so it cannot ALTER a table, disable or drop
--                    the triggers that keep audit_event and stage_change append-only and make
--                    audit_head name only the newest event; and it has no DELETE, UPDATE or
--                    TRUNCATE on audit_event and stage_change at all.
--
-- Run once, as a superuser:   psql -v ON_ERROR_STOP=1 -f deploy/postgres/roles.sql
-- Then, as steward_migrate:   STEWARD_DATABASE_URL=postgresql+psycopg://steward_migrate:...@host/steward steward init
--                             psql "postgresql://steward_migrate@host/steward" -v ON_ERROR_STOP=1 -f deploy/postgres/grants.sql
-- Run `steward init` and grants.sql again, as steward_migrate, after every upgrade of Steward.
-- Replace the passwords (or use your own authentication) before running this.

CREATE ROLE steward_migrate LOGIN PASSWORD 'change-me-migrate';
CREATE ROLE steward_app LOGIN PASSWORD 'change-me-app';
CREATE DATABASE steward OWNER steward_migrate;
REVOKE ALL ON DATABASE steward FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE steward TO steward_app;

\connect steward

-- Only the migration role creates objects (PostgreSQL before 15 let every role create in public).
ALTER SCHEMA public OWNER TO steward_migrate;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
