"""Write tests/migrations/data_0001.json: a small registry as Steward stored it at schema revision 0001.

The rows come from Steward's own services (people and roles, models with versions, owners, a
business rule through four-eyes, deployments, stage history, predictions with labels, costs, a
promotion requested and approved, a risk assessment, a review meeting with a decision and an
action, a labelling campaign with answers, thresholds, health and alerts) and carry a valid audit
chain. The file is committed and never regenerated: revision 0001 never changes, and later
services may write columns 0001 does not have. The script refuses to run once the models no
longer match 0001 (it compares them first).

    .venv/bin/python -m tests.migrations.make_0001_data
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, select

from core import clock
from core.config import reset_settings_cache
from core.costs.budgets import set_budget
from core.db.engine import make_engine, write_session
from core.db.migrate import upgrade
from core.db.models import SQLModel
from core.governance import meetings, promotions, risk
from core.monitoring import alerts, labelling, thresholds
from tests.factories import make_promotable_model
from tests.inventory_factories import make_portfolio

OUT = Path(__file__).with_name("data_0001.json")
TODAY = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
SCORES = [
    {"category": "unavailability", "likelihood": 2, "impact": 3},
    {
        "category": "wrong_predictions",
        "likelihood": 3,
        "impact": 4,
        "residual_likelihood": 2,
        "residual_impact": 3,
        "mitigations": "Underwriters review declines on request.",
    },
    {"category": "decay", "likelihood": 3, "impact": 3},
    {"category": "knowledge_loss", "likelihood": 2, "impact": 4},
]


def build(engine: Engine) -> None:
    with clock.frozen(TODAY - timedelta(days=30)):
        portfolio = make_portfolio(engine, today=TODAY - timedelta(days=30))
        world = portfolio.world
        churn_id, (v1, v2) = make_promotable_model(engine, world, name="Churn early warning")
    with clock.frozen(TODAY - timedelta(days=20)), write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v2,
            target_stage="production",
            justification="Better AUC on the 2026 holdout.",
        )
        promotions.add_comment(
            s, actor=world.approver, request_id=request_id, body="Which months are in the holdout?"
        )
    with clock.frozen(TODAY - timedelta(days=19)), write_session(engine) as s:
        promotions.approve(
            s, actor=world.approver, request_id=request_id, comment="Validation report reviewed."
        )
    with clock.frozen(TODAY - timedelta(days=18)), write_session(engine) as s:
        risk.assess_model(
            s,
            actor=world.approver,
            model_id=portfolio.credit,
            scores=SCORES,
            materiality="high",
            ai_act_class="high",
            annex_iii_area="5(b)",
            rationale="Creditworthiness of natural persons (Annex III 5(b)).",
            human_oversight="Underwriters review every automatic decline on request.",
            exposure_amount=2_500_000.0,
        )
        thresholds.set_thresholds(
            s, actor=world.owner, model_id=portfolio.credit, reason="Seasonal volume", outage_days=4
        )
        set_budget(
            s,
            actor=world.approver,
            business_unit="Credit risk",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            amount=12_000.0,
            note="Annual model budget.",
        )
    with clock.frozen(TODAY - timedelta(days=10)), write_session(engine) as s:
        meeting_id = meetings.create_meeting(
            s,
            actor=world.approver,
            title="Model risk committee",
            held_at=TODAY - timedelta(days=9),
            attendee_ids=[world.approver.id, world.owner.id, world.approver2.id],
        )
    with clock.frozen(TODAY - timedelta(days=9)), write_session(engine) as s:
        view = meetings.meeting_view(s, meeting_id)
        for position, item in enumerate(view.items):
            meetings.record_decision(
                s,
                actor=world.approver,
                item_id=item.id,
                outcome="action" if position == 0 else "noted",
                present_ids=[world.approver.id, world.owner.id],
                comment="Discussed.",
                action_title="Name a new technical owner" if position == 0 else "",
                action_owner_id=world.owner.id if position == 0 else None,
                action_due=(TODAY + timedelta(days=14)).date() if position == 0 else None,
            )
        meetings.close_meeting(s, actor=world.approver, meeting_id=meeting_id)
    with clock.frozen(TODAY - timedelta(days=5)), write_session(engine) as s:
        created = labelling.create_campaign(
            s,
            actor=world.owner,
            model_id=portfolio.credit,
            size=5,
            strategy="random",
            name="Recent credit decisions",
            period_from=(TODAY - timedelta(days=40)).date(),
            period_to=(TODAY - timedelta(days=25)).date(),
            seed=7,
        )
    for answer in range(2):
        with clock.frozen(TODAY - timedelta(days=4, minutes=-answer)), write_session(engine) as s:
            case = labelling.next_case(s, campaign_id=created.campaign_id, labeller_id=world.labeller.id)
            assert case is not None
            labelling.submit_label(s, actor=world.labeller, item_id=case.item_id, value=float(answer))
    with clock.frozen(TODAY), write_session(engine) as s:
        alerts.evaluate_health(s, actor=world.system)


def dump(engine: Engine) -> dict[str, Any]:
    metadata = MetaData()
    metadata.reflect(engine)
    tables: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            if rows:
                tables[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return {"revision": "0001", "generated_with": "tests/migrations/make_0001_data.py", "tables": tables}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["STEWARD_ARTIFACT_DIR"] = f"{tmp}/artifacts"
        os.environ.pop("STEWARD_AUDIT_HMAC_KEY", None)  # the chain must verify without a key
        reset_settings_cache()
        engine = make_engine(f"sqlite:///{tmp}/at_0001.db")
        upgrade(engine, "0001")
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        if differences:
            raise SystemExit(
                f"The models no longer match revision 0001; keep the committed file. ({differences[:3]})"
            )
        build(engine)
        data = dump(engine)
        engine.dispose()
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT}: " + ", ".join(f"{name} {len(rows)}" for name, rows in data["tables"].items()))


if __name__ == "__main__":
    main()
