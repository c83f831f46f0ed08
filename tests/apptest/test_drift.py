"""The Drift page through AppTest: stored runs render with the drifted features first, picking a
model changes the content, computing a run and checking a file go through the core, bad files
are refused with the problem named and nothing stored, viewers get no buttons."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from core.db.engine import make_engine, read_session
from core.db.models import DriftRun
from core.monitoring.drift.report import build_run_report
from core.monitoring.drift.runs import run_drift
from core.monitoring.drift.sources import Period
from tests.drift_data import FEATURES, log, make_drift_model, production_batch
from tests.factories import make_world

MAY = Period(date(2024, 5, 1), date(2024, 5, 31))


@pytest.fixture
def drift_registry(sqlite_template: Path, tmp_path: Path) -> dict:  # type: ignore[type-arg]
    """Two production models: Credit scoring drifted in May 2024, Churn model stable; runs stored."""
    path = tmp_path / "drift.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        world = make_world(engine)
        credit = make_drift_model(engine, world.owner, tmp_path, name="Credit scoring")
        churn = make_drift_model(engine, world.owner, tmp_path, name="Churn model")
        for model, shift in ((credit, 1.4), (churn, 1.0)):
            log(engine, world.owner, model.version_id, production_batch(1500, date(2024, 3, 10), seed=1))
            log(
                engine,
                world.owner,
                model.version_id,
                production_batch(1500, date(2024, 5, 10), seed=2, income_shift=shift),
            )
            run_drift(
                engine,
                actor=world.owner,
                model_id=model.model_id,
                period=Period(date(2024, 3, 1), date(2024, 3, 31)),
            )
            run_drift(engine, actor=world.owner, model_id=model.model_id, period=MAY)
    finally:
        engine.dispose()
    return {
        "url": url,
        "credit": credit.model_id,
        "churn": churn.model_id,
        "credit_version": credit.version_id,
    }


def _open(app, url: str, model_id: int | None = None, person: str = "owner@example.com"):  # type: ignore[no-untyped-def]
    at = app(url)
    at.query_params["as"] = person
    at.run()
    if model_id is not None:
        at.query_params["model"] = str(model_id)
    return at.switch_page("../pages/drift.py").run()


def _runs(url: str) -> int:
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            return int(s.execute(select(func.count()).select_from(DriftRun)).scalar_one())
    finally:
        engine.dispose()


def test_page_shows_the_latest_run_with_drifted_features_first(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    assert not at.exception
    assert at.title[0].value == "Drift"
    assert "May 2024" in at.selectbox(key="drift.run").format_func(at.selectbox(key="drift.run").value)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Drifted features"] == "1 of 4" and metrics["Drift share"] == "25%"
    text = " ".join(m.value for m in at.markdown)
    assert "The model now sees different cases than it was trained on:** **income**" in text
    assert "**income** · feature · :red[drifted]" in text
    captions = " ".join(c.value for c in at.caption)
    assert "Average 23,770 in the reference, 33,811 now (+42%)" in captions
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert table["column"].tolist()[0] == "income" and table["verdict"].tolist()[0] == "Drifted"
    assert len(at.get("plotly_chart")) >= 2  # the drifted feature and the drift share over time


def test_picking_another_model_and_period_changes_the_content(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    at.selectbox(key="drift.model").set_value(drift_registry["churn"]).run()
    assert not at.exception
    assert at.query_params["model"] == str(drift_registry["churn"])
    text = " ".join(m.value for m in at.markdown)
    assert "**Churn model v1**" in text and "The inputs look like the training data." in text
    engine = make_engine(drift_registry["url"])
    with read_session(engine) as s:
        march = s.execute(
            select(DriftRun.id).where(
                DriftRun.model_id == drift_registry["churn"], DriftRun.period_key == "2024-03-01..2024-03-31"
            )
        ).scalar_one()
    engine.dispose()
    at.selectbox(key="drift.run").set_value(march).run()
    assert "**Churn model v1** — March 2024" in " ".join(m.value for m in at.markdown)


def test_computing_a_period_stores_a_run_and_shows_it(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    before = _runs(drift_registry["url"])
    at.date_input(key="drift.new.period").set_value((date(2024, 5, 1), date(2024, 5, 15))).run()
    at.button(key="drift.new.run").click().run()
    assert not at.exception and not at.error
    assert "Drift computed" in at.success[0].value
    assert _runs(drift_registry["url"]) == before + 1
    assert "01 May 2024 – 15 May 2024" in at.selectbox(key="drift.run").format_func(
        at.selectbox(key="drift.run").value
    )


BAD_UPLOADS = [
    (
        "missing.csv",
        pd.DataFrame({"income": [1.0], "age": [30]}).to_csv(index=False).encode(),
        "lacks the feature column(s) 'region', 'channel'",
    ),
    (
        "types.csv",
        pd.DataFrame({"income": ["high"], "age": [30], "region": ["north"], "channel": ["web"]})
        .to_csv(index=False)
        .encode(),
        "column 'income' must hold numbers, but row 1 holds text such as 'high'",
    ),
    ("binary.csv", b"\x80\x04\x95 pickle bytes", "it looks like a Python pickle"),
    ("empty.csv", b"", "'empty.csv' is empty"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_show_the_problem_and_store_nothing(
    app, drift_registry, name: str, data: bytes, message: str
) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    before = _runs(drift_registry["url"])
    at.file_uploader(key="drift.upload.file").set_value((name, data, "text/csv")).run()
    at.button(key="drift.upload.check").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Nothing was stored." in errors and message in errors
    assert _runs(drift_registry["url"]) == before
    assert at.title[0].value == "Drift"  # the session goes on


def test_a_good_upload_is_checked_and_shown(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    batch = (
        production_batch(400, date(2024, 6, 1), seed=8, income_shift=1.5)[FEATURES]
        .to_csv(index=False)
        .encode()
    )
    at.file_uploader(key="drift.upload.file").set_value(("june.csv", batch, "text/csv")).run()
    at.button(key="drift.upload.check").click().run()
    assert not at.exception and not at.error
    assert "Checked june.csv: 1 of 4 compared features drifted (25%)." in at.success[0].value
    assert "upload june.csv" in at.selectbox(key="drift.run").format_func(at.selectbox(key="drift.run").value)


def test_viewers_see_results_but_no_buttons(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    at = _open(app, drift_registry["url"], drift_registry["credit"], person="viewer@example.com")
    assert not at.exception
    assert {m.label for m in at.metric} >= {"Drifted features", "Drift share"}
    keys = {b.key for b in at.button}
    assert not keys & {"drift.new.run", "drift.upload.check", "drift.report.build"}
    assert "Computing drift needs the role model owner, approver or admin." in " ".join(
        c.value for c in at.caption
    )


def test_evidently_report_is_viewable_and_downloadable(app, drift_registry) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(drift_registry["url"])
    try:
        from core.access import actor_by_email

        with read_session(engine) as s:
            owner = actor_by_email(s, "owner@example.com")
            run_id = s.execute(
                select(DriftRun.id).where(
                    DriftRun.model_id == drift_registry["credit"], DriftRun.period_key == MAY.key
                )
            ).scalar_one()
        build_run_report(engine, actor=owner, run_id=run_id, max_rows=500)
    finally:
        engine.dispose()
    at = _open(app, drift_registry["url"], drift_registry["credit"])
    assert not at.exception
    assert [d.label for d in at.download_button] == ["Download the Evidently report (HTML)"]
    assert at.get("iframe"), "the report is shown inline"
    assert any("Evidently ran on a sample" in c.value for c in at.caption)


def test_empty_registry_explains_what_is_missing(app, empty_url) -> None:  # type: ignore[no-untyped-def]
    at = app(empty_url).run()
    at = at.switch_page("../pages/drift.py").run()
    assert not at.exception
    assert "No model to monitor yet" in " ".join(m.value for m in at.markdown)


def test_demo_portfolio_shows_injected_covariate_drift(app, demo_url) -> None:  # type: ignore[no-untyped-def]
    from core.demo import DEMO_FACTS

    at = _open(app, demo_url, person="tom.jansen@demo.steward")
    portfolio = next(d.value for d in at.dataframe if "drifted_features" in d.value.columns)
    drifting = set(portfolio.loc[portfolio["status"] == "Drift detected", "model"])
    assert set(DEMO_FACTS["covariate_drift"]) <= drifting
