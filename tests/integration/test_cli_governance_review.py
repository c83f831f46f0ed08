"""`steward risk ...`, `steward rule ...` and `steward report ...` on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pypdf
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import BusinessRule, RiskAssessment
from core.governance import meetings
from tests.cli_auth import TokenRunner
from tests.factories import make_model, make_world

runner = TokenRunner()
SCORES = [
    "--score",
    "unavailability=2,3",
    "--score",
    "wrong_predictions=3,4,2,4",
    "--mitigation",
    "wrong_predictions=Underwriter review near the cut-off",
    "--score",
    "decay=3,3",
    "--score",
    "knowledge_loss=2,2",
]


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def test_risk_assess_and_flags(registry):
    world = make_world(registry)
    make_model(registry, world.owner)
    result = runner.invoke(
        app,
        [
            "risk",
            "assess",
            "--model",
            "Credit scoring",
            "--materiality",
            "high",
            "--ai-act",
            "high",
            "--annex",
            "5(b)",
            "--rationale",
            "Consumer credit",
            *SCORES,
            "--json",
            "--as",
            world.owner.email,
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tier"] == "high"
    bad = runner.invoke(
        app,
        [
            "risk",
            "assess",
            "--model",
            "Credit scoring",
            "--materiality",
            "low",
            "--ai-act",
            "minimal",
            "--rationale",
            "x",
            "--score",
            "decay=9",
            "--as",
            world.owner.email,
        ],
    )
    assert bad.exit_code == 1 and "Error: --score 'decay=9' must be" in bad.output
    missing = runner.invoke(
        app,
        [
            "risk",
            "assess",
            "--model",
            "Credit scoring",
            "--materiality",
            "low",
            "--ai-act",
            "minimal",
            "--rationale",
            "x",
            "--score",
            "decay=2,2",
            "--as",
            world.owner.email,
        ],
    )
    assert missing.exit_code == 1 and "every risk must be scored" in missing.output
    with read_session(registry) as s:
        assert len(s.exec(select(RiskAssessment)).all()) == 1
    flags = runner.invoke(app, ["risk", "flags", "--json"])
    assert flags.exit_code == 0 and json.loads(flags.output)[0]["trigger"] == "no_backup"


def test_rule_propose_decide_four_eyes(registry):
    world = make_world(registry)
    make_model(registry, world.owner)
    proposed = runner.invoke(
        app,
        [
            "rule",
            "propose",
            "--model",
            "Credit scoring",
            "--name",
            "Auto-approve",
            "--operator",
            ">",
            "--threshold",
            "0.69",
            "--outcome",
            "approve",
            "--as",
            world.owner.email,
        ],
    )
    assert proposed.exit_code == 0, proposed.output
    with read_session(registry) as s:
        rule_id = s.exec(select(BusinessRule)).one().id
    own = runner.invoke(app, ["rule", "decide", str(rule_id), "--approve", "--as", world.owner.email])
    assert own.exit_code == 1 and "rule decide" in own.output
    ok = runner.invoke(app, ["rule", "decide", str(rule_id), "--approve", "--as", world.approver.email])
    assert ok.exit_code == 0 and "approved" in ok.output
    history = runner.invoke(app, ["rule", "history", "--model", "Credit scoring"])
    assert "in force" in history.output


def test_report_review_and_model(registry, tmp_path):
    world = make_world(registry)
    make_model(registry, world.owner)
    with write_session(registry) as s:
        meeting_id = meetings.create_meeting(
            s,
            actor=world.approver,
            title="Committee",
            held_at=datetime.now(UTC),
            attendee_ids=[world.approver.id],
        )
    pdf = tmp_path / "minutes.pdf"
    result = runner.invoke(app, ["report", "review", "--meeting", str(meeting_id), "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Review meeting: Committee" in text
    html = tmp_path / "pack.html"
    result = runner.invoke(app, ["report", "model", "--model", "Credit scoring", "--out", str(html)])
    assert result.exit_code == 0 and "Documentation pack: Credit scoring" in html.read_text(encoding="utf-8")
    for args, message in [
        (
            ["report", "review", "--meeting", "999", "--out", str(tmp_path / "x.pdf")],
            "No meeting with id 999",
        ),
        (
            ["report", "model", "--model", "Credit scoring", "--out", str(tmp_path / "x.txt")],
            "must end in .html or .pdf",
        ),
        (
            ["report", "model", "--model", "Credit scoring", "--out", str(tmp_path / "no" / "x.pdf")],
            "does not exist",
        ),
    ]:
        bad = runner.invoke(app, args)
        assert bad.exit_code == 1 and message in bad.output
