-- What the application role may do, granted by the schema's owner (steward_migrate) after every
-- `steward init`. Safe to run again. See roles.sql for the two roles and why.

GRANT USAGE ON SCHEMA public TO steward_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO steward_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO steward_app;

-- The schema version is the migration role's business.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM steward_app;

-- History is appended, never changed: no UPDATE, DELETE or TRUNCATE at all (the triggers refuse
-- them too, for the owner; the owner can disable triggers, the application role cannot).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, stage_change FROM steward_app;

-- The chain head is updated with every event (its trigger accepts only the newest event's id
-- and hash, and never a change of the key check); it is never removed.
REVOKE DELETE, TRUNCATE ON audit_head FROM steward_app;
