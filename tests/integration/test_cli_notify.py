"""`steward notify ...`, `steward retraining ...` and `register-version --answers` on SQLite and
PostgreSQL: the same core functions, one `Error:` line and nothing written on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import ModelVersion, NotifySubscription, RetrainingRequest
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_world
from tests.notify_factories import mark_all_dispatched, monitored_model, open_drift_alert
from tests.notify_servers import http_receiver

# Commands without --as run as cron does: as the system service account, with its token.
runner = TokenRunner(default_as="system@steward.local")


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    monkeypatch.setenv("STEWARD_BASE_URL", "https://steward.example.test")
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with read_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(table)).one())


def test_endpoint_deliver_status_and_failures(registry):
    world = make_world(registry)
    make_model(registry, world.owner)
    with http_receiver() as receiver:
        added = json.loads(
            _ok(
                [
                    "notify",
                    "add-endpoint",
                    "--channel",
                    "webhook",
                    "--url",
                    receiver.url,
                    "--name",
                    "CI hook",
                    "--model",
                    "Credit scoring",
                    "--events",
                    "version.registered",
                    "--as",
                    world.owner.email,
                    "--json",
                ]
            )
        )
        assert len(added["secret"]) == 64
        mark_all_dispatched(registry)
        _ok(
            [
                "register-version",
                "--model",
                "Credit scoring",
                "--metrics",
                "roc_auc=0.83",
                "--as",
                world.owner.email,
            ]
        )
        receiver.fail_next(503)
        first = json.loads(_ok(["notify", "deliver", "--json"]))
        assert (first["events_dispatched"], first["failed_attempts"], first["waiting"]) == (1, 1, 1)
        failures = json.loads(_ok(["notify", "failures", "--json"]))
        assert [(f["status"], f["event"], f["last_status_code"]) for f in failures] == [
            ("retrying", "version.registered", 503)
        ]
        status = _ok(["notify", "status"])
        assert "E-mail: not configured" in status and "1 retrying" in status
    assert receiver.received[0].json()["data"]["version"]["number"] == 2
    listed = json.loads(_ok(["notify", "list", "--endpoints", "--json"]))
    assert [(e["name"], e["scope"]) for e in listed] == [("CI hook", "model Credit scoring")]
    assert "version.registered" in _ok(["notify", "events"])


def test_bad_input_is_one_error_line_and_writes_nothing(registry):
    world = make_world(registry)
    make_model(registry, world.owner)
    cases = [
        (
            [
                "notify",
                "add-endpoint",
                "--channel",
                "webhook",
                "--url",
                "http://ci.example.com/x",
                "--name",
                "CI",
            ],
            "must use https://",
        ),
        (
            ["notify", "add-endpoint", "--channel", "pager", "--url", "https://x.example", "--name", "CI"],
            "channel 'pager' is not one of",
        ),
        (["notify", "subscribe", "--model", "Nope", "--as", world.viewer.email], "No model named 'Nope'"),
        (
            ["notify", "subscribe", "--events", "alert.exploded", "--as", world.viewer.email],
            "unknown event type",
        ),
        (
            ["notify", "preference", "--mode", "immediate", "--quiet", "22", "--as", world.viewer.email],
            "--quiet '22' must be START-END",
        ),
        (["notify", "deliver", "--limit", "0"], "--limit must be at least 1"),
        (["notify", "deliver", "--as", world.owner.email], "may not notify deliver"),
        (["notify", "retry", "5"], "No notification delivery with id 5"),
        (
            [
                "retraining",
                "open",
                "--model",
                "Credit scoring",
                "--reason",
                "retrain",
                "--as",
                world.owner.email,
            ],
            "at least 10 characters",
        ),
        (
            [
                "retraining",
                "open",
                "--model",
                "Credit scoring",
                "--reason",
                "Drift in income.",
                "--due",
                "soon",
            ],
            "--due 'soon' is not a date",
        ),
        (
            [
                "retraining",
                "open",
                "--model",
                "Credit scoring",
                "--reason",
                "Drift in income.",
                "--alert",
                "4",
                "--as",
                world.owner.email,
            ],
            "No alert with id 4",
        ),
    ]
    for args, message in cases:
        assert message in _error(args)
    assert _count(registry, NotifySubscription) == _count(registry, RetrainingRequest) == 0


def test_retraining_from_an_alert_answered_by_register_version(registry, tmp_path):
    world = make_world(registry)
    model_id, version_id = monitored_model(registry, world)
    alert_id = open_drift_alert(registry, world.system, model_id, version_id, share=0.6)
    opened = json.loads(
        _ok(
            [
                "retraining",
                "open",
                "--model",
                "Credit scoring",
                "--reason",
                "Income drifted past the limit.",
                "--alert",
                str(alert_id),
                "--owner",
                world.viewer.email,
                "--due",
                "2099-01-31",
                "--as",
                world.owner.email,
                "--json",
            ]
        )
    )
    assert (opened["owner"], opened["due_on"], opened["status"]) == ("Victor Viewer", "2099-01-31", "open")
    request_id = opened["id"]
    artifact = tmp_path / "model.pkl"
    artifact.write_bytes(b"retrained")
    versions_before = _count(registry, ModelVersion)
    wrong = _error(
        [
            "register-version",
            "--model",
            "Credit scoring",
            "--artifact",
            str(artifact),
            "--answers",
            "999",
            "--as",
            world.owner.email,
        ]
    )
    assert "No retraining request with id 999" in wrong
    assert _count(registry, ModelVersion) == versions_before  # nothing registered, artifact removed
    registered = json.loads(
        _ok(
            [
                "register-version",
                "--model",
                "Credit scoring",
                "--artifact",
                str(artifact),
                "--answers",
                str(request_id),
                "--as",
                world.owner.email,
                "--json",
            ]
        )
    )
    assert registered["answers"] == request_id and registered["version"] == 2
    listed = json.loads(_ok(["retraining", "list", "--model", "Credit scoring", "--json"]))
    assert [(r["id"], r["status"], r["answered_version"], r["source"]) for r in listed] == [
        (request_id, "answered", 2, "alert")
    ]
    loop = json.loads(_ok(["retraining", "loop", "--json"]))
    assert [(r["model"], r["open"], r["closed"]) for r in loop] == [("Credit scoring", 1, 0)]
    _ok(
        [
            "retraining",
            "cancel",
            str(request_id),
            "--reason",
            "Superseded by the vendor model.",
            "--as",
            world.owner.email,
        ]
    )
    assert "cancelled" in _ok(["retraining", "list"])
