"""The Risk page through AppTest: matrix, cell listing, flags, overdue reviews, tier rule, the form."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import RiskAssessment
from core.governance import risk

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


@pytest.fixture
def risk_registry(portfolio_registry):
    """The four-model portfolio; credit scoring high-risk (5(b)), fraud assessed long ago (overdue)."""
    url, p = portfolio_registry
    engine = make_engine(url)
    with write_session(engine) as s:
        risk.assess_model(
            s,
            actor=p.world.approver,
            model_id=p.credit,
            materiality="high",
            ai_act_class="high",
            annex_iii_area="5(b)",
            rationale="Consumer credit decisions",
            scores=[
                *LOW[:2],
                {
                    "category": "decay",
                    "likelihood": 4,
                    "impact": 5,
                    "residual_likelihood": 3,
                    "residual_impact": 4,
                    "mitigations": "monthly monitoring",
                },
                LOW[3],
            ],
        )
        risk.assess_model(
            s,
            actor=p.world.owner,
            model_id=p.fraud,
            materiality="low",
            ai_act_class="minimal",
            rationale="Analysts review every flag",
            scores=LOW,
            assessed_at=datetime(2022, 1, 10, tzinfo=UTC),
        )
    engine.dispose()
    return url, p


def _open(app, url, *, person="owner@example.com", model_id=None):
    at = app(url)
    at.query_params["as"] = person
    if model_id is not None:
        at.query_params["model"] = str(model_id)
    at.run()
    return at.switch_page("../pages/risk.py").run()


TABLES = {"risk.cell.models": "assessed_by", "risk.flags": "trigger", "risk.overdue": "days_overdue"}


def _table(at, key):
    """A read-only table, found by a column only it has (read-only dataframes carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if TABLES[key] in d.value.columns)


def test_risk_page_shows_matrix_flags_overdue_and_tier_rule(app, risk_registry):
    url, p = risk_registry
    at = _open(app, url)
    assert not at.exception
    assert at.title[0].value == "Risk"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Models assessed"] == "2 of 4 in use" and metrics["High tier"] == "1"
    assert metrics["Reviews overdue"] == "2"  # fraud overdue; churn in validation never assessed
    charts = at.get("plotly_chart")
    assert len(charts) == 2, "the matrix and the tier chart are drawn"
    # the worst-of-four matrix places credit scoring at residual 3 x 4
    assert at.selectbox(key="risk.cell").value == (3, 4, 1)
    cell = _table(at, "risk.cell.models")
    assert cell["link"].str.endswith("#Credit scoring").all()
    # the matrix flags the models whose evidence calls for a re-assessment (Tom Tech, its developer, left)
    assert "knowledge to maintain it is lost" in cell["reassess"].iloc[0]
    spec = json.loads(charts[0].proto.spec)
    texts = [a["text"] for a in spec["layout"]["annotations"]]
    assert any("1 model · 1 ⚑" in t and "⚑ Credit scoring" in t for t in texts), texts
    flags = _table(at, "risk.flags")
    assert "Technical owner Tom Tech left" in " ".join(flags["reason"])
    overdue = _table(at, "risk.overdue")
    assert set(overdue["model"]) == {"Fraud detection", "Churn propensity"}
    rule = " ".join(m.value for m in at.markdown)
    assert "High: EU AI Act high-risk or prohibited" in rule and "every 6 months" in rule


def test_switching_risk_category_and_basis_moves_models(app, risk_registry):
    url, _ = risk_registry
    at = _open(app, url)
    at.selectbox(key="risk.heatmap.category").set_value("decay").run()
    assert at.selectbox(key="risk.cell").value == (3, 4, 1)
    at.segmented_control(key="risk.heatmap.basis").set_value("inherent").run()
    assert at.selectbox(key="risk.cell").value == (4, 5, 1)
    at.selectbox(key="risk.heatmap.category").set_value("unavailability").run()
    assert at.selectbox(key="risk.cell").value == (2, 2, 2)
    assert sorted(_table(at, "risk.cell.models")["model"]) == ["Credit scoring", "Fraud detection"]
    assert not at.exception


