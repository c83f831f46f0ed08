"""Risk assessments: the tier rule, review intervals, living-risk flags and the promotion gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from core import audit
from core.db.engine import read_session, write_session
from core.db.models import Alert, AuditEvent, ModelHealth, RiskAssessment
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.governance import risk
from core.registry import services
from tests.factories import make_model, make_world

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


def scores(**overrides: tuple[int, int] | tuple[int, int, int, int, str]) -> list[dict]:
    """All four risks at 2x2, with some categories overridden (l, i) or (l, i, rl, ri, mitigations)."""
    out = []
    for c in risk.RISK_LABELS:
        given = overrides.get(c)
        if given is None:
            out.append({"category": c, "likelihood": 2, "impact": 2})
        elif len(given) == 2:
            out.append({"category": c, "likelihood": given[0], "impact": given[1]})
        else:
            like, imp, rl, ri, m = given  # type: ignore[misc]
            out.append(
                {
                    "category": c,
                    "likelihood": like,
                    "impact": imp,
                    "residual_likelihood": rl,
                    "residual_impact": ri,
                    "mitigations": m,
                }
            )
    return out


def assess(engine, actor, model_id, *, at=None, **kw) -> int:
    args = {
        "scores": LOW,
        "materiality": "low",
        "ai_act_class": "minimal",
        "rationale": "Internal ranking only.",
    }
    args.update(kw)
    with write_session(engine) as s:
        return risk.assess_model(s, actor=actor, model_id=model_id, assessed_at=at, **args)


# --- the tier rule and intervals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("materiality", "ai_act", "residuals", "tier"),
    [
        ("low", "minimal", [4, 4, 4, 4], "low"),
        ("low", "minimal", [7, 1, 1, 1], "low"),
        ("low", "minimal", [8, 1, 1, 1], "medium"),
        ("medium", "minimal", [1, 1, 1, 1], "medium"),
        ("low", "limited", [1, 1, 1, 1], "low"),
        ("low", "minimal", [15, 1, 1, 1], "high"),
        ("high", "minimal", [1, 1, 1, 1], "high"),
        ("low", "high", [1, 1, 1, 1], "high"),
        ("low", "prohibited", [1, 1, 1, 1], "high"),
    ],
)
def test_tier_rule(materiality, ai_act, residuals, tier):
    got, reason = risk.tier_for(materiality=materiality, ai_act_class=ai_act, residual_scores=residuals)
    assert got == tier
    assert reason


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 15), 6, date(2025, 7, 15)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2025, 11, 30), 24, date(2027, 11, 30)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert risk.add_months(start, months) == expected


def test_assessment_stores_tier_interval_and_next_review(engine):
    world = make_world(engine)
    model_id, (v1,) = make_model(engine, world.owner)
    when = datetime(2025, 1, 10, 9, tzinfo=UTC)
    high = assess(
        engine,
        world.owner,
        model_id,
        at=when,
        ai_act_class="high",
        annex_iii_area="5(b)",
        materiality="high",
        model_version_id=v1,
    )
    with read_session(engine) as s:
        view = risk.current_assessment(s, model_id)
        assert view is not None and view.id == high
        assert (view.tier, view.review_interval_months, view.next_review_due) == (
            "high",
            6,
            date(2025, 7, 10),
        )
        assert view.version == 1 and view.model_version == 1
        assert "5(b)" in view.ai_act_label and "Creditworthiness" in view.ai_act_label
        assert risk.current_tier(s, model_id) == "high"
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "risk.assessed")).one()
        assert event.model_id == model_id and '"tier":"high"' in (event.after or "")
    assess(engine, world.approver, model_id, at=when + timedelta(days=30), materiality="medium")
    with read_session(engine) as s:
        view = risk.current_assessment(s, model_id)
        assert (view.version, view.tier, view.next_review_due) == (2, "medium", date(2026, 2, 9))
        assert [a.version for a in risk.assessment_history(s, model_id)] == [2, 1]
        assert audit.verify(s).ok
    assess(engine, world.owner, model_id, materiality="low")
    with read_session(engine) as s:
        view = risk.current_assessment(s, model_id)
        assert view.tier == "low" and view.review_interval_months == 24


def test_residual_scores_decide_the_tier(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    assess(
        engine, world.owner, model_id, scores=scores(unavailability=(5, 5, 2, 4, "Fallback to rules engine"))
    )
    with read_session(engine) as s:
        view = risk.current_assessment(s, model_id)
        assert view.tier == "medium"  # inherent 25, residual 8
        assert view.score("unavailability").inherent_score == 25
        assert view.score("unavailability").residual_score == 8
        assert "residual score of 8" in view.tier_reason


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": LOW[:3]}, "missing: knowledge to maintain it is lost"),
        (
            {"scores": [*LOW, {"category": "weather", "likelihood": 1, "impact": 1}]},
            "unknown risk category: weather",
        ),
        (
            {"scores": scores(decay=(6, 2))},
            "likelihood of 'fairness or accuracy decays over time' must be a whole number",
        ),
        ({"scores": scores(decay=(2, 0))}, "impact of .* must be a whole number from 1 to 5"),
        ({"scores": scores(decay=(2, 2, 3, 2, "x"))}, "cannot exceed the risk before mitigation"),
        ({"scores": scores(decay=(4, 4, 2, 2, ""))}, "name the mitigations"),
        ({"ai_act_class": "high"}, "needs its Annex III area"),
        ({"annex_iii_area": "5(b)"}, "applies only to the high-risk class"),
        ({"materiality": "huge"}, "materiality 'huge' is not one of"),
        ({"rationale": "  "}, "rationale must not be empty"),
        ({"exposure_amount": -5}, "exposure must not be negative"),
        ({"exposure_currency": "euro"}, "three-letter code"),
    ],
)
def test_bad_assessment_input_is_refused_and_writes_nothing(engine, kwargs, message):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with pytest.raises(InvalidInput, match=message):
        assess(engine, world.owner, model_id, **kwargs)
    with read_session(engine) as s:
        assert s.exec(select(RiskAssessment)).all() == []
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "risk.assessed")).all() == []


def test_assessment_dates_and_permissions(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with pytest.raises(PermissionDenied, match="risk assess"):
        assess(engine, world.viewer, model_id)
    with pytest.raises(NotFound, match="No model with id 999"):
        assess(engine, world.owner, 999)
    with pytest.raises(InvalidInput, match="cannot be dated in the future"):
        assess(engine, world.owner, model_id, at=datetime.now(UTC) + timedelta(days=2))
    assess(engine, world.owner, model_id, at=datetime(2025, 3, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="cannot be older"):
        assess(engine, world.owner, model_id, at=datetime(2025, 2, 1, tzinfo=UTC))


# --- portfolio views ------------------------------------------------------------------------------------


def test_heatmap_places_models_per_category_and_basis(engine):
    world = make_world(engine)
    a, _ = make_model(engine, world.owner, name="Alpha")
    b, _ = make_model(engine, world.owner, name="Beta")
    make_model(engine, world.owner, name="Gamma")  # never assessed: not on the map
    assess(engine, world.owner, a, scores=scores(decay=(4, 5, 3, 5, "monthly retraining")))
    assess(engine, world.owner, b, scores=scores(decay=(4, 5)))
    with read_session(engine) as s:
        grid = risk.heatmap(s, category="decay")
        assert len(grid) == 25 and grid["count"].sum() == 2
        cell = grid[(grid.likelihood == 3) & (grid.impact == 5)].iloc[0]
        assert cell["models"] == ["Alpha"] and cell["model_ids"] == [a]
        inherent = risk.heatmap(s, category="decay", basis="inherent")
        cell = inherent[(inherent.likelihood == 4) & (inherent.impact == 5)].iloc[0]
        assert sorted(cell["models"]) == ["Alpha", "Beta"]
        worst = risk.heatmap(s, category="worst")
        assert worst[(worst.likelihood == 4) & (worst.impact == 5)].iloc[0]["models"] == ["Beta"]
        unavail = risk.heatmap(s, category="unavailability")
        assert unavail[(unavail.likelihood == 2) & (unavail.impact == 2)].iloc[0]["count"] == 2
        with pytest.raises(InvalidInput, match="risk category 'weather'"):
            risk.heatmap(s, category="weather")


def test_overdue_reviews_and_tier_distribution(engine):
    world = make_world(engine)
    old, _ = make_model(engine, world.owner, name="Old")
    fresh, _ = make_model(engine, world.owner, name="Fresh", business_unit="Retail")
    never, _ = make_model(engine, world.owner, name="Never")
    with write_session(engine) as s:
        services.update_model(s, actor=world.owner, model_id=never, status="production")
    assess(engine, world.owner, old, at=datetime(2024, 1, 5, tzinfo=UTC), materiality="high")
    assess(engine, world.owner, fresh)
    with read_session(engine) as s:
        overdue = risk.overdue_reviews(s, today=date(2025, 1, 5))
        assert list(overdue["model"]) == ["Never", "Old"]
        row = overdue.iloc[1]
        assert row["due"] == date(2024, 7, 5) and row["days_overdue"] == 184 and row["tier"] == "high"
        assert "never assessed" in overdue.iloc[0]["reason"]
        dist = risk.tier_distribution(s)
        got = {(r.business_unit, r.tier): r.models for r in dist.itertuples()}
        assert got == {("Credit risk", "high"): 1, ("Credit risk", "not assessed"): 1, ("Retail", "low"): 1}


# --- living risk: one test per trigger ----------------------------------------------------------------------


def _flags(engine, model_id, today=None):
    with read_session(engine) as s:
        return {f.trigger: f for f in risk.reassessment_flags(s, model_ids=[model_id], today=today)}


def _with_backup(engine, world, model_id):
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.approver2.id, role="backup"
        )


def test_fresh_assessment_with_backup_raises_no_flag(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assess(engine, world.owner, model_id)
    assert _flags(engine, model_id) == {}


def test_flag_review_overdue(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assess(engine, world.owner, model_id, at=datetime(2023, 1, 1, tzinfo=UTC))
    flags = _flags(engine, model_id, today=date(2025, 1, 2))
    assert set(flags) == {"review_overdue"}
    assert flags["review_overdue"].category == "review"
    assert (
        "2025-01-01" in flags["review_overdue"].reason and "every 24 months" in flags["review_overdue"].reason
    )
    assert _flags(engine, model_id, today=date(2024, 12, 31)) == {}


def test_flag_never_assessed_production_model(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assert _flags(engine, model_id) == {}  # in development: no flag
    with write_session(engine) as s:
        services.update_model(s, actor=world.owner, model_id=model_id, status="production")
    assert set(_flags(engine, model_id)) == {"not_assessed"}


def _alert(engine, model_id, kind, opened_at, closed_at=None, message="share of drifted features 0.6"):
    with write_session(engine) as s:
        s.add(
            Alert(
                model_id=model_id,
                kind=kind,
                level="alert",
                message=message,
                opened_at=opened_at,
                updated_at=opened_at,
                closed_at=closed_at,
            )
        )


@pytest.mark.parametrize(
    ("kind", "category"), [("drift", "decay"), ("performance", "decay"), ("outage", "unavailability")]
)
def test_flag_alert_after_assessment(engine, kind, category):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assessed = datetime.now(UTC) - timedelta(days=10)
    _alert(engine, model_id, kind, assessed - timedelta(days=1), closed_at=assessed - timedelta(hours=1))
    assess(engine, world.owner, model_id, at=assessed)
    assert _flags(engine, model_id) == {}  # the assessor saw the older alert
    _alert(engine, model_id, kind, assessed + timedelta(days=2))
    flags = _flags(engine, model_id)
    assert set(flags) == {f"{kind}_alert"}
    assert flags[f"{kind}_alert"].category == category and "(open)" in flags[f"{kind}_alert"].reason
    _alert(engine, model_id, "label_coverage", assessed + timedelta(days=3))
    assert set(_flags(engine, model_id)) == {f"{kind}_alert"}  # label coverage is not a risk trigger


def test_flag_owner_left(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.labeller.id, role="technical_owner"
        )
    assess(engine, world.owner, model_id)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.labeller.id, active=False)
    flags = _flags(engine, model_id)
    assert set(flags) == {"owner_left"}
    assert (
        flags["owner_left"].category == "knowledge_loss"
        and "Lena Labeller left" in flags["owner_left"].reason
    )
    assess(engine, world.owner, model_id)  # re-assessed but knowledge loss still rated unlikely
    assert set(_flags(engine, model_id)) == {"owner_left"}
    assess(engine, world.owner, model_id, scores=scores(knowledge_loss=(4, 3)))  # taken into account
    assert _flags(engine, model_id) == {}


def test_flag_no_backup_unless_assessment_rates_it_likely(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    assess(engine, world.owner, model_id)
    flags = _flags(engine, model_id)
    assert set(flags) == {"no_backup"} and "likelihood only 2/5" in flags["no_backup"].reason
    assess(engine, world.owner, model_id, scores=scores(knowledge_loss=(4, 3)))
    assert _flags(engine, model_id) == {}


def test_flag_fairness_gap_measured(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assess(engine, world.owner, model_id)
    with write_session(engine) as s:
        services.register_version(
            s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.8, "fairness_gap": 0.04}
        )
    assert _flags(engine, model_id) == {}
    with write_session(engine) as s:
        services.register_version(
            s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.8, "fairness_gap": 0.17}
        )
    flags = _flags(engine, model_id)
    assert set(flags) == {"fairness_gap"} and "0.170" in flags["fairness_gap"].reason
    assert "version 3" in flags["fairness_gap"].reason


def test_flag_fairness_from_health_reason(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    _with_backup(engine, world, model_id)
    assess(engine, world.owner, model_id, at=datetime.now(UTC) - timedelta(days=1))
    with write_session(engine) as s:
        s.add(
            ModelHealth(
                model_id=model_id,
                status="warning",
                reasons=[
                    {"kind": "fairness", "level": "warning", "message": "approval rate gap 0.12 by age"}
                ],
            )
        )
    flags = _flags(engine, model_id)
    assert set(flags) == {"fairness_gap"} and "approval rate gap" in flags["fairness_gap"].reason


# --- the promotion gate -------------------------------------------------------------------------------------


def test_promotion_gate(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_model(engine, world.owner, versions=2)
    _with_backup(engine, world, model_id)
    with read_session(engine) as s:
        assert risk.promotion_gate(s, model_id=model_id, version_id=v2) is None
    assess(engine, world.owner, model_id, model_version_id=v2)
    with read_session(engine) as s:
        gate = risk.promotion_gate(s, model_id=model_id, version_id=v2)
        assert gate["status"] == "pass" and "tier low" in gate["figure"]
        gate = risk.promotion_gate(s, model_id=model_id, version_id=v1)
        assert gate["status"] == "warn" and "made for version 2, not version 1" in gate["detail"]
        gate = risk.promotion_gate(
            s, model_id=model_id, version_id=v2, today=date.today() + timedelta(days=800)
        )
        assert gate["status"] == "fail" and "No review within the interval" in gate["detail"]
    _alert(engine, model_id, "drift", datetime.now(UTC))
    with read_session(engine) as s:
        gate = risk.promotion_gate(s, model_id=model_id, version_id=v2)
        assert gate["status"] == "warn" and "Drift alert" in gate["detail"]
    assess(engine, world.owner, model_id, ai_act_class="prohibited")
    with read_session(engine) as s:
        gate = risk.promotion_gate(s, model_id=model_id, version_id=v2)
        assert gate["status"] == "fail" and "prohibited practice" in gate["detail"]
