"""`steward segments MODEL` and `steward attach-attributes FILE --model MODEL`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import SegmentAttribute
from tests.cli_auth import TokenRunner
from tests.factories import make_world
from tests.integration.test_segments import deployed, predictions

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


def test_segments_json_and_attach(registry, tmp_path):
    world = make_world(registry)
    end = datetime.now(UTC) - timedelta(hours=1)
    frame = predictions(900, broker_error=0.5, end=end)
    frame.loc[:3, "region"] = "Islands"
    deployed(registry, world.owner, frame, promoted=end - timedelta(days=100))
    join = tmp_path / "age.csv"
    frame.assign(age_band=["18-40", "41-64", "65+"] * 300)[["request_id", "age_band"]].to_csv(
        join, index=False
    )
    attached = steward(
        "attach-attributes", join, "--model", "Claims triage", "--json", "--as", world.owner.email
    )
    assert attached.exit_code == 0, attached.output
    assert json.loads(attached.stdout)["attributes"] == ["age_band"]

    result = steward("segments", "Claims triage", "--json")
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["labelled"] == 900 and got["thresholds"]["min_group_size"] == 30
    sources = {s["segment"]: s["source"] for s in got["segments"]}
    assert sources == {"region": "feature", "channel": "feature", "age_band": "sensitive"}
    islands = [g for g in got["groups"] if g["group"] == "Islands"]
    assert islands and all(g["value"] is None and g["note"].startswith("too few cases") for g in islands)
    assert {(f["kind"], f["subject"]) for f in got["findings"]} == {("segment", "channel = broker")}
    assert {d["measure"] for d in got["disparities"] if d["segment"] == "age_band"} == {
        "demographic_parity_difference",
        "equalized_odds_difference",
    }
    table = steward("segments", "Claims triage")
    assert table.exit_code == 0 and "too few cases" in table.stdout and "ALERT (segment)" in table.stdout


def test_a_bad_join_file_exits_1_and_writes_nothing(registry, tmp_path):
    world = make_world(registry)
    end = datetime.now(UTC) - timedelta(hours=1)
    deployed(registry, world.owner, predictions(30, end=end), promoted=end - timedelta(days=100))
    join = tmp_path / "bad.csv"
    join.write_text("request,age_band\nr0-00001,65+\n")
    result = steward("attach-attributes", join, "--model", "Claims triage", "--as", world.owner.email)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: the join file has no 'request_id' column; found: request, age_band."
    )
    with read_session(registry) as s:
        assert s.execute(select(func.count()).select_from(SegmentAttribute)).scalar_one() == 0
