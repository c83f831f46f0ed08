"""Database access: engine creation, table definitions and migrations."""
