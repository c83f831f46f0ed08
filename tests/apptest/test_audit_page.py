"""The Audit page through AppTest: the chain verdict, filters by model, person, action and date,
the CSV export, and a broken chain named on the page."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest

from core import audit
from core.db.engine import make_engine, read_session, write_session
from core.governance import promotions
from tests.factories import make_model, make_promotable_model, make_world


@pytest.fixture
def registry(sqlite_template, tmp_path):
    path = tmp_path / "audit.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    churn, (v1, _) = make_promotable_model(engine, world)
    credit, _ = make_model(engine, world.owner, name="Credit scoring")
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v1,
            target_stage="production",
            justification="First release of churn.",
        )
    with write_session(engine) as s:
        promotions.approve(s, actor=world.approver, request_id=request_id)
    yield {"url": url, "engine": engine, "world": world, "churn": churn, "credit": credit}
    engine.dispose()


def _open(app, url, person="viewer@example.com"):
    at = app(url)
    at.query_params["as"] = person
    at.run()
    return at.switch_page("../pages/audit.py").run()


def _events(at):
    return next(d.value for d in at.dataframe if "action" in d.value.columns)


def test_verdict_table_and_filters(app, registry):
    reg = registry
    at = _open(app, reg["url"])
    assert not at.exception
    assert at.title[0].value == "Audit log"
    with read_session(reg["engine"]) as s:
        total = audit.verify(s).checked
    assert at.success[0].value.startswith(f"**Audit chain intact: {total} events verified.**")
    assert len(_events(at)) == total

    at.selectbox(key="audit.filter.model").set_value(reg["churn"]).run()
    events = _events(at)
    assert set(events["model"]) == {"Churn"}
    at.multiselect(key="audit.filter.action").set_value(["promotion.approved", "version.stage_changed"]).run()
    assert _events(at)["action"].tolist() == ["version.stage_changed", "promotion.approved"]
    at.selectbox(key="audit.filter.person").set_value(reg["world"].owner.id).run()
    assert "No event matches these filters." in [c.value for c in at.caption]
    at.selectbox(key="audit.filter.person").set_value(reg["world"].approver.id).run()
    assert len(_events(at)) == 2
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    at.date_input(key="audit.filter.dates").set_value((yesterday - timedelta(days=5), yesterday)).run()
    assert "No event matches these filters." in [c.value for c in at.caption]
    assert not at.exception


def test_export_offers_the_matching_events_as_csv(app, registry):
    at = _open(app, registry["url"])
    (button,) = [b for b in at.get("download_button") if b.proto.id.endswith("-audit.export")]
    assert (button.proto.label, button.proto.help) == ("Export CSV", "Every matching event.")
    assert button.proto.deferred_file_id, (
        "the CSV is built when clicked (core.audit.events_csv, tested there)"
    )


def test_broken_chain_is_named_on_the_page(app, registry):
    with registry["engine"].begin() as conn:
        conn.exec_driver_sql("UPDATE audit_event SET reason = 'nothing to see' WHERE id = 7")
    at = _open(app, registry["url"])
    assert not at.exception
    assert at.error[0].value.startswith("**Audit chain broken at event 7:")
