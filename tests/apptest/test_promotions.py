"""Promotions through the app: an owner requests on the Model page, a different approver approves
on the Promotions page, the inventory shows the new production version; four-eyes refusals,
overrides, a stale page and the lists."""

from __future__ import annotations

import shutil

import pytest
from sqlmodel import select

from core.access import actor_by_id
from core.db.engine import make_engine, read_session, write_session
from core.db.models import ModelVersion, PromotionRequest
from core.governance import promotions
from core.registry import services
from tests.factories import make_promotable_model, make_world


@pytest.fixture
def registry(sqlite_template, tmp_path):
    """Olivia (owner) and Dana (owner and approver) with a two-version model; Arthur and Anna approve."""
    path = tmp_path / "promotions.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    with write_session(engine) as s:
        dana = actor_by_id(
            s,
            services.create_person(
                s,
                actor=world.system,
                name="Dana Dual",
                email="dana@example.com",
                roles=[("model_owner", ""), ("approver", "")],
            ),
        )
    model_id, versions = make_promotable_model(engine, world, aucs=(0.75, 0.65))
    yield {
        "url": url,
        "engine": engine,
        "world": world,
        "dana": dana,
        "model": model_id,
        "versions": versions,
    }
    engine.dispose()


def _page(app, url, page, person, **params):
    at = app(url)
    at.query_params["as"] = person
    for key, value in params.items():
        at.query_params[key] = str(value)
    at.run()
    return at.switch_page(f"../pages/{page}.py").run()


def _request(reg, actor, version_index=0) -> int:
    with write_session(reg["engine"]) as s:
        return promotions.request_promotion(
            s,
            actor=actor,
            version_id=reg["versions"][version_index],
            target_stage="production",
            justification="First release of churn.",
        )


def _texts(at) -> str:
    return " ".join(
        [m.value for m in at.markdown]
        + [e.value for e in at.error]
        + [w.value for w in at.warning]
        + [s.value for s in at.success]
        + [i.value for i in at.info]
        + [c.value for c in at.caption]
    )


def test_owner_requests_another_approver_approves_inventory_shows_production(app, registry):
    reg = registry
    at = _page(app, reg["url"], "model", "owner@example.com", model=reg["model"])
    assert not at.exception
    at.selectbox(key="model.promote.version").set_value(reg["versions"][0])
    at.text_area(key="model.promote.justification").input("Holdout AUC 0.75 meets the 0.70 threshold.")
    at.button(key="model.promote.submit").click().run()
    assert not at.exception
    with read_session(reg["engine"]) as s:
        request = s.exec(select(PromotionRequest)).one()
    assert (request.status, request.requested_by_id) == ("pending", reg["world"].owner.id)
    assert "Request #1 opened" in _texts(at)

    at = _page(app, reg["url"], "promotions", "approver@example.com", request=request.id)
    assert "Model card complete" in _texts(at) and "sha256" in _texts(at)
    at.text_area(key="promotions.approve.comment").input("Evidence complete.")
    at.button(key="promotions.approve.submit").click().run()
    assert not at.exception
    assert "Approved: Churn v1 is now in production." in _texts(at)

    at = _page(app, reg["url"], "inventory", "viewer@example.com")
    inventory = next(d.value for d in at.dataframe if "production_version" in d.value.columns)
    row = inventory[inventory["name"] == "Churn"].iloc[0]
    assert (row["production_version"], row["stage"]) == (1, "Production")


def test_self_approval_is_refused_with_a_message(app, registry):
    reg = registry
    request_id = _request(reg, reg["dana"])
    at = _page(app, reg["url"], "promotions", "dana@example.com", request=request_id)
    assert not at.exception
    assert "You requested #1: under four-eyes someone else must approve it." in [w.value for w in at.warning]
    assert not [b for b in at.button if b.key == "promotions.approve.submit"]
    assert [b.key for b in at.button if b.key == "promotions.cancel.submit"]  # she may withdraw it
    with read_session(reg["engine"]) as s:
        assert s.get(PromotionRequest, request_id).status == "pending"


