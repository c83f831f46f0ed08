"""The demo portfolio's labelling campaigns and health (core.demo.monitoring's step), on the
`demo_engine` fixture of tests/conftest.py."""

from __future__ import annotations

from sqlalchemy import select

from core.db.engine import read_session
from core.db.models import Alert, CampaignItem, LabellingCampaign, Model, ModelHealth
from core.demo import DEMO_FACTS
from core.monitoring import labelling


def _health(engine) -> dict[str, ModelHealth]:
    with read_session(engine) as s:
        return {name: h for name, h in s.execute(select(Model.name, ModelHealth).join(ModelHealth)).all()}


def test_demo_has_an_open_campaign_per_labelled_production_model(demo_engine):
    expected = {m for m in DEMO_FACTS["labelled_by_people"] if m in DEMO_FACTS["production_models"]}
    with read_session(demo_engine) as s:
        campaigns = s.execute(select(Model.name, LabellingCampaign).join(Model)).all()
        assert {name for name, c in campaigns if c.status == "open"} == expected
        for _, campaign in campaigns:
            statuses = (
                s.execute(select(CampaignItem.status).where(CampaignItem.campaign_id == campaign.id))
                .scalars()
                .all()
            )
            assert statuses.count("disagreement") + statuses.count("final") == 6
            report = labelling.agreement(s, campaign_id=campaign.id)
            assert report.n_labellers == 2 and len(report.disagreements) == 1


def test_demo_health_shows_outage_concept_drift_and_covariate_drift(demo_engine):
    health = _health(demo_engine)
    for name in DEMO_FACTS["outage"]:
        assert health[name].status == "alert" and "outage" in {r["kind"] for r in health[name].reasons}
    # The test demo logs few predictions a day (~50 labels a month), so only a strong concept drift
    # is significant; `steward demo` (40 a day) shows every concept-drift model as an alert.
    significant = [
        name
        for name in DEMO_FACTS["concept_drift"]
        if health[name].status == "alert" and "performance" in {r["kind"] for r in health[name].reasons}
    ]
    assert significant, {name: health[name].reasons for name in DEMO_FACTS["concept_drift"]}
    for name in DEMO_FACTS["covariate_drift"]:
        assert health[name].status == "alert" and "drift" in {r["kind"] for r in health[name].reasons}
    # No false concept drift: a model whose outcome relation was left alone raises no performance alert.
    false_alarms = {
        name: h.reasons
        for name, h in health.items()
        if name not in DEMO_FACTS["concept_drift"]
        and name not in DEMO_FACTS["segment_drift"]  # a segment's drift shows overall too
        and any(r["kind"] == "performance" and r["level"] == "alert" for r in h.reasons)
    }
    assert not false_alarms
    for name in DEMO_FACTS["development_models"]:
        assert health[name].status == "unknown"


def test_demo_finds_the_segment_whose_error_rate_grows(demo_engine):
    """The one model whose error rate grows in one segment only gets a segment alert for that
    segment, and no other segment of any model is flagged."""
    (name, drift), *_ = DEMO_FACTS["segment_drift"].items()
    with read_session(demo_engine) as s:
        found = s.execute(
            select(Model.name, Alert.subject, Alert.level)
            .join(Alert, Alert.model_id == Model.id)
            .where(Alert.kind == "segment", Alert.closed_at.is_(None))
        ).all()
    assert [tuple(r) for r in found] == [(name, f"{drift['feature']} = {drift['group']}", "alert")]
