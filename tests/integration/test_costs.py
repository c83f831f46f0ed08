"""Costs: import errors not covered in test_registry.py, monthly queries, cost per 1,000
predictions, top growers, forecasts (backtest on a known synthetic series), stored fleet
forecasts, and budgets with the projected month of overrun."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from core.costs.budgets import budget_statuses, set_budget
from core.costs.fleet import run_fleet_forecast, stored_forecast, stored_forecasts
from core.costs.forecast import as_daily, backtest_mape, forecast_months
from core.costs.queries import cost_per_thousand, costs_by_month, monthly_predictions, top_growers
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, CostBudget, CostForecast, CostRecord
from core.errors import InvalidInput, PermissionDenied
from core.registry import ingest
from tests.factories import make_model, make_world
from tests.insight_factories import cost_frame, daily_costs

# --- forecasting on a known series (no database) ----------------------------------------------

START = date(2023, 1, 2)
DAYS = 730
LEVEL, SLOPE, WEEKLY = 100.0, 0.1, 15.0  # EUR/day, EUR/day per day, weekday amplitude


def _true_month_totals(months: list[str]) -> pd.Series:
    """The noise-free cost of each month (trend + weekday cycle) of the synthetic series."""
    index = pd.date_range(START, periods=DAYS + 800, freq="D")
    truth = daily_costs(START, len(index), level=LEVEL, slope=SLOPE, weekly=WEEKLY, noise=0.0)
    by_month = truth.groupby(truth.index.to_period("M")).sum()
    return by_month.reindex(pd.PeriodIndex(months, freq="M"))


def test_backtest_error_on_a_known_trend_and_weekly_cycle_is_small() -> None:
    series = daily_costs(START, DAYS, level=LEVEL, slope=SLOPE, weekly=WEEKLY, noise=3.0, seed=1)
    mape, detail = backtest_mape(series)
    assert list(detail.columns) == ["month", "actual", "forecast"] and len(detail) == 3
    # Stated bound: monthly totals of the three held-out months within 5% on average.
    assert mape is not None and mape < 5.0


def test_forecast_follows_the_trend_with_intervals_that_hold_the_truth() -> None:
    series = daily_costs(START, DAYS, level=LEVEL, slope=SLOPE, weekly=WEEKLY, noise=3.0, seed=1)
    forecast = forecast_months(series, horizon_months=12)
    months = forecast.months
    assert series.index[-1] == pd.Timestamp("2024-12-31")  # history ends on a month end: 12 new months
    assert len(months) == 12 and forecast.paths.shape == (500, 12) and months["month"].iloc[0] == "2025-01"
    assert (months["lower"] <= months["mean"]).all() and (months["mean"] <= months["upper"]).all()
    assert forecast.backtest_mape is not None and forecast.backtest_months == 3
    truth = _true_month_totals(list(months["month"]))
    relative = (months["mean"].to_numpy() - truth.to_numpy()) / truth.to_numpy()
    # Stated bounds: within 5% over the first 6 months, within 12% at 12 months (damped trend).
    assert np.abs(relative[:6]).max() < 0.05
    assert np.abs(relative).max() < 0.12
    inside = (truth.to_numpy() >= months["lower"].to_numpy()) & (
        truth.to_numpy() <= months["upper"].to_numpy()
    )
    assert inside[:6].all() and inside.mean() >= 0.75
    # Growth is kept: the last forecast month costs more than the last full history month.
    assert (
        months["mean"].iloc[-1]
        > series[series.index.to_period("M") == series.index[-1].to_period("M") - 1].sum()
    )


def test_the_first_forecast_month_is_completed_from_actual_spend() -> None:
    series = daily_costs(START, 600, noise=0.5)
    last = series.index[-1]
    spent_so_far = series[series.index.to_period("M") == last.to_period("M")].sum()
    forecast = forecast_months(series, horizon_months=6, backtest=False)
    first = forecast.months.iloc[0]
    assert first["month"] == str(last.to_period("M"))
    days_left = (last.to_period("M").to_timestamp(how="end").normalize() - last).days
    assert first["lower"] > spent_so_far
    assert first["mean"] == pytest.approx(spent_so_far + days_left * series.iloc[-28:].mean(), rel=0.05)


def test_forecast_refuses_short_history_and_odd_horizons() -> None:
    with pytest.raises(InvalidInput, match="needs at least 84 days of costs; this series has 30"):
        forecast_months(daily_costs(START, 30))
    with pytest.raises(InvalidInput, match="horizon must be 1 to 24 months, not 36"):
        forecast_months(daily_costs(START, 200), horizon_months=36)
    gaps = pd.Series([5.0, 7.0], index=pd.to_datetime(["2024-01-01", "2024-01-04"]))
    assert as_daily(gaps).tolist() == [5.0, 0.0, 0.0, 7.0]


# --- import errors -------------------------------------------------------------------------------


def _costs(**override: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "day": ["2025-03-01", "2025-03-02"],
            "model": ["Credit scoring"] * 2,
            "category": ["compute", "inference"],
            "amount": [10.0, 2.5],
            "currency": ["EUR", "EUR"],
        }
    )
    return frame.assign(**override)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            _costs(day=["2025-03-01", "2025-13-45"]),
            r"data row 2, column 'day': '2025-13-45' is not a valid date",
        ),
        (
            _costs(amount=[1.0, None]),
            r"data row 2, column 'amount': an amount is required; the cell is empty",
        ),
        (_costs(amount=[1.0, float("inf")]), r"data row 2, column 'amount': 'inf' is infinite"),
        (_costs(owner=["x", "y"]), r"unexpected column\(s\): owner"),
        (_costs().iloc[0:0], "the cost file holds no rows"),
        (
            _costs(category=["compute", ""]),
            r"data row 2, column 'category': '' is not one of compute, storage, inference, labelling",
        ),
    ],
)
def test_cost_import_errors_name_the_row_and_write_nothing(
    engine: Engine, frame: pd.DataFrame, message: str
) -> None:
    world = make_world(engine)
    make_model(engine, world.owner)
    with pytest.raises(InvalidInput, match=message):
        with write_session(engine) as s:
            ingest.log_costs(s, actor=world.owner, frame=frame)
    with read_session(engine) as s:
        assert s.exec(select(CostRecord)).first() is None
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "costs.logged")).first() is None


def test_cost_import_normalises_case_and_needs_the_role(engine: Engine) -> None:
    world = make_world(engine)
    make_model(engine, world.owner)
    with pytest.raises(PermissionDenied, match="may not costs log"):
        with write_session(engine) as s:
            ingest.log_costs(s, actor=world.viewer, frame=_costs())
    with write_session(engine) as s:
        assert (
            ingest.log_costs(
                s,
                actor=world.owner,
                frame=_costs(category=[" Compute", "INFERENCE"], currency=["eur", " Eur"]),
            )
            == 2
        )
    with read_session(engine) as s:
        rows = s.exec(select(CostRecord).order_by(CostRecord.day)).all()
    assert [(r.category, r.currency) for r in rows] == [("compute", "EUR"), ("inference", "EUR")]


# --- queries -------------------------------------------------------------------------------------


def _portfolio(engine: Engine, days: int = 400) -> dict[str, object]:
    """Two units: a flat credit model and a fast-growing fraud model, with costs up to yesterday."""
    world = make_world(engine)
    credit_id, (credit_v1,) = make_model(engine, world.owner)
    fraud_id, _ = make_model(engine, world.owner, name="Fraud alerts", business_unit="Fraud detection")
    end = datetime.now(UTC).date() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    flat = daily_costs(start, days, level=50, slope=0.0, weekly=5, noise=1, seed=3)
    growing = daily_costs(start, days, level=40, slope=0.25, weekly=5, noise=1, seed=4)
    with write_session(engine) as s:
        ingest.log_costs(
            s,
            actor=world.owner,
            frame=pd.concat(
                [
                    cost_frame("Credit scoring", flat),
                    cost_frame("Credit scoring", flat * 0.2, category="storage"),
                    cost_frame("Fraud alerts", growing),
                ]
            ),
        )
    return {
        "world": world,
        "credit": credit_id,
        "fraud": fraud_id,
        "credit_v1": credit_v1,
        "end": end,
        "flat": flat,
        "growing": growing,
    }


def test_monthly_costs_per_model_unit_and_category(engine: Engine) -> None:
    p = _portfolio(engine)
    with read_session(engine) as s:
        monthly = costs_by_month(s)
        credit_only = costs_by_month(s, business_unit="Credit risk")
    assert set(monthly.columns) == {
        "month",
        "model_id",
        "model",
        "business_unit",
        "category",
        "currency",
        "amount",
    }
    assert monthly["amount"].sum() == pytest.approx(
        round(p["flat"], 2).sum() + round(p["flat"] * 0.2, 2).sum() + round(p["growing"], 2).sum(), abs=0.05
    )
    assert set(credit_only["model"]) == {"Credit scoring"} and set(credit_only["category"]) == {
        "compute",
        "storage",
    }
    month = monthly["month"].iloc[0]
    assert len(month) == 7 and month[4] == "-"


def test_cost_per_thousand_predictions_uses_the_daily_rollup(engine: Engine) -> None:
    p = _portfolio(engine, days=120)
    day = p["end"] - timedelta(days=2)
    ts = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    frame = pd.DataFrame(
        {"ts": [ts] * 500, "prediction": [1] * 500, "income": [1.0] * 500, "age": [30] * 500}
    )
    with write_session(engine) as s:
        ingest.log_predictions(s, actor=p["world"].owner, model_version_id=p["credit_v1"], frame=frame)
    with read_session(engine) as s:
        per = cost_per_thousand(costs_by_month(s), monthly_predictions(s))
    assert list(per["model"].unique()) == ["Credit scoring"]  # the fraud model logged nothing
    row = per[per["month"] == day.strftime("%Y-%m")].iloc[0]
    assert row["predictions"] == 500
    assert row["cost_per_1000"] == pytest.approx(row["cost"] / 500 * 1000)
    assert row["days"] == 1  # predictions on one day of the month only
    with read_session(engine) as s:
        assert cost_per_thousand(costs_by_month(s), monthly_predictions(s), whole_months=True).empty


def test_cost_per_thousand_of_whole_months_leaves_out_a_part_month_of_traffic() -> None:
    monthly = pd.DataFrame(
        {
            "month": ["2025-03", "2025-04", "2025-05"],
            "model_id": 1,
            "model": "Churn",
            "business_unit": "Retention",
            "category": "compute",
            "currency": "EUR",
            "amount": [900.0, 900.0, 900.0],
        }
    )
    # live from 20 March: 12 days of traffic in March, every day in April, 30 of 31 days in May
    predictions = pd.DataFrame(
        {
            "month": ["2025-03", "2025-04", "2025-05"],
            "model_id": 1,
            "predictions": [1200, 3000, 3000],
            "days": [12, 30, 30],
        }
    )
    every = cost_per_thousand(monthly, predictions)
    assert list(every["cost_per_1000"]) == pytest.approx([750.0, 300.0, 300.0])  # March looks 2.5x dearer
    whole = cost_per_thousand(monthly, predictions, whole_months=True)
    assert list(whole["month"]) == ["2025-04"] and whole["cost_per_1000"].iloc[0] == pytest.approx(300.0)


def test_top_growers_put_the_growing_model_first(engine: Engine) -> None:
    p = _portfolio(engine)
    with read_session(engine) as s:
        growers = top_growers(costs_by_month(s), last_day=p["end"])
    assert growers["model"].iloc[0] == "Fraud alerts"
    assert growers["change"].iloc[0] == pytest.approx(
        0.25 * 91 * 30.4, rel=0.1
    )  # ~0.25 EUR/day more each day
    assert "Credit scoring" not in set(growers["model"][growers["change_pct"] > 5])


# --- fleet forecasts and budgets --------------------------------------------------------------


def test_fleet_forecast_stores_models_units_and_fleet_and_replaces_them(engine: Engine) -> None:
    p = _portfolio(engine)
    with pytest.raises(PermissionDenied, match="may not costs forecast"):
        run_fleet_forecast(engine, actor=p["world"].viewer)
    run = run_fleet_forecast(engine, actor=p["world"].owner, horizon_months=6)
    assert run.stored == 2 + 2 + 1 and run.skipped == {} and run.currency == "EUR"
    with read_session(engine) as s:
        stored = stored_forecasts(s)
        assert set(stored) == {
            ("model", str(p["credit"])),
            ("model", str(p["fraud"])),
            ("business_unit", "Credit risk"),
            ("business_unit", "Fraud detection"),
            ("fleet", "all"),
        }
        unit = stored[("business_unit", "Fraud detection")]
        months = 6 + (0 if (p["end"] + timedelta(days=1)).day == 1 else 1)  # + the month in progress
        assert (
            len(unit.months) == months
            and unit.paths.shape == (200, months)
            and unit.backtest_mape is not None
        )
        assert (
            stored[("model", str(p["fraud"]))].paths.size == 0
        )  # paths are kept for units and the fleet only
        first = s.exec(select(CostForecast)).all()
    again = run_fleet_forecast(engine, actor=p["world"].owner, horizon_months=6, model_names=["Fraud alerts"])
    assert again.stored == 1
    with read_session(engine) as s:
        assert len(s.exec(select(CostForecast)).all()) == len(first)
        assert len(s.exec(select(AuditEvent).where(AuditEvent.action == "costs.forecast_stored")).all()) == 2
        fleet = stored_forecast(s, "fleet", "all")
    assert fleet is not None and fleet.months["mean"].iloc[1] > unit.months["mean"].iloc[1]


def test_budget_overrun_month_and_odds(engine: Engine) -> None:
    p = _portfolio(engine)
    owner, admin = p["world"].owner, p["world"].admin
    run_fleet_forecast(engine, actor=owner, horizon_months=12)
    end: date = p["end"]  # type: ignore[assignment]
    start = date(end.year, end.month, 1)
    period_end = (pd.Period(start, "M") + 11).to_timestamp(how="end").date()
    with read_session(engine) as s:
        fraud = stored_forecast(s, "business_unit", "Fraud detection")
        credit = stored_forecast(s, "business_unit", "Credit risk")
    assert fraud is not None and credit is not None
    tight = round(float(fraud.months["mean"].sum()) * 0.7, 2)  # far less than the projected 12 months
    generous = round(float(credit.months["mean"].sum()) * 1.5, 2)
    with write_session(engine) as s:
        set_budget(
            s,
            actor=admin,
            business_unit="Fraud detection",
            period_start=start,
            period_end=period_end,
            amount=tight,
        )
        set_budget(
            s,
            actor=admin,
            business_unit="Credit risk",
            period_start=start,
            period_end=period_end,
            amount=generous,
            note="flat",
        )
    with read_session(engine) as s:
        statuses = {b.business_unit: b for b in budget_statuses(s)}
    over, fine = statuses["Fraud detection"], statuses["Credit risk"]
    assert over.overrun_month is not None and start.strftime(
        "%Y-%m"
    ) <= over.overrun_month <= period_end.strftime("%Y-%m")
    assert over.overrun_probability == pytest.approx(1.0) and over.projected > tight  # type: ignore[operator]
    assert over.earliest_overrun_month <= over.overrun_month  # type: ignore[operator]
    assert "over budget from" in over.sentence() and over.sentence().startswith("Fraud detection: budget €")
    assert fine.overrun_month is None and fine.overrun_probability == pytest.approx(0.0)
    assert "within budget (probability of overrun 0%)" in fine.sentence()
    assert list(fine.cumulative.columns) == ["month", "actual", "mean", "lower", "upper"]
    assert len(fine.cumulative) == 12


def test_set_budget_validates_and_needs_the_role(engine: Engine) -> None:
    world = make_world(engine)
    args = {
        "business_unit": "Credit risk",
        "period_start": date(2026, 1, 1),
        "period_end": date(2026, 12, 31),
    }
    cases = [
        ({"amount": -5}, PermissionDenied, "may not budget set", world.owner),
        ({"amount": -5}, InvalidInput, "budget amount must be positive, got -5", world.admin),
        (
            {"amount": 10, "period_end": date(2025, 12, 31)},
            InvalidInput,
            "budget period is reversed or empty",
            world.admin,
        ),
        ({"amount": 10, "currency": "ZZZ"}, InvalidInput, "unknown currency 'ZZZ'", world.admin),
        ({"amount": "lots"}, InvalidInput, "budget amount 'lots' is not an amount of money", world.admin),
        (
            {"amount": "10.00001"},
            InvalidInput,
            "budget amount '10.00001' has more than 4 decimal places",
            world.admin,
        ),
        ({"amount": 1e13}, InvalidInput, "budget amount .* is too large", world.admin),
        ({"amount": float("nan")}, InvalidInput, "budget amount 'nan' is not a finite amount", world.admin),
    ]
    for override, error, message, who in cases:
        with pytest.raises(error, match=message):
            with write_session(engine) as s:
                set_budget(s, actor=who, **{**args, **override})
    with write_session(engine) as s:
        first = set_budget(s, actor=world.approver, amount=1000, **args)
    with write_session(engine) as s:
        second = set_budget(s, actor=world.admin, amount=1500, currency="eur", **args)
    with read_session(engine) as s:
        rows = s.exec(select(CostBudget)).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "budget.set")).all()
    assert first == second and [(r.amount, r.currency) for r in rows] == [(Decimal("1500"), "EUR")]
    assert len(events) == 2 and events[1].before is not None
    with read_session(engine) as s:
        status = budget_statuses(s)
    assert status[0].projected is None and "No forecast stored yet" in status[0].sentence()


def test_cli_forecast_set_budget_and_budgets(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from core.cli import app
    from core.config import reset_settings_cache
    from tests.cli_auth import TokenRunner

    p = _portfolio(engine, days=200)
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    runner = TokenRunner()
    run = runner.invoke(app, ["forecast", "--all", "--horizon", "6", "--json", "--as", "owner@example.com"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["stored"] == 5
    denied = runner.invoke(
        app,
        [
            "set-budget",
            "--unit",
            "Credit risk",
            "--amount",
            "9000",
            "--year",
            str(p["end"].year),
            "--as",
            "owner@example.com",
        ],
    )
    assert denied.exit_code == 1 and "Error: Olivia Owner may not budget set" in denied.output
    ok = runner.invoke(
        app,
        [
            "set-budget",
            "--unit",
            "Credit risk",
            "--amount",
            "9000",
            "--year",
            str(p["end"].year),
            "--as",
            "admin@example.com",
        ],
    )
    assert ok.exit_code == 0 and f"Budget of Credit risk for {p['end'].year}: EUR 9,000." in ok.output
    listed = runner.invoke(app, ["budgets", "--json"])
    rows = json.loads(listed.output)
    assert [(r["business_unit"], r["budget"]) for r in rows] == [("Credit risk", 9000.0)]
    assert rows[0]["projected"] is not None
    neither = runner.invoke(app, ["forecast"])
    assert neither.exit_code == 1 and "Error: give --all or --model NAME." in neither.output


def test_a_budget_for_a_year_not_begun_says_nothing_is_spent_yet() -> None:
    from core.costs.budgets import project_budget
    from core.db.models import CostBudget

    budget = CostBudget(
        business_unit="Claims",
        period_start=date(2031, 1, 1),
        period_end=date(2031, 12, 31),
        amount=50_000.0,
        currency="EUR",
    )
    status = project_budget(budget, pd.DataFrame(columns=["month", "amount"]), None)
    assert status.spent == 0 and status.projected is None
    assert status.sentence() == (
        "Claims: budget €50,000 for 2031; nothing spent yet. "
        "No forecast stored yet (run `steward forecast --all`)."
    )
