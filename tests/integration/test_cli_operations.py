"""`steward backup`, `steward restore` and `steward check` end to end through the CLI."""

from __future__ import annotations

import pytest

from core.cli import app
from core.config import reset_settings_cache
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_world

runner = TokenRunner()


@pytest.fixture
def cli(monkeypatch, sqlite_engine):
    url = sqlite_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    reset_settings_cache()
    return sqlite_engine


def test_backup_restore_check_round_trip(cli, tmp_path):
    world = make_world(cli)
    make_model(cli, world.owner, versions=2)
    out = tmp_path / "b.sqlite"
    result = runner.invoke(app, ["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    result = runner.invoke(app, ["restore", str(out), "--to", restored])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact" in result.output
    result = runner.invoke(app, ["check", "--json"])
    assert result.exit_code == 0, result.output
    assert '"ok": true' in result.output


def test_check_fails_on_tampered_audit(cli):
    world = make_world(cli)
    make_model(cli, world.owner)
    with cli.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_event SET actor_email = 'mallory@example.com' WHERE id = 2")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert "broken at event 2" in result.output


def test_backup_to_existing_file_is_refused(cli, tmp_path):
    out = tmp_path / "exists"
    out.write_text("keep me")
    result = runner.invoke(app, ["backup", "--out", str(out)])
    assert result.exit_code == 1
    assert "already exists" in result.output
    assert out.read_text() == "keep me"
