"""`steward migrate-logs` and `steward retention` end to end through the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session
from core.db.models import PredictionLog
from core.logstore import reads
from tests.cli_auth import TokenRunner
from tests.drift_data import log, make_drift_model
from tests.factories import make_world
from tests.integration.test_logstore import DAY, _batch, _old_style_rows

runner = TokenRunner()


@pytest.fixture
def cli(monkeypatch, sqlite_engine):
    monkeypatch.setenv("STEWARD_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    return sqlite_engine


def test_migrate_logs_reports_what_it_moved_and_checked(cli, tmp_path):
    world = make_world(cli)
    model = make_drift_model(cli, world.owner, tmp_path)
    _old_style_rows(cli, model.version_id, _batch(days=2, n=25, labelled=4))
    refused = runner.invoke(app, ["migrate-logs", "--as", "owner@example.com"])
    assert refused.exit_code == 1 and "may not registry admin" in refused.output
    result = runner.invoke(app, ["migrate-logs", "--as", "admin@example.com", "--json"])
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["rows"] == 50 and done["files"] == 2
    (version,) = done["versions"]
    assert [p["rows"] for p in version["partitions"]] == [25, 25] and version["kept_in_registry"] == 4
    with read_session(cli) as s:
        assert reads.count_rows(s, model.version_id) == 50
        assert s.execute(select(func.count()).select_from(PredictionLog)).scalar_one() == 4
    again = runner.invoke(app, ["migrate-logs", "--as", "admin@example.com"])
    assert again.exit_code == 0 and "Nothing to move" in again.output


def test_retention_set_show_and_apply(cli, tmp_path, monkeypatch):
    world = make_world(cli)
    model = make_drift_model(cli, world.owner, tmp_path)
    log(cli, world.owner, model.version_id, _batch(days=4, n=10))
    bad = runner.invoke(app, ["retention", "set", "--model", model.name, "--as", "owner@example.com"])
    assert bad.exit_code == 1 and "give either --days N or --forever" in bad.output
    result = runner.invoke(
        app, ["retention", "set", "--model", model.name, "--days", "2", "--as", "owner@example.com"]
    )
    assert result.exit_code == 0, result.output
    assert "Raw rows kept 2 days" in result.output
    monkeypatch.setattr("core.clock.today", lambda: DAY + timedelta(days=4))
    applied = runner.invoke(app, ["retention", "apply", "--as", "system@steward.local", "--json"])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout) == [
        {
            "model": model.name,
            "keep days": 2,
            "deleted before": str(DAY + timedelta(days=2)),
            "files": 2,
            "rows": 20,
        }
    ]
    shown = runner.invoke(app, ["retention", "show", "--model", model.name, "--json"])
    assert json.loads(shown.stdout)["stored_rows"] == 20
