"""One definition per figure (core/registry/figures.py) on a real database: SQLite, and PostgreSQL
when configured. Each figure has the same value wherever the core hands it out (inventory KPIs,
the model's detail, the promotion gate, the CLI), aggregates add up their parts, and the reports
print figures with their units."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.cli.app import app as cli
from core.config import reset_settings_cache
from core.costs.budgets import BudgetStatus
from core.costs.forecast import MonthlyForecast, add_up
from core.db.engine import read_session, write_session
from core.db.models import Model, ModelVersion
from core.governance import gates
from core.registry import figures, reads, services
from core.reports.document import absolute_link, cell_text
from core.reports.evidence import figures as evidence_figures
from tests.cli_auth import TokenRunner
from tests.inventory_factories import make_portfolio


@pytest.fixture
def portfolio(engine):
    return make_portfolio(engine)


def test_cost_last_30_days_is_one_figure_everywhere(engine, portfolio):
    with read_session(engine) as s:
        kpis = reads.inventory_kpis(s)
        figure = figures.cost_last_30_days(s)
        whole = figures.portfolio_figures(s)
        frame = reads.inventory(s)
        credit = reads.model_detail(s, portfolio.credit)
        credit_figure = figures.model_figures(s, portfolio.credit)
    assert kpis.monthly_cost == figure == whole.cost_last_30_days
    assert figure == {"EUR": pytest.approx(300.0), "USD": pytest.approx(75.0)}
    assert whole.cost_window.name == "Cost, last 30 days"
    assert (whole.cost_window.last_day - whole.cost_window.first_day).days == 29
    credit_row = frame[frame["model_id"] == portfolio.credit].iloc[0]
    assert credit.cost_last_30_days == credit_figure.cost_last_30_days == {"EUR": credit_row["monthly_cost"]}
    assert figures.money(figure) == "€300 + $75"


def test_cost_in_a_month_is_named_for_its_month():
    window = figures.month_window("2026-11")
    assert (window.name, window.first_day, window.last_day) == (
        "Cost in November 2026",
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert window.period == "1 Nov – 30 Nov 2026"
    assert figures.last_complete_month(date(2026, 12, 3)) == "2026-11"
    assert figures.last_complete_month(date(2027, 1, 1)) == "2026-12"


def test_card_completeness_counts_the_same_eight_sections_on_every_page(engine, portfolio):
    with read_session(engine) as s:
        detail = reads.model_detail(s, portfolio.credit)
        from_figures = figures.model_figures(s, portfolio.credit)
        model = s.get(Model, portfolio.credit)
        version = s.get(ModelVersion, from_figures.card_version_id)
        gate = gates.model_card_gate(model, version)
    card = next(c for c in detail.cards if c.version == from_figures.card_version)
    assert card.completeness is not None
    assert card.completeness.total == from_figures.card.total == 8  # type: ignore[union-attr]
    assert gate.figure == card.completeness.text == from_figures.card.text  # type: ignore[union-attr]


def test_card_completeness_splits_required_from_recommended():
    done = figures.card_completeness({"purpose": "p", "intended_use": " ", "card_caveats": "c"})
    assert done.text == "2 of 8 sections filled"
    assert done.missing_required == ["Intended use", "Training data", "Evaluation", "Limitations"]
    assert done.missing_recommended == ["Out-of-scope uses", "Ethical considerations"]


def test_models_assessed_counts_models_in_use_and_says_why(engine, portfolio):
    world = portfolio.world
    with write_session(engine) as s:
        services.update_model(
            s,
            actor=world.admin,
            model_id=portfolio.demand,
            status="retired",
            reason="Replaced by a vendor model.",
        )
    with read_session(engine) as s:
        counts = figures.assessed_counts(s)
        whole = figures.portfolio_figures(s)
    assert (counts.assessed, counts.in_use, counts.retired, counts.registered) == (0, 3, 1, 4)
    assert whole.assessed == counts
    assert counts.text == "0 of 3 in use"
    assert "holds 4 models; the 1 retired model is not counted" in counts.explanation


def test_health_counts_every_model(engine, portfolio):
    with read_session(engine) as s:
        counts = figures.health_counts(s)
        kpis = reads.inventory_kpis(s)
        frame = reads.inventory(s)
    assert sum(counts.values()) == len(frame)
    assert (counts["alert"], counts["warning"]) == (kpis.with_alerts, kpis.with_warnings)
    assert counts["unknown"] == int((frame["health"] == "unknown").sum())


def test_cli_figures_give_the_page_values(engine, db_url, portfolio, monkeypatch):
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = TokenRunner()
    result = runner.invoke(cli, ["figures", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    with read_session(engine) as s:
        kpis = reads.inventory_kpis(s)
    assert data["cost_last_30_days"]["name"] == "Cost, last 30 days"
    assert data["cost_last_30_days"]["amounts"] == pytest.approx(kpis.monthly_cost)
    assert data["models_assessed"] == {"assessed": 0, "in_use": 4, "retired": 0}
    one = runner.invoke(cli, ["figures", "--model", "Credit scoring", "--json"])
    credit = json.loads(one.stdout)
    assert credit["cost_last_30_days"] == {"EUR": pytest.approx(300.0)}
    assert credit["card"]["total"] == 8
    text = runner.invoke(cli, ["figures"])
    assert "Cost, last 30 days (" in text.stdout and "€300 + $75" in text.stdout
    missing = runner.invoke(cli, ["figures", "--model", "Nope"])
    assert missing.exit_code == 1
    assert "No model named 'Nope'" in missing.output
    reset_settings_cache()


def _forecast(values: list[float], months: list[str], seed: int) -> MonthlyForecast:
    rng = np.random.default_rng(seed)
    paths = np.array(values)[None, :] * rng.uniform(0.8, 1.2, size=(500, len(values)))
    frame = pd.DataFrame(
        {"month": months, "mean": paths.mean(axis=0), "lower": paths.min(axis=0), "upper": paths.max(axis=0)}
    )
    return MonthlyForecast(frame, paths, date(2025, 1, 1), date(2026, 11, 30))


def test_a_unit_forecast_adds_up_its_models_and_is_never_below_one():
    months = ["2026-12", "2027-01", "2027-02"]
    big, small = _forecast([100.0, 120.0, 150.0], months, 1), _forecast([10.0, 10.0, 10.0], months, 2)
    whole = _forecast([50.0, 50.0, 50.0], months, 3)  # a direct fit of the sum can come out low
    unit = add_up([big, small], whole=whole)
    assert unit.months["mean"].to_numpy() == pytest.approx(
        big.months["mean"].to_numpy() + small.months["mean"].to_numpy(), rel=1e-9
    )
    assert unit.paths.sum(axis=1).mean() >= big.paths.sum(axis=1).mean()
    assert unit.method.startswith("Sum of its models' forecasts")
    assert add_up([], whole=whole) is whole


def _budget(start: date, spent: float, overrun: str | None, as_of: date) -> BudgetStatus:
    return BudgetStatus(
        "Fraud", start, date(start.year, 12, 31), 133_900.0, "EUR", spent, 178_579.0, 150_000.0, 200_000.0,
        overrun, overrun, 0.785, "2027-11", 0.9, pd.DataFrame(), as_of,
    )  # fmt: skip


def test_a_budget_year_not_started_raises_nothing_unless_its_projection_overruns():
    quiet = _budget(date(2027, 1, 1), 0.0, None, date(2026, 12, 2))
    assert not quiet.started and quiet.alert is None
    assert "it starts on 1 January 2027" in quiet.sentence()
    projected = _budget(date(2027, 1, 1), 0.0, "2027-09", date(2026, 12, 2))
    assert projected.alert == "projected"
    sentence = projected.sentence()
    assert "€133,900" in sentence and "(probability 78%)" in sentence and "e+05" not in sentence
    assert _budget(date(2026, 1, 1), 140_000.0, None, date(2026, 12, 2)).alert == "over"


def test_report_evidence_has_units_and_links_are_absolute(monkeypatch):
    rows = dict(
        evidence_figures(
            {
                "budget": 133900.0,
                "spent": 0.0,
                "currency": "EUR",
                "projected": 178579.4,
                "over_budget_from": "2027-09",
                "overrun_probability": 0.785,
                "drift_share": 0.25,
            }
        )
    )
    assert rows == {
        "Budget": "€133,900",
        "Spent": "€0",
        "Projected by the end of the period": "€178,579",
        "Over budget from": "September 2027",
        "Probability of overrunning": "78%",
        "Drift share": "25%",
    }
    assert cell_text(133900.0) == "133,900" and cell_text(0.7851) == "0.785"
    monkeypatch.setenv("STEWARD_BASE_URL", "https://steward.example.com/")
    reset_settings_cache()
    try:
        assert absolute_link("/promotions?request=2") == "https://steward.example.com/promotions?request=2"
        assert absolute_link("https://elsewhere.example/x") == "https://elsewhere.example/x"
    finally:
        monkeypatch.delenv("STEWARD_BASE_URL")
        reset_settings_cache()


def test_period_text_spans_years():
    window = figures.CostWindow("Cost, last 30 days", date(2026, 12, 10), date(2027, 1, 8))
    assert window.period == "10 Dec 2026 – 8 Jan 2027"
