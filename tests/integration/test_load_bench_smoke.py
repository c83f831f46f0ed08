"""bench/load.py's main loop, briefly: two sessions (a labeller and an approver) on a copy of the
demo registry for a few seconds, writing often. Every write the pages acknowledged is in the
audit log exactly once, nothing failed and no "database is locked" reached a page. No timing
is asserted: the figures belong to the benchmark."""

from __future__ import annotations

import pytest

from bench import load


def test_two_sessions_on_sqlite_account_for_every_write(
    demo_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # run_load points the environment at the registry for its session processes; restore it after.
    monkeypatch.setenv("STEWARD_DATABASE_URL", demo_db_url)
    monkeypatch.setenv("STEWARD_AUTH_MODE", "local")

    result = load.run_load(
        demo_db_url, backend="sqlite", sessions=2, duration=8, write_share=0.5, think=0.2, log=lambda _: None
    )
    figures = load.summary(result)

    assert {r["session"] for r in result.records} == {0, 1}
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["locked"] == 0
    writes = {page: row["outcomes"] for page, row in figures["pages"].items() if page.startswith("write: ")}
    assert writes, f"no write was attempted in {figures['actions']} actions"
    accounting = figures["accounting"]
    assert accounting["acknowledged_writes"] >= 1, writes
    assert accounting["audit_events_added"] == accounting["acknowledged_writes"], accounting
    assert accounting["matches"], accounting
    assert result.chain_ok, result.chain
