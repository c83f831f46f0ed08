"""Registry reads (core/registry/reads.py) on a real database: SQLite, and PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import event

from core import clock
from core.db.engine import read_session, write_session
from core.errors import NotFound
from core.governance import risk
from core.registry import reads, services
from tests.factories import make_model, make_world
from tests.inventory_factories import make_portfolio


@pytest.fixture
def portfolio(engine):
    return make_portfolio(engine)


def _row(frame: pd.DataFrame, name: str) -> pd.Series:
    rows = frame[frame["name"] == name]
    assert len(rows) == 1, f"expected one row for {name}"
    return rows.iloc[0]


def test_inventory_lists_every_model_with_owners_stage_and_cost(engine, portfolio):
    with read_session(engine) as s:
        frame = reads.inventory(s)
    assert list(frame.columns) == reads.INVENTORY_COLUMNS
    assert list(frame["name"]) == ["Churn propensity", "Credit scoring", "Demand forecast", "Fraud detection"]
    credit = _row(frame, "Credit scoring")
    assert credit["business_process"] == "Loan approval"
    assert credit["accountable_owner"] == "Bianca Business"
    assert credit["technical_owner"] == "Tom Tech (left)"
    assert credit["stage"] == "production"
    assert credit["production_version"] == 2
    assert credit["version_count"] == 3
    assert credit["monthly_cost"] == pytest.approx(300.0)  # 30 days x 10 EUR
    assert credit["cost_currency"] == "EUR"
    assert credit["health"] == "alert"
    assert credit["health_reason"] == "Drift in 4 of 10 features"
    assert credit["last_prediction"].tzinfo is not None
    assert credit["last_retrained"] == portfolio.promoted_v2_at + timedelta(days=50)  # v3, the newest version
    churn = _row(frame, "Churn propensity")
    assert churn["stage"] == "staging"
    assert pd.isna(churn["production_version"])
    assert pd.isna(churn["monthly_cost"])
    demand = _row(frame, "Demand forecast")
    assert (demand["stage"], demand["version_count"], demand["health"]) == ("none", 0, "unknown")
    assert demand["accountable_owner"] is None
    assert pd.isna(demand["last_prediction"])
    fraud = _row(frame, "Fraud detection")
    assert fraud["cost_currency"] == "USD"
    assert fraud["last_prediction"] < credit["last_prediction"]


def test_inventory_of_an_empty_registry_is_empty_with_columns(engine):
    with read_session(engine) as s:
        frame = reads.inventory(s)
        kpis = reads.inventory_kpis(s)
    assert frame.empty
    assert list(frame.columns) == reads.INVENTORY_COLUMNS
    assert kpis.models == 0 and kpis.monthly_cost == {}


def test_inventory_uses_a_fixed_number_of_statements(engine):
    world = make_world(engine)
    for i in range(6):
        make_model(engine, world.owner, name=f"Model {i}", versions=2)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with read_session(engine) as s:
            frame = reads.inventory(s)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(frame) == 6
    assert len(statements) == 2  # the listing and the 30-day costs
    assert not any("prediction_log" in statement for statement in statements)


def test_monthly_cost_of_a_model_in_two_currencies_is_not_summed(engine, portfolio):
    from core.registry import ingest

    today = clock.today()
    with write_session(engine) as s:
        ingest.log_costs(
            s,
            actor=portfolio.world.owner,
            frame=pd.DataFrame(
                [
                    {
                        "day": today,
                        "model": "Credit scoring",
                        "category": "storage",
                        "amount": 5.0,
                        "currency": "USD",
                    }
                ]
            ),
        )
    with read_session(engine) as s:
        credit = _row(reads.inventory(s), "Credit scoring")
        kpis = reads.inventory_kpis(s)
    assert pd.isna(credit["monthly_cost"])
    assert credit["cost_currency"] == "EUR, USD"
    assert kpis.monthly_cost == {"EUR": pytest.approx(300.0), "USD": pytest.approx(80.0)}


def test_inventory_kpis(engine, portfolio):
    with read_session(engine) as s:
        kpis = reads.inventory_kpis(s)
        frame, same = reads.inventory_and_kpis(s)
    assert same == kpis and len(frame) == 4
    assert (kpis.models, kpis.in_production, kpis.with_alerts, kpis.with_warnings) == (4, 2, 1, 1)
    assert kpis.monthly_cost == {"EUR": pytest.approx(300.0), "USD": pytest.approx(75.0)}
    assert kpis.high_risk is None  # no risk data: the KPI is hidden, never a false 0


def test_risk_kpis_appear_once_a_model_is_assessed(engine, portfolio):
    from core.governance.risk import assess_model

    with write_session(engine) as s:
        assess_model(
            s,
            actor=portfolio.world.owner,
            model_id=portfolio.credit,
            materiality="high",
            ai_act_class="minimal",
            rationale="decides on loans",
            scores=[
                {"category": c, "likelihood": 2, "impact": 3}
                for c in ("unavailability", "wrong_predictions", "decay", "knowledge_loss")
            ],
        )
    with read_session(engine) as s:
        kpis = reads.inventory_kpis(s)
    assert kpis.high_risk == 1
    assert kpis.overdue_reviews == 2  # churn (validation) and fraud (production) were never assessed


def test_filter_inventory_by_search_unit_stage_owner_status_and_sort(engine, portfolio):
    with read_session(engine) as s:
        frame = reads.inventory(s)
    pick = reads.filter_inventory
    assert list(pick(frame, reads.InventoryFilter(search="LOAN"))["name"]) == ["Credit scoring"]
    assert list(pick(frame, reads.InventoryFilter(search="tom tech"))["name"]) == [
        "Churn propensity",
        "Credit scoring",
        "Fraud detection",
    ]
    assert list(pick(frame, reads.InventoryFilter(units=("Fraud", "Marketing")))["name"]) == [
        "Churn propensity",
        "Fraud detection",
    ]
    assert list(pick(frame, reads.InventoryFilter(stages=("none",)))["name"]) == ["Demand forecast"]
    assert list(pick(frame, reads.InventoryFilter(owners=("Olivia Owner",)))["name"]) == ["Churn propensity"]
    assert list(pick(frame, reads.InventoryFilter(statuses=("production",)))["name"]) == [
        "Credit scoring",
        "Fraud detection",
    ]
    by_health = pick(frame, reads.InventoryFilter(sort="Health (most urgent first)"))
    assert list(by_health["health"]) == ["alert", "warning", "unknown", "ok"]
    by_cost = pick(frame, reads.InventoryFilter(sort="Cost, last 30 days (highest first)"))
    assert list(by_cost["name"].iloc[:2]) == ["Credit scoring", "Fraud detection"]
    assert pick(frame, reads.InventoryFilter(search="no such model")).empty


def test_inventory_options_list_what_the_filters_offer(engine, portfolio):
    with read_session(engine) as s:
        options = reads.inventory_options(reads.inventory(s))
    assert options.units == ["Credit risk", "Fraud", "Marketing", "Supply chain"]
    assert options.stages == ["production", "staging", "none"]
    assert "Tom Tech (left)" in options.owners and "Bianca Business" in options.owners
    assert options.statuses == ["development", "validation", "production"]


def test_model_detail_holds_everything_about_the_model(engine, portfolio):
    with read_session(engine) as s:
        detail = reads.model_detail(s, portfolio.credit)
    assert detail.name == "Credit scoring" and detail.business_process is not None
    assert detail.business_process.kpi == "Default rate"
    assert detail.production_version == 2 and detail.latest_version == 3
    assert list(detail.versions["version"]) == [3, 2, 1]
    assert list(detail.versions["stage"]) == ["staging", "production", "archived"]
    assert detail.metric_names == ["accuracy", "roc_auc"]
    assert detail.versions["metric:roc_auc"].tolist() == pytest.approx([0.80, 0.79, 0.78])
    assert detail.versions["training_data"].iloc[0] == "Loans (2023)"
    assert detail.params[2] == {"depth": 4}
    roles = dict(zip(detail.owners["role_label"], detail.owners["person"], strict=True))
    assert roles == {
        "Accountable owner": "Bianca Business",
        "Technical owner": "Tom Tech",
        "Independent validator": "Arthur Approver",
        "Backup": "Pia Backup",
    }
    assert not detail.owners.loc[detail.owners["person"] == "Tom Tech", "active"].iloc[0]
    cards = {c.version: c for c in detail.cards}
    assert cards[2].missing == []
    assert cards[3].missing == [
        "Evaluation",
        "Limitations",
        "Ethical considerations",
        "Caveats and recommendations",
    ]
    assert detail.datasets[["used_as", "dataset", "versions"]].values.tolist() == [
        ["Training", "Loans", "v1, v2, v3"],
        ["Evaluation", "Loans", "v1, v2, v3"],
    ]
    assert detail.deployments[["version", "environment", "active"]].values.tolist() == [
        [2, "production", True]
    ]
    assert detail.rules["condition"].tolist() == ["approve if score > 0.69"]
    history = detail.stage_history
    assert history[["version", "from_stage", "to_stage"]].values.tolist() == [
        [3, "none", "staging"],
        [2, "none", "production"],
        [1, "production", "archived"],
        [1, "none", "production"],
    ]
    assert detail.health.status == "alert" and detail.health.reasons == ["Drift in 4 of 10 features"]


def test_model_detail_of_a_bare_model_and_of_a_missing_one(engine, portfolio):
    with read_session(engine) as s:
        detail = reads.model_detail(s, portfolio.demand)
        assert detail.versions.empty and detail.owners.empty and detail.cards == []
        assert detail.production_version is None and detail.health.status == "unknown"
        assert detail.datasets.empty and detail.rules.empty and detail.stage_history.empty
        with pytest.raises(NotFound, match="No model with id 9999"):
            reads.model_detail(s, 9999)


def test_production_version_on_replays_the_stage_history(engine, portfolio):
    p = portfolio
    with read_session(engine) as s:
        on = lambda when: reads.production_version_on(s, p.credit, when)  # noqa: E731
        assert on(p.promoted_v1_at - timedelta(seconds=1)) is None
        assert on(p.promoted_v1_at).version == 1
        assert on(p.promoted_v2_at - timedelta(days=1)).version == 1
        # v2 replaced v1 at the same instant: v2 is in production from that instant on.
        assert on(p.promoted_v2_at) == reads.VersionRef(p.credit_versions[1], 2)
        assert on(clock.now()).version == 2
        with pytest.raises(ValueError, match="timezone-aware"):
            on(p.promoted_v2_at.replace(tzinfo=None))


def test_prediction_volume_per_day_and_version(engine, portfolio):
    with read_session(engine) as s:
        volume = reads.prediction_volume(s, portfolio.credit, days=30)
        old = reads.prediction_volume(s, portfolio.fraud, days=7)
    assert set(volume["version"]) == {2}
    assert volume["predictions"].sum() > 0 and volume["day"].is_monotonic_increasing
    assert old.empty  # fraud's only predictions are 12 days old


def test_owners_overview_flags_knowledge_loss(engine, portfolio):
    with read_session(engine) as s:
        overview = reads.owners_overview(s)
    flags = {(r.model, r.risk) for r in overview.flags.itertuples()}
    assert ("Credit scoring", "Owner has left") in flags
    assert ("Fraud detection", "Owner has left") in flags
    assert ("Churn propensity", "No backup") in flags
    assert (
        "Churn propensity",
        "No technical owner",
    ) not in flags  # Tom left: flagged once, as "Owner has left"
    detail = overview.flags.set_index(["model", "risk"]).loc[("Churn propensity", "Owner has left"), "detail"]
    assert detail.startswith("Technical owner, left on ") and detail.endswith("Name a new technical owner.")
    assert {
        ("Demand forecast", r) for r in ("No accountable owner", "No technical owner", "No backup")
    } <= flags
    assert ("Credit scoring", "No backup") not in flags
    matrix = overview.matrix.set_index("model")
    assert matrix.loc["Credit scoring", "Technical owner"] == "Tom Tech (left)"
    assert matrix.loc["Demand forecast", "Accountable owner"] == ""
    people = overview.people.set_index("person")
    assert people.loc["Tom Tech", "Technical owner"] == 3 and not people.loc["Tom Tech", "active"]
    assert not people["owns_many"].any()


def test_owners_overview_flags_people_who_own_many_models(engine):
    world = make_world(engine)
    for i in range(reads.MANY_MODELS_THRESHOLD):
        model_id, _ = make_model(engine, world.owner, name=f"Model {i}")
        with write_session(engine) as s:
            services.assign_owner(
                s, actor=world.owner, model_id=model_id, person_id=world.owner.id, role="business_owner"
            )
    with read_session(engine) as s:
        overview = reads.owners_overview(s)
    many = overview.flags[overview.flags["risk"] == "Owns many models"]
    assert many["person"].tolist() == ["Olivia Owner"]
    assert overview.people.set_index("person").loc["Olivia Owner", "owns_many"]


def test_filter_owners_by_person_and_team(engine, portfolio):
    with read_session(engine) as s:
        overview = reads.owners_overview(s)
    olivia = next(i for i, n in overview.persons if n == "Olivia Owner")
    mine = reads.filter_owners(overview, person_id=olivia)
    assert mine.matrix["model"].tolist() == ["Churn propensity"]
    assert mine.people["person"].tolist() == ["Olivia Owner"]
    assert set(mine.flags["model"]) == {"Churn propensity"}
    team = reads.filter_owners(overview, team="Data science")
    assert team.matrix["model"].tolist() == ["Churn propensity", "Credit scoring", "Fraud detection"]
    assert set(team.people["person"]) == {"Tom Tech", "Pia Backup"}
    assert reads.filter_owners(overview) is overview


def test_model_choices_are_sorted_by_name(engine, portfolio):
    with read_session(engine) as s:
        choices = reads.model_choices(s)
    assert [c.name for c in choices] == [
        "Churn propensity",
        "Credit scoring",
        "Demand forecast",
        "Fraud detection",
    ]
    assert choices[1].id == portfolio.credit and choices[1].business_unit == "Credit risk"


def test_owners_page_and_risk_flags_name_the_same_departures(engine, portfolio):
    with write_session(engine) as s:  # a validator leaving is not knowledge loss
        services.set_person_active(
            s, actor=portfolio.world.system, person_id=portfolio.world.approver.id, active=False
        )
    with read_session(engine) as s:
        overview = reads.owners_overview(s)
        flags = risk.reassessment_flags(s)
    left = overview.flags[overview.flags["risk"] == "Owner has left"]
    departures = [f for f in flags if f.trigger == "owner_left"]
    assert set(left["person"]) == {"Tom Tech"} and all("Tom Tech left" in f.reason for f in departures)
    assert (
        set(left["model_id"])
        == {f.model_id for f in departures}
        == {portfolio.credit, portfolio.fraud, portfolio.churn}
    )
    assert (
        overview.matrix.set_index("model").loc["Credit scoring", "Independent validator"]
        == "Arthur Approver (left)"
    )
