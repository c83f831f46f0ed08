"""Preferences, e-mail subscriptions and endpoints: who may set them up, what is checked, what the
audit log keeps (never a secret), and that refused input writes nothing."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from core.access import actor_by_id
from core.db.engine import read_session, write_session
from core.db.models import AuditEvent, NotifyPreference, NotifySubscription
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.notify import subscriptions
from core.registry import services
from tests.factories import make_model, make_world


@pytest.fixture
def setup(engine):
    world = make_world(engine)
    credit_id, _ = make_model(engine, world.owner)
    retail_id, _ = make_model(engine, world.owner, name="Churn", business_unit="Retail")
    with write_session(engine) as s:
        retail_owner = actor_by_id(
            s,
            services.create_person(
                s,
                actor=world.system,
                name="Rita Retail",
                email="rita@example.com",
                roles=[("model_owner", "Retail")],
            ),
        )
    return world, credit_id, retail_id, retail_owner


def _rows(engine, table):
    with read_session(engine) as s:
        return s.exec(select(table)).all()


def test_preference_is_checked_saved_and_audited(engine, setup):
    world, *_ = setup
    bad = [
        (dict(mode="sometimes"), "delivery mode 'sometimes' is not one of"),
        (dict(mode="digest", digest_hour=24), "digest hour must be a whole hour from 0 to 23"),
        (dict(mode="immediate", quiet_start=22), "quiet hours need both"),
        (dict(mode="immediate", quiet_start=7, quiet_end=7), "must not start and end at the same hour"),
        (dict(mode="immediate", timezone="Mars/Olympus"), "not a known IANA zone"),
    ]
    for kw, message in bad:
        with pytest.raises(InvalidInput, match=message), write_session(engine) as s:
            subscriptions.set_preference(s, actor=world.viewer, **kw)
    assert _rows(engine, NotifyPreference) == []
    with write_session(engine) as s:
        pref = subscriptions.set_preference(
            s,
            actor=world.viewer,
            mode="digest",
            digest_hour=7,
            quiet_start=22,
            quiet_end=6,
            timezone="Europe/Amsterdam",
        )
    assert (pref.mode, pref.digest_hour, pref.has_quiet_hours, pref.is_default) == ("digest", 7, True, False)
    with read_session(engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "notify.preference_set")).one()
    assert (
        json.loads(event.after)["timezone"] == "Europe/Amsterdam"
        and json.loads(event.before)["mode"] == "immediate"
    )


def test_email_subscriptions(engine, setup):
    world, credit_id, _, _ = setup
    with write_session(engine) as s:
        sub_id = subscriptions.subscribe_email(
            s, actor=world.labeller, model_id=credit_id, event_types=["alert.opened", "alert.escalated"]
        )
    cases = [
        (
            Conflict,
            "already subscribed to model 'Credit scoring'",
            dict(model_id=credit_id, event_types=["alert.escalated", "alert.opened"]),
        ),
        (InvalidInput, "unknown event type\\(s\\): alert.exploded", dict(event_types=["alert.exploded"])),
        (InvalidInput, "business unit 'Mars' has no models", dict(business_unit="Mars")),
        (
            InvalidInput,
            "a model or a business unit, not both",
            dict(model_id=credit_id, business_unit="Retail"),
        ),
        (NotFound, "No model with id 99", dict(model_id=99)),
    ]
    for error, message, kw in cases:
        with pytest.raises(error, match=message), write_session(engine) as s:
            subscriptions.subscribe_email(s, actor=world.labeller, **kw)
    with read_session(engine) as s:
        table = subscriptions.subscriptions_table(s, person_id=world.labeller.id)
    assert table[["id", "channel", "scope", "event_types"]].values.tolist() == [
        [sub_id, "email", "model Credit scoring", "alert.escalated, alert.opened"]
    ]
    with pytest.raises(PermissionDenied, match="someone else's"), write_session(engine) as s:
        subscriptions.remove(s, actor=world.viewer, subscription_id=sub_id)
    with write_session(engine) as s:
        subscriptions.remove(s, actor=world.labeller, subscription_id=sub_id)
    with pytest.raises(Conflict, match="already removed"), write_session(engine) as s:
        subscriptions.remove(s, actor=world.labeller, subscription_id=sub_id)


def test_endpoints_need_the_role_for_their_scope(engine, setup):
    world, credit_id, retail_id, retail_owner = setup
    url = "https://ci.example.com/steward"
    denied = [
        (retail_owner, dict(model_id=credit_id), "for business unit 'Credit risk'"),
        (retail_owner, dict(), "this needs the role admin or model_owner"),  # every unit: a global grant
        (world.viewer, dict(business_unit="Retail"), "this needs the role admin or model_owner"),
    ]
    for who, scope, message in denied:
        with pytest.raises(PermissionDenied, match=message), write_session(engine) as s:
            subscriptions.add_endpoint(s, actor=who, channel="webhook", url=url, name="CI", **scope)
    with write_session(engine) as s:
        hook = subscriptions.add_endpoint(
            s, actor=retail_owner, channel="webhook", url=url, name="CI", model_id=retail_id
        )
        unit_hook = subscriptions.add_endpoint(
            s,
            actor=retail_owner,
            channel="slack",
            url="https://hooks.slack.com/services/T000/B000/XXXXSECRET",
            name="#retail-models",
            business_unit="Retail",
        )
    assert len(hook.secret) == 64 and unit_hook.secret == ""
    with read_session(engine) as s:
        table = subscriptions.subscriptions_table(s, endpoints=True)
        added = [
            json.loads(e.after)
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == "notify.endpoint_added"))
        ]
    assert "secret" not in table.columns
    assert table.set_index("id").loc[unit_hook.id, "url"] == "https://hooks.slack.com/service…"
    assert all(hook.secret not in json.dumps(a) and "XXXXSECRET" not in json.dumps(a) for a in added)
    assert added[0]["secret_sha256_prefix"] and not added[1]["secret_sha256_prefix"]
    with pytest.raises(PermissionDenied, match="for business unit 'Retail'"), write_session(engine) as s:
        subscriptions.remove(s, actor=world.viewer, subscription_id=hook.id)
    with write_session(engine) as s:
        rotated = subscriptions.rotate_secret(s, actor=world.admin, subscription_id=hook.id)
    assert rotated.secret != hook.secret and len(rotated.secret) == 64
    with pytest.raises(InvalidInput, match="only webhooks are signed"), write_session(engine) as s:
        subscriptions.rotate_secret(s, actor=world.admin, subscription_id=unit_hook.id)
    with write_session(engine) as s:
        subscriptions.remove(s, actor=world.admin, subscription_id=unit_hook.id, reason="channel archived")
    with read_session(engine) as s:
        assert subscriptions.subscriptions_table(s, endpoints=True)["id"].tolist() == [hook.id]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must not be empty"),
        ("ftp://example.com/hook", "must be an absolute http:// or https:// address"),
        ("/relative/hook", "must be an absolute http:// or https:// address"),
        ("http://ci.example.com/hook", "must use https://"),
        ("https://user:pw@ci.example.com/hook", "must not contain a user name or password"),
        ("https://ci.example.com/" + "x" * 1000, "longer than 1000 characters"),
    ],
)
def test_bad_endpoint_urls_are_refused(engine, setup, url, message):
    world, *_ = setup
    with pytest.raises(InvalidInput, match=message), write_session(engine) as s:
        subscriptions.add_endpoint(s, actor=world.admin, channel="webhook", url=url, name="CI")
    assert _rows(engine, NotifySubscription) == []


def test_plain_http_only_to_this_machine(engine, setup):
    world, *_ = setup
    for url in ("http://localhost:9000/hook", "http://127.0.0.1:9000/hook", "http://[::1]:9000/hook"):
        with write_session(engine) as s:
            subscriptions.add_endpoint(s, actor=world.admin, channel="teams", url=url, name="local relay")
    with pytest.raises(InvalidInput, match="channel 'email' is not one of"), write_session(engine) as s:
        subscriptions.add_endpoint(s, actor=world.admin, channel="email", url="https://x.example", name="x")
    with pytest.raises(InvalidInput, match="endpoint name must not be empty"), write_session(engine) as s:
        subscriptions.add_endpoint(s, actor=world.admin, channel="webhook", url="https://x.example", name=" ")
    assert len(_rows(engine, NotifySubscription)) == 3
