"""The notification and retraining panels through AppTest: the Admin page shows failing deliveries
attempt by attempt and an admin sends one again; people set their preference; an endpoint's secret
is shown once; the Model page opens a retraining request from the alert a link names, and names the
version that answers it; the Owners page lists open requests."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
import streamlit as st
from sqlmodel import select

from app import background
from app.components.text import unescape
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import AuditEvent, NotifyDelivery, NotifyPreference, NotifySubscription, RetrainingRequest
from core.notify import delivery, subscriptions
from core.registry import services
from tests.factories import make_model, make_world
from tests.notify_factories import mark_all_dispatched, monitored_model, open_drift_alert
from tests.notify_servers import http_receiver


@pytest.fixture
def registry(sqlite_template, tmp_path):
    path = tmp_path / "notify.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    world = make_world(engine)
    yield {"url": url, "engine": engine, "world": world}
    engine.dispose()


def _open(app, url, person, page, **params):
    at = app(url)
    at.query_params["as"] = person
    at.run()
    for name, value in params.items():
        at.query_params[name] = str(value)
    return at.switch_page(f"../pages/{page}.py").run()


def _texts(at) -> str:
    return unescape(
        "\n".join(
            [m.value for m in at.markdown]
            + [c.value for c in at.caption]
            + [t.value for t in at.text]
            + [w.value for w in at.warning]
            + [s.value for s in at.success]
            + [c.value for c in at.code]
        )
    )


def _table(at, column):
    """The shown table that has ``column`` (AppTest does not expose a read-only table's key)."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def test_admin_sees_failures_attempt_by_attempt_and_sends_again(app, registry, monkeypatch):
    engine, world = registry["engine"], registry["world"]
    model_id, _ = make_model(engine, world.owner)
    monkeypatch.setenv("STEWARD_NOTIFY_MAX_ATTEMPTS", "1")
    reset_settings_cache()
    with http_receiver() as receiver:
        with write_session(engine) as s:
            subscriptions.add_endpoint(
                s, actor=world.admin, channel="webhook", url=receiver.url, name="CI hook"
            )
        mark_all_dispatched(engine)
        with write_session(engine) as s:
            services.register_version(s, actor=world.owner, model_id=model_id)
        receiver.fail_next(500)
        delivery.run_once(engine, actor=world.system, now=datetime.now(UTC) - timedelta(minutes=1))
    at = _open(app, registry["url"], "admin@example.com", "admin")
    assert not at.exception
    table = _table(at, "recipient")
    assert table[["status", "event", "attempts"]].values.tolist() == [["failed", "version.registered", 1]]
    attempts = _table(at, "attempted_at")
    assert attempts["status_code"].tolist() == [500] and attempts["ok"].tolist() == [False]
    at.button(key="admin.notify.retry").click().run()
    assert not at.exception
    with read_session(engine) as s:
        (d,) = s.exec(select(NotifyDelivery)).all()
        retried = s.exec(select(AuditEvent).where(AuditEvent.action == "notify.delivery_retried")).one()
    assert (d.status, d.attempts) == ("pending", 0) and retried.actor_email == "admin@example.com"
    viewer = _open(app, registry["url"], "viewer@example.com", "admin")
    assert not viewer.exception and not [b for b in viewer.button if b.key == "admin.notify.retry"]


def test_a_person_sets_their_preference(app, registry):
    at = _open(app, registry["url"], "viewer@example.com", "admin")
    at.radio(key="admin.notify.mode").set_value("digest")
    at.number_input(key="admin.notify.digest_hour").set_value(9)
    at.checkbox(key="admin.notify.quiet").check()
    at.text_input(key="admin.notify.timezone").input("Europe/Amsterdam")
    at.button(key="admin.notify.save_preference").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        pref = s.get(NotifyPreference, registry["world"].viewer.id)
    assert (pref.mode, pref.digest_hour, pref.quiet_start, pref.quiet_end, pref.timezone) == (
        "digest",
        9,
        22,
        7,
        "Europe/Amsterdam",
    )
    at.text_input(key="admin.notify.timezone").input("Nowhere/Land")
    at.button(key="admin.notify.save_preference").click().run()
    assert "not a known IANA zone" in at.error[0].value


def test_an_admin_adds_a_webhook_and_sees_its_secret_once(app, registry):
    at = _open(app, registry["url"], "admin@example.com", "admin")
    at.text_input(key="admin.notify.endpoint_name").input("CI deploy hook")
    at.text_input(key="admin.notify.endpoint_url").input("https://ci.example.com/steward")
    at.multiselect(key="admin.notify.add_endpoint.events").set_value(["promotion.decided"])
    at.button(key="admin.notify.add_endpoint.submit").click().run()
    assert not at.exception
    with read_session(registry["engine"]) as s:
        (hook,) = s.exec(select(NotifySubscription)).all()
    assert (hook.name, hook.event_types) == ("CI deploy hook", ["promotion.decided"])
    assert hook.secret in [c.value for c in at.code]  # shown now ...
    at.run()
    assert hook.secret not in [c.value for c in at.code]  # ... and never again
    owner = _open(app, registry["url"], "labeller@example.com", "admin")
    assert "Setting up endpoints needs the admin or model owner role." in _texts(owner)
    bad = _open(app, registry["url"], "admin@example.com", "admin")
    bad.text_input(key="admin.notify.endpoint_name").input("Leaky")
    bad.text_input(key="admin.notify.endpoint_url").input("http://ci.example.com/hook")
    bad.button(key="admin.notify.add_endpoint.submit").click().run()
    assert "must use https://" in unescape(bad.error[0].value)


def test_owner_opens_a_retraining_request_from_the_alert_in_the_link(app, registry):
    engine, world = registry["engine"], registry["world"]
    model_id, version_id = monitored_model(engine, world)
    alert_id = open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
    at = _open(app, registry["url"], "owner@example.com", "model", model=model_id, alert=alert_id)
    assert not at.exception
    assert at.radio(key="model.retraining.source").value == "alert"
    assert at.selectbox(key="model.retraining.alert").value == alert_id
    at.text_area(key="model.retraining.reason").input("Income drifted; retrain on the last quarter.")
    at.button(key="model.retraining.submit").click().run()
    assert not at.exception
    with read_session(engine) as s:
        (request,) = s.exec(select(RetrainingRequest)).all()
    assert (request.source_ref, request.owner_id) == (f"alert:{alert_id}", world.owner.id)
    assert "Income drifted; retrain on the last quarter." in _texts(at)
    assert (
        'Register the new version with ` steward register-version --model "Credit scoring" --answers 1 ... `'
        in _texts(at)
    )
    with write_session(engine) as s:
        v2 = services.register_version(s, actor=world.owner, model_id=model_id)
    st.cache_data.clear()  # registered by another process (the CLI): the app would see it within a minute
    at.run()
    at.selectbox(key="model.retraining.version").set_value(v2)
    at.button(key="model.retraining.answer_submit").click().run()
    assert not at.exception
    with read_session(engine) as s:
        request = s.get(RetrainingRequest, request.id)
    assert (request.status, request.answered_version_id) == ("answered", v2)
    viewer = _open(app, registry["url"], "viewer@example.com", "model", model=model_id)
    assert not [b for b in viewer.button if b.key == "model.retraining.answer_submit"]  # a viewer cannot
    owners = _open(app, registry["url"], "viewer@example.com", "owners")
    assert not owners.exception
    open_requests = _table(owners, "answered_version")
    assert open_requests[["model", "status", "answered_version"]].values.tolist() == [
        ["Credit scoring", "answered", 2]
    ]


def test_bad_retraining_input_shows_the_error_and_writes_nothing(app, registry):
    engine, world = registry["engine"], registry["world"]
    model_id, _ = make_model(engine, world.owner)
    at = _open(app, registry["url"], "owner@example.com", "model", model=model_id)
    assert "alert" not in at.radio(key="model.retraining.source").options  # no alert to open it from
    at.radio(key="model.retraining.source").set_value("manual").run()
    at.text_area(key="model.retraining.reason").input("retrain")
    at.button(key="model.retraining.submit").click().run()
    assert "at least 10 characters" in at.error[0].value
    with read_session(engine) as s:
        assert s.exec(select(RetrainingRequest)).all() == []


def test_the_in_app_worker_delivers_without_a_page_waiting_for_it(app, registry, monkeypatch):
    engine, world = registry["engine"], registry["world"]
    model_id, _ = make_model(engine, world.owner)
    with http_receiver() as receiver:
        with write_session(engine) as s:
            subscriptions.add_endpoint(
                s, actor=world.admin, channel="webhook", url=receiver.url, name="CI hook"
            )
        mark_all_dispatched(engine)
        with write_session(engine) as s:
            services.register_version(s, actor=world.owner, model_id=model_id)
        monkeypatch.setenv("STEWARD_NOTIFY_IN_APP", "true")
        at = _open(app, registry["url"], "viewer@example.com", "inventory")  # any page starts it
        assert not at.exception
        try:
            deadline = time.monotonic() + 60
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.2)  # the worker thread runs beside the page, on its own clock
        finally:
            background.stop_delivery()
    (hit,) = receiver.received
    assert hit.json()["type"] == "version.registered"
    with read_session(engine) as s:
        assert [d.status for d in s.exec(select(NotifyDelivery))] == ["sent"]