def test_assessment_form_records_and_refuses_bad_input(app, risk_registry):
    url, p = risk_registry
    at = _open(app, url, model_id=p.churn)
    assert at.selectbox(key="risk.assess.model").value == p.churn
    form = f"risk.assess.form.{p.churn}"
    at.number_input(key=f"{form}.decay.l").set_value(4)
    at.number_input(key=f"{form}.decay.rl").set_value(2)
    at.button(key=f"{form}.submit").click().run()  # residual lowered without a mitigation, no rationale
    assert "reduced from 4×2 to 2×2: name the mitigations" in at.error[0].value
    at.text_input(key=f"{form}.decay.m").input("Monthly drift checks")
    at.button(key=f"{form}.submit").click().run()
    assert "rationale must not be empty" in at.error[0].value
    at.text_area(key=f"{form}.rationale").input("Retention offers only")
    at.selectbox(key=f"{form}.materiality").set_value("medium")
    at.button(key=f"{form}.submit").click().run()
    assert not at.error and not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tier"] == "Medium"
    engine = make_engine(url)
    with read_session(engine) as s:
        rows = s.exec(select(RiskAssessment).where(RiskAssessment.model_id == p.churn)).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].tier == "medium"


def test_viewer_sees_no_assessment_form(app, risk_registry):
    url, p = risk_registry
    at = _open(app, url, person="viewer@example.com", model_id=p.credit)
    assert not at.exception
    assert not [b for b in at.button if b.key and b.key.startswith("risk.assess.form")]
    assert any("needs the model owner or approver role" in c.value for c in at.caption)


def test_model_page_shows_the_risk_panel_and_flags(app, risk_registry):
    url, p = risk_registry
    at = app(url)
    at.query_params["as"] = "owner@example.com"
    at.query_params["model"] = str(p.credit)
    at.run()
    at = at.switch_page("../pages/model.py").run()
    assert not at.exception
    assert any("Risk tier: high" in m.value for m in at.markdown)  # st.badge renders as markdown
    assert any("Tom Tech left" in w.value for w in at.warning)


def _model_page(app, url, person, model_id):
    at = app(url)
    at.query_params["as"] = person
    at.query_params["model"] = str(model_id)
    at.run()
    return at.switch_page("../pages/model.py").run()


def test_model_page_rule_history_and_four_eyes_forms(app, risk_registry):
    from core.db.models import BusinessRule

    url, p = risk_registry
    at = _model_page(app, url, "owner@example.com", p.credit)
    assert not at.exception
    at.selectbox(key="model.rules.propose.name").set_value("Auto-approve")  # the next version of a rule
    at.selectbox(key="model.rules.propose.operator").set_value(">")
    at.number_input(key="model.rules.propose.threshold").set_value(0.35)
    at.text_input(key="model.rules.propose.outcome").input("approve")
    at.button(key="model.rules.propose.submit").click().run()
    assert not at.exception and not at.error
    engine = make_engine(url)
    with read_session(engine) as s:
        rule = s.exec(select(BusinessRule).where(BusinessRule.status == "proposed")).one()
    assert (rule.name, rule.version, rule.threshold) == ("Auto-approve", 2, 0.35)
    assert not [b for b in at.button if str(b.key).startswith("model.rules.decide")]  # an owner cannot decide

    at = _model_page(app, url, "approver@example.com", p.credit)
    at.button(key=f"model.rules.decide.{rule.id}.approve").click().run()
    assert not at.exception and not at.error
    history = next(d.value for d in at.dataframe if "decided_by" in d.value.columns)
    assert list(history["version"]) == [2, 1] and history["state"].iloc[1].startswith("superseded on")
    row = history.iloc[0]
    assert (row["condition"], row["state"], row["proposed_by"], row["decided_by"]) == (
        "approve if score > 0.35",
        "in force",
        "Olivia Owner",
        "Arthur Approver",
    )
    engine.dispose()