def test_a_stale_page_cannot_decide_twice(app, registry):
    reg = registry
    request_id = _request(reg, reg["world"].owner)
    at = _page(app, reg["url"], "promotions", "approver@example.com", request=request_id)
    with write_session(reg["engine"]) as s:  # Anna decides while Arthur's page is open
        promotions.reject(
            s, actor=reg["world"].approver2, request_id=request_id, comment="Holdout period too short."
        )
    at.button(key="promotions.approve.submit").click().run()
    assert not at.exception
    assert "Rejected by Anna Approver" in _texts(at) and "Decided requests never change." in _texts(at)
    assert not [b for b in at.button if b.key == "promotions.approve.submit"]
    with read_session(reg["engine"]) as s:
        assert s.get(PromotionRequest, request_id).status == "rejected"


def test_failing_gate_needs_a_written_override_shown_in_red(app, registry):
    reg = registry
    request_id = _request(reg, reg["world"].owner, version_index=1)  # AUC 0.65 < 0.70
    at = _page(app, reg["url"], "promotions", "approver@example.com", request=request_id)
    assert any("Gates failing: Validation metrics meet thresholds" in e.value for e in at.error)
    at.button(key="promotions.approve.submit").click().run()
    assert any("Approving needs an override with a written reason" in e.value for e in at.error)
    at.text_area(key="promotions.approve.override").input("No other model; the rules engine scores 0.58.")
    at.button(key="promotions.approve.submit").click().run()
    assert not at.exception
    assert any(
        "Failing gates overridden by Arthur Approver" in e.value and "rules engine scores" in e.value
        for e in at.error
    )
    with read_session(reg["engine"]) as s:  # a failing gate takes a second approver
        assert s.get(ModelVersion, reg["versions"][1]).stage != "production"
    at = _page(app, reg["url"], "promotions", "approver2@example.com", request=request_id)
    assert any("a second approver must override too" in e.value for e in at.error)
    at.text_area(key="promotions.approve.override").input("Agreed: interim model until v3 is validated.")
    at.button(key="promotions.approve.submit").click().run()
    assert not at.exception
    with read_session(reg["engine"]) as s:
        assert s.get(ModelVersion, reg["versions"][1]).stage == "production"


def test_the_request_form_says_which_gates_fail_before_submitting(app, registry):
    reg = registry
    at = _page(app, reg["url"], "model", "owner@example.com", model=reg["model"])
    at.selectbox(key="model.promote.version").set_value(reg["versions"][1])  # AUC 0.65 < 0.70
    at.button(key="model.promote.check").click().run()
    assert not at.exception
    assert any(
        e.value.startswith("1 gate would fail: Validation metrics meet thresholds")
        and "two approvers" in e.value
        for e in at.error
    )
    with read_session(reg["engine"]) as s:
        assert s.exec(select(PromotionRequest)).first() is None  # nothing was submitted
    at.selectbox(key="model.promote.version").set_value(reg["versions"][0])  # sent with the form
    at.button(key="model.promote.check").click().run()
    shown = [w.value for w in at.warning] + [s.value for s in at.success] + [e.value for e in at.error]
    assert any(v.startswith(("No gate fails", "Every gate passes")) for v in shown), shown


def test_lists_waiting_mine_and_filters(app, registry):
    reg = registry
    _request(reg, reg["world"].owner)
    _request(reg, reg["dana"], version_index=1)
    at = _page(app, reg["url"], "promotions", "dana@example.com")
    assert not at.exception
    waiting, mine, everything = (d.value for d in at.dataframe)
    assert waiting["id"].tolist() == [1]  # she may approve Olivia's request, not her own
    assert mine["id"].tolist() == [2]
    assert everything["id"].tolist() == [2, 1]
    at.selectbox(key="promotions.filter.status").set_value("approved").run()
    assert "No request matches these filters." in _texts(at)
    at = _page(app, reg["url"], "promotions", "viewer@example.com")
    assert "Nothing is waiting for you." in _texts(at) and "You have no open requests." in _texts(at)


def test_reject_and_cancel_through_the_forms(app, registry):
    reg = registry
    first = _request(reg, reg["world"].owner)
    at = _page(app, reg["url"], "promotions", "approver2@example.com", request=first)
    at.text_area(key="promotions.reject.comment").input("Evaluation data is a year old.")
    at.button(key="promotions.reject.submit").click().run()
    assert "Request rejected." in _texts(at)
    assert "Rejected by Anna Approver" in _texts(at)
    second = _request(reg, reg["world"].owner, version_index=1)
    at = _page(app, reg["url"], "promotions", "owner@example.com", request=second)
    at.button(key="promotions.cancel.submit").click().run()
    with read_session(reg["engine"]) as s:
        assert [s.get(PromotionRequest, i).status for i in (first, second)] == ["rejected", "cancelled"]
