"""`steward health`, `steward campaign`, `steward performance` and `steward thresholds`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import LabellingCampaign, ModelHealth
from tests.cli_auth import TokenRunner
from tests.factories import make_world
from tests.feedback_factories import production_model

runner = TokenRunner()


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def steward(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_health_json_and_table(registry):
    world = make_world(registry)
    production_model(
        registry, world.owner, name="Stale", n=200, end=datetime.now(UTC) - timedelta(days=9), days=20
    )
    # The nightly job runs as the system service account, with its token.
    result = steward("health", "--json", "--as", world.system.email)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    assert row["model"] == "Stale" and row["status"] == "alert" and row["reasons"][0]["kind"] == "outage"
    table = steward("health", "--as", world.system.email)
    assert (
        table.exit_code == 0
        and "Stale" in table.stdout
        and "alert: No predictions for 9 days" in table.stdout
    )
    with read_session(registry) as s:
        assert s.execute(select(ModelHealth.status)).scalar_one() == "alert"


def test_health_as_a_labeller_is_refused(registry):
    world = make_world(registry)
    result = steward("health", "--as", world.labeller.email)
    assert result.exit_code == 1 and result.stderr.startswith("Error: Lena Labeller may not monitoring run")


def test_campaign_create_list_close(registry):
    world = make_world(registry)
    production_model(registry, world.owner, name="Credit scoring", n=100)
    created = steward(
        "campaign",
        "create",
        "--model",
        "Credit scoring",
        "--size",
        150,
        "--strategy",
        "random",
        "--seed",
        1,
        "--json",
        "--as",
        world.owner.email,
    )
    assert created.exit_code == 0, created.output
    data = json.loads(created.stdout)
    assert data["size"] == 100 and "100 of the 150 requested" in data["note"]
    listed = steward("campaign", "list", "--json")
    assert json.loads(listed.stdout)[0]["strategy"] == "random"
    closed = steward("campaign", "close", data["campaign_id"], "--reason", "done", "--as", world.owner.email)
    assert closed.exit_code == 0 and "closed" in closed.stdout
    with read_session(registry) as s:
        assert s.execute(select(LabellingCampaign.status)).scalar_one() == "closed"


def test_campaign_create_errors_name_the_problem(registry):
    world = make_world(registry)
    production_model(registry, world.owner, name="Credit scoring", n=20)
    bad = steward(
        "campaign",
        "create",
        "--model",
        "Credit scoring",
        "--size",
        5,
        "--strategy",
        "clever",
        "--as",
        world.owner.email,
    )
    assert bad.exit_code == 1 and "strategy 'clever' is not one of" in bad.stderr
    bad_day = steward(
        "campaign",
        "create",
        "--model",
        "Credit scoring",
        "--size",
        5,
        "--from",
        "yesterday",
        "--as",
        world.owner.email,
    )
    assert bad_day.exit_code == 1 and "--from 'yesterday' is not a date" in bad_day.stderr
    with read_session(registry) as s:
        assert s.execute(select(func.count()).select_from(LabellingCampaign)).scalar_one() == 0


def test_performance_json(registry):
    world = make_world(registry)
    production_model(
        registry,
        world.owner,
        name="Credit scoring",
        n=600,
        labelled_share=0.3,
        end=datetime(2024, 5, 30, tzinfo=UTC),
        days=20,
    )
    result = steward("performance", "--model", "Credit scoring", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["validation"] == {"roc_auc": 0.8, "accuracy": 0.85}
    assert {m["metric"] for m in data["months"]} == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    text = steward("performance", "--model", "Credit scoring")
    assert text.exit_code == 0 and "labelled predictions" in text.stdout and "2024-05" in text.stdout


def test_thresholds_set_and_show(registry):
    world = make_world(registry)
    production_model(registry, world.owner, name="Credit scoring", n=20)
    done = steward(
        "thresholds",
        "set",
        "--model",
        "Credit scoring",
        "--outage-days",
        7,
        "--reason",
        "weekly batch",
        "--as",
        world.owner.email,
    )
    assert done.exit_code == 0 and "version 1" in done.stdout
    shown = json.loads(steward("thresholds", "show", "--model", "Credit scoring", "--json").stdout)
    assert shown["outage_days"] == 7 and shown["is_default"] is False
    bad = steward(
        "thresholds",
        "set",
        "--model",
        "Credit scoring",
        "--drift-share",
        3,
        "--reason",
        "x",
        "--as",
        world.owner.email,
    )
    assert bad.exit_code == 1 and "drift share must lie between" in bad.stderr
