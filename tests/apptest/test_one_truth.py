"""One truth across pages, on the demo portfolio: the Inventory, Costs, Model and Risk pages, the
meeting minutes and `steward figures --json` give each figure the same value; the Drift page
opens on a period with results and never prints "None"; the Audit page reads in words."""

from __future__ import annotations

import json

from sqlmodel import select
from typer.testing import CliRunner

from core.cli.app import app as cli
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import Meeting, Model
from core.governance.minutes import meeting_minutes
from core.registry import figures
from core.reports.document import to_html


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _page(app, url, page: str, **params: str):
    at = app(url)
    for key, value in params.items():
        at.query_params[key] = value
    at.run(timeout=180)
    return at.switch_page(f"../pages/{page}.py").run(timeout=180)


def test_cost_card_assessed_and_health_agree_on_every_page(app, demo_url):
    engine = make_engine(demo_url)
    try:
        with read_session(engine) as s:
            whole = figures.portfolio_figures(s)
            model = s.exec(select(Model).where(Model.status == "production").order_by(Model.name)).first()
            assert model is not None and model.id is not None
            one = figures.model_figures(s, model.id)
            meeting = s.exec(select(Meeting).order_by(Meeting.id)).first()
            minutes = to_html(meeting_minutes(s, meeting.id)) if meeting is not None else ""
    finally:
        engine.dispose()
    cost = figures.money(whole.cost_last_30_days)

    inventory = _page(app, demo_url, "inventory")
    assert not inventory.exception
    assert _metric(inventory, "Cost, last 30 days") == cost

    costs = _page(app, demo_url, "costs")
    assert not costs.exception
    assert _metric(costs, "Cost, last 30 days") == cost
    assert _metric(costs, whole.month_window.name) == figures.money(whole.cost_in_month)

    page = _page(app, demo_url, "model", model=str(one.model_id))
    assert not page.exception
    badges = " ".join(m.value for m in page.markdown)  # st.badge renders as a Markdown badge
    assert f"Cost, last 30 days: {figures.money(one.cost_last_30_days)}" in badges
    assert one.card is not None
    assert any(one.card.text in c.value for c in page.caption)

    risk = _page(app, demo_url, "risk")
    assert not risk.exception
    assert _metric(risk, "Models assessed") == whole.assessed.text

    runner = CliRunner()
    result = runner.invoke(cli, ["figures", "--json"], env={"STEWARD_DATABASE_URL": demo_url})
    reset_settings_cache()
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert figures.money(data["cost_last_30_days"]["amounts"]) == cost
    assert data["health"] == whole.health
    assert data["models_assessed"]["in_use"] == whole.assessed.in_use
    if minutes:
        assert "Cost, last 30 days" in minutes and "Models assessed" in minutes


def test_drift_opens_on_a_period_with_results_and_never_prints_none(app, demo_url):
    at = _page(app, demo_url, "drift")
    assert not at.exception
    assert "—" != _metric(at, "Drifted features")
    shown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "None" not in shown
    assert "Nothing could be compared" not in shown


def test_audit_page_reads_in_words_and_pages_through_the_log(app, demo_url):
    at = _page(app, demo_url, "audit")
    assert not at.exception
    events = next(d.value for d in at.dataframe if "label" in d.value.columns)
    assert events["label"].str.contains(r"\.").sum() == 0  # no "promotion.approval_recorded"
    pager = at.number_input(key="audit.page")
    assert pager.label.startswith("Page (of ")
    first_ids = events["id"].tolist()
    pager.set_value(2).run(timeout=120)
    second = next(d.value for d in at.dataframe if "label" in d.value.columns)
    assert max(second["id"]) < min(first_ids)  # older events on page 2
    assert any("showing 201–400" in c.value for c in at.caption)
