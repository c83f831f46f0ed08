"""Interactive pieces that read the registry and write to it: decision forms, admin forms, rule
forms, the risk assessment form, ... Each reads through app.cache, writes through app.actions
(never straight to core services) and is called from a page with a line or two."""
