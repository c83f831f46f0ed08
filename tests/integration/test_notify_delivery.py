"""Delivery against real servers on 127.0.0.1: e-mail to an SMTP server that wants STARTTLS (or TLS)
and a login, signed webhooks, Slack and Teams bodies to an HTTP receiver that fails and recovers;
quiet hours, digests, retries with backoff, giving up, sending again, and two workers at once."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from app import navigation
from core.config import get_settings
from core.db.engine import read_session, write_session
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.governance import retraining
from core.notify import delivery, messages, subscriptions
from core.registry import services
from tests.factories import make_model, make_world
from tests.notify_factories import (
    BASE_URL,
    deliveries,
    mark_all_dispatched,
    monitored_model,
    open_drift_alert,
    use_servers,
)
from tests.notify_servers import Mailbox, http_receiver, smtp_server

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "events.schema.json").read_text())
APP_PAGES = {page.url_path for page in navigation.every_page()}


def _attempts(engine, delivery_id):
    with read_session(engine) as s:
        return delivery.attempts_table(s, delivery_id=delivery_id)


def _endpoint(engine, actor, url, channel="webhook", **scope):
    with write_session(engine) as s:
        return subscriptions.add_endpoint(
            s, actor=actor, channel=channel, url=url, name=f"{channel} test", **scope
        )


def _register_version(engine, actor, model_id):
    with write_session(engine) as s:
        return services.register_version(s, actor=actor, model_id=model_id, metrics={"accuracy": 0.9})


def test_drift_alert_mail_reaches_owners_and_approvers_over_starttls(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    mark_all_dispatched(engine)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        alert_id = open_drift_alert(engine, world.system, model_id, version_id, share=0.6)
        report = delivery.run_once(engine, actor=world.system)

    expected = {"owner@example.com", "viewer@example.com", "approver@example.com", "approver2@example.com"}
    assert {rcpt for _, rcpts in box.envelopes for rcpt in rcpts} == expected  # not admin, labeller, system
    assert report.sent == len(box.messages) == 4 and report.failed_attempts == 0
    assert box.logins == ["steward-mailer"] * 4  # logged in, over TLS (the server refuses AUTH in clear)
    (mail,) = box.to("owner@example.com")
    assert mail["Subject"] == "[Steward] URGENT: Alert on Credit scoring: data drift"
    assert mail["From"] == "steward@example.test" and mail["Auto-Submitted"] == "auto-generated"
    text = Mailbox.text(mail)
    assert "Data drift in " in text and "60% of features drifted" in text
    assert "You receive this as business owner of the model." in text
    link = re.search(r"Open the model: (\S+)", text).group(1)
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL  # absolute, on the configured base URL
    assert parts.path.strip("/") in APP_PAGES  # a page the app serves
    assert parse_qs(parts.query) == {"model": [str(model_id)], "alert": [str(alert_id)]}
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f"href='{BASE_URL}/model?model={model_id}&amp;alert={alert_id}'" in html
    (approver_mail,) = box.to("approver@example.com")
    assert "as approver for every business unit" in Mailbox.text(approver_mail)
    for d in deliveries(engine):
        (attempt,) = _attempts(engine, d.id).itertuples()
        assert d.status == "sent" and attempt.ok and attempt.status_code == 250


def test_implicit_tls(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="technical_owner"
        )
    mark_all_dispatched(engine)
    with smtp_server(tmp_path, security="tls") as box:
        use_servers(monkeypatch, box, security="tls")
        _register_version(engine, world.owner, model_id)
        delivery.run_once(engine, actor=world.system)
    (mail,) = box.to("viewer@example.com")
    assert mail["Subject"] == "[Steward] Credit scoring v2 registered"
    assert "Olivia Owner registered Credit scoring v2." in Mailbox.text(mail)
    assert not box.to("owner@example.com")  # she registered it herself


def test_a_refused_login_is_recorded_and_retried_later(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="backup"
        )
    mark_all_dispatched(engine)
    now = datetime(2026, 5, 4, 10, tzinfo=UTC)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box, smtp_password="wrong")
        _register_version(engine, world.owner, model_id)
        report = delivery.run_once(engine, actor=world.system, now=now)
    assert report.failed_attempts == 3 and not box.messages  # the backup owner and two approvers
    (d,) = deliveries(engine, target="viewer@example.com")
    assert d.status == "pending" and d.attempts == 1 and d.last_status_code == 535
    assert d.next_attempt_at == now + timedelta(seconds=60)
    assert "535" in d.last_error and "wrong" not in d.last_error  # never the password


def test_webhook_is_signed_schema_valid_and_deduplicable(engine, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch)
    with http_receiver() as receiver:
        endpoint = _endpoint(engine, world.owner, receiver.url, model_id=model_id)
        mark_all_dispatched(engine)
        version_id = _register_version(engine, world.owner, model_id)
        report = delivery.run_once(engine, actor=world.system)
    assert report.sent == 1
    (hit,) = receiver.received
    body = hit.json()
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(body)
    assert body["type"] == "version.registered" and body["data"]["version"]["id"] == version_id
    assert body["url"] == f"{BASE_URL}/model?model={model_id}" and body["actor"] == "Olivia Owner"
    assert hit.headers["X-Steward-Event-Id"] == body["id"] and hit.headers["X-Steward-Event"] == body["type"]
    timestamp = hit.headers["X-Steward-Timestamp"]
    signature = hit.headers["X-Steward-Signature"]
    now = int(datetime.now(UTC).timestamp())
    assert messages.verify_signature(endpoint.secret, timestamp, hit.body, signature, now=now)
    assert not messages.verify_signature("another secret", timestamp, hit.body, signature, now=now)
    assert not messages.verify_signature(endpoint.secret, timestamp, hit.body + b" ", signature, now=now)
    assert not messages.verify_signature(endpoint.secret, timestamp, hit.body, signature, now=now + 3600)
    readme_verify = _readme_verify()  # what the README tells receivers to run
    assert readme_verify(endpoint.secret, hit.body, timestamp, signature)
    assert not readme_verify(endpoint.secret, hit.body.replace(b"Olivia", b"Mallory"), timestamp, signature)


def _readme_verify():
    """The ``verify`` function of the README's webhook section, as a receiver would copy it."""
    text = (REPO / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL) if "def verify(" in b]
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102 (our own documentation, run as documented)
    return namespace["verify"]


def test_a_receiver_that_fails_and_recovers(engine, monkeypatch):
    """500, then 503, then 200: three attempts recorded, each after the backoff, one event id."""
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch, notify_retry_base_s=60)
    t0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
    with http_receiver() as receiver:
        _endpoint(engine, world.admin, receiver.url)
        mark_all_dispatched(engine)
        _register_version(engine, world.owner, model_id)
        receiver.fail_next(500, 503)
        first = delivery.run_once(engine, actor=world.system, now=t0)
        too_early = delivery.run_once(engine, actor=world.system, now=t0 + timedelta(seconds=59))
        second = delivery.run_once(engine, actor=world.system, now=t0 + timedelta(seconds=60))
        third = delivery.run_once(engine, actor=world.system, now=t0 + timedelta(seconds=179))
        fourth = delivery.run_once(engine, actor=world.system, now=t0 + timedelta(seconds=180))
    assert (first.failed_attempts, too_early.failed_attempts + too_early.sent) == (1, 0)
    assert (second.failed_attempts, third.sent + third.failed_attempts, fourth.sent) == (1, 0, 1)
    assert len(receiver.received) == 3
    assert len({r.headers["X-Steward-Event-Id"] for r in receiver.received}) == 1  # the same event each time
    (d,) = deliveries(engine)
    assert d.status == "sent" and d.attempts == 3 and d.sent_at == t0 + timedelta(seconds=180)
    tries = _attempts(engine, d.id)
    assert tries["ok"].tolist() == [False, False, True]
    assert tries["status_code"].tolist() == [500, 503, 200]
    assert tries["attempted_at"].tolist() == [t0, t0 + timedelta(seconds=60), t0 + timedelta(seconds=180)]
    assert tries["error"].iloc[0] == "HTTP 500 Internal Server Error: receiver is down for maintenance"
    with read_session(engine) as s:
        assert delivery.deliveries_table(s).empty  # recovered: nothing left to show as a problem


def test_given_up_after_max_attempts_shown_and_sent_again_by_an_admin(engine, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch, notify_max_attempts=2, notify_retry_base_s=1)
    t0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
    with http_receiver() as receiver:
        _endpoint(engine, world.admin, receiver.url)
        mark_all_dispatched(engine)
        _register_version(engine, world.owner, model_id)
        receiver.fail_next(502, 502)
        delivery.run_once(engine, actor=world.system, now=t0)
        last = delivery.run_once(engine, actor=world.system, now=t0 + timedelta(seconds=5))
        assert last.given_up == 1
        (d,) = deliveries(engine)
        assert d.status == "failed" and d.attempts == 2
        with read_session(engine) as s:
            shown = delivery.deliveries_table(s)
            state = delivery.health(s)
        assert shown[["status", "event", "attempts"]].values.tolist() == [["failed", "version.registered", 2]]
        assert shown["last_error"].iloc[0].startswith("HTTP 502")
        assert state.failed == 1
        assert (
            delivery.run_once(engine, actor=world.system, now=t0 + timedelta(hours=1)).sent == 0
        )  # given up
        with pytest.raises(PermissionDenied, match="this needs the role admin"), write_session(engine) as s:
            delivery.send_again(s, actor=world.owner, delivery_id=d.id)
        with write_session(engine) as s:
            delivery.send_again(s, actor=world.admin, delivery_id=d.id)
        with pytest.raises(Conflict, match="not failed"), write_session(engine) as s:
            delivery.send_again(s, actor=world.admin, delivery_id=d.id)
        assert delivery.run_once(engine, actor=world.system).sent == 1
    assert len(receiver.received) == 3 and deliveries(engine)[0].status == "sent"


def test_slack_and_teams_show_peoples_text_literally(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = monitored_model(engine, world)
    reason = "Income *drifted* <b>badly</b> & [see](http://evil.example)"
    with http_receiver() as receiver, smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        _endpoint(engine, world.owner, receiver.url, channel="slack", model_id=model_id)
        _endpoint(engine, world.owner, receiver.url, channel="teams", business_unit="Credit risk")
        mark_all_dispatched(engine)
        with write_session(engine) as s:
            request_id = retraining.open_request(s, actor=world.approver, model_id=model_id, reason=reason)
        delivery.run_once(engine, actor=world.system)
    slack, teams = (r.json() for r in receiver.received)
    link = f"{BASE_URL}/model?model={model_id}&retraining={request_id}"
    section = next(b for b in slack["blocks"] if b["type"] == "section" and "text" in b)
    assert section["text"]["type"] == "plain_text" and f"Why: {reason}" in section["text"]["text"]
    assert slack["blocks"][-1]["elements"][0]["url"] == link
    assert slack["text"].endswith(
        "&amp;retraining=" + str(request_id)
    )  # the fallback text is escaped for mrkdwn
    card = teams["attachments"][0]["content"]
    runs = [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert f"Why: {reason}" in runs  # a TextRun: never Markdown
    assert card["actions"][0]["url"] == link
    (mail,) = box.to("owner@example.com")  # the owner of the request is told by e-mail
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "&lt;b&gt;badly&lt;/b&gt;" in html and "<b>badly</b>" not in html


def test_quiet_hours_hold_news_but_not_urgent_alerts(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, version_id = monitored_model(engine, world)
    with write_session(engine) as s:
        subscriptions.set_preference(
            s, actor=world.viewer, mode="immediate", quiet_start=22, quiet_end=7, timezone="Europe/Amsterdam"
        )
    mark_all_dispatched(engine)
    night = datetime(2026, 5, 4, 21, 30, tzinfo=UTC)  # 23:30 in Amsterdam (summer time)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        _register_version(engine, world.owner, model_id)  # news
        open_drift_alert(engine, world.system, model_id, version_id, share=0.6)  # urgent
        delivery.run_once(engine, actor=world.system, now=night)
        assert [m["Subject"] for m in box.to("viewer@example.com")] == [
            "[Steward] URGENT: Alert on Credit scoring: data drift"
        ]
        (held,) = [d for d in deliveries(engine, target="viewer@example.com") if d.status == "held"]
        assert held.next_attempt_at == datetime(2026, 5, 5, 5, tzinfo=UTC)  # 07:00 in Amsterdam
        delivery.run_once(engine, actor=world.system, now=datetime(2026, 5, 5, 4, 59, tzinfo=UTC))
        assert len(box.to("viewer@example.com")) == 1
        delivery.run_once(engine, actor=world.system, now=datetime(2026, 5, 5, 5, 0, tzinfo=UTC))
    assert [m["Subject"] for m in box.to("viewer@example.com")][1] == "[Steward] Credit scoring v2 registered"
    assert len(box.to("owner@example.com")) == 1  # no quiet hours for her: only the alert (she registered v2)


def test_a_daily_digest_bundles_what_is_not_urgent(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.viewer.id, role="backup"
        )
        subscriptions.set_preference(s, actor=world.viewer, mode="digest", digest_hour=8)
    mark_all_dispatched(engine)
    day = datetime(2026, 5, 4, 9, tzinfo=UTC)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        for _ in range(3):
            _register_version(engine, world.owner, model_id)
        delivery.run_once(engine, actor=world.system, now=day)
        assert not box.to("viewer@example.com")
        delivery.run_once(engine, actor=world.system, now=day + timedelta(hours=23))  # 08:00 next day
    (digest,) = box.to("viewer@example.com")
    assert digest["Subject"] == "[Steward] 3 updates" and digest["X-Steward-Digest"] == "3"
    text = Mailbox.text(digest)
    assert all(f"Credit scoring v{n} registered" in text for n in (2, 3, 4))
    assert text.count(f"{BASE_URL}/model?model={model_id}") == 3
    held = deliveries(engine, target="viewer@example.com")
    assert {d.status for d in held} == {"sent"}
    assert {tuple(_attempts(engine, d.id)["digest_of"]) for d in held} == {(3,)}


def test_mode_off_keeps_only_explicit_subscriptions(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    other_id, _ = make_model(engine, world.owner, name="Churn", business_unit="Retail")
    with write_session(engine) as s:
        subscriptions.set_preference(s, actor=world.approver, mode="off")
        subscriptions.subscribe_email(
            s, actor=world.approver, model_id=other_id, event_types=["version.registered"]
        )
        subscriptions.subscribe_email(s, actor=world.labeller, business_unit="Retail")
    mark_all_dispatched(engine)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        _register_version(engine, world.owner, model_id)
        _register_version(engine, world.owner, other_id)
        delivery.run_once(engine, actor=world.system)
    (mail,) = box.to("approver@example.com")
    assert mail["Subject"] == "[Steward] Churn v2 registered"
    assert "You receive this as a subscriber to this model." in Mailbox.text(mail)
    assert [m["Subject"] for m in box.to("labeller@example.com")] == ["[Steward] Churn v2 registered"]
    assert [m["Subject"] for m in box.to("approver2@example.com")] == [
        "[Steward] Credit scoring v2 registered",
        "[Steward] Churn v2 registered",
    ]


def test_people_who_left_are_not_told(engine, tmp_path, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.system, person_id=world.approver2.id, active=False)
    mark_all_dispatched(engine)
    with smtp_server(tmp_path) as box:
        use_servers(monkeypatch, box)
        _register_version(engine, world.owner, model_id)
        delivery.run_once(engine, actor=world.system)
    assert {r for _, rcpts in box.envelopes for r in rcpts} == {"approver@example.com"}


def test_without_smtp_no_mail_is_queued_but_endpoints_work(engine, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch)
    assert get_settings().smtp_host == ""
    with http_receiver() as receiver:
        _endpoint(engine, world.owner, receiver.url, model_id=model_id)
        mark_all_dispatched(engine)
        _register_version(engine, world.owner, model_id)
        report = delivery.run_once(engine, actor=world.system)
    assert (report.deliveries_created, report.sent, len(receiver.received)) == (1, 1, 1)
    with read_session(engine) as s:
        assert not delivery.health(s).email_configured


def test_two_workers_at_once_send_each_notification_once(engine, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch)
    with http_receiver() as receiver:
        _endpoint(engine, world.admin, receiver.url)
        mark_all_dispatched(engine)
        for _ in range(12):
            _register_version(engine, world.owner, model_id)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                delivery.run_once(engine, actor=world.system)
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        workers = [threading.Thread(target=work) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
        delivery.run_once(engine, actor=world.system)  # whatever a worker left behind
    assert not errors
    ids = [r.headers["X-Steward-Event-Id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 12


def test_the_worker_needs_the_deliver_role(engine):
    world = make_world(engine)
    with pytest.raises(PermissionDenied, match="may not notify deliver"):
        delivery.run_once(engine, actor=world.owner)


def test_old_finished_delivery_records_are_purged_but_unfinished_ones_stay(engine, monkeypatch):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    use_servers(monkeypatch)
    long_ago = datetime.now(UTC) - timedelta(days=200)
    with http_receiver() as receiver:
        _endpoint(engine, world.admin, receiver.url)
        mark_all_dispatched(engine)
        _register_version(engine, world.owner, model_id)
        delivery.run_once(engine, actor=world.system, now=long_ago)  # sent 200 days ago
        _register_version(engine, world.owner, model_id)
        receiver.fail_next(500)
        delivery.run_once(engine, actor=world.system, now=long_ago)  # still retrying
    with pytest.raises(InvalidInput, match="keep at least 7 days"), write_session(engine) as s:
        delivery.purge(s, actor=world.admin, older_than_days=1)
    with pytest.raises(PermissionDenied, match="may not notify deliver"), write_session(engine) as s:
        delivery.purge(s, actor=world.owner, older_than_days=30)
    with write_session(engine) as s:
        counts = delivery.purge(s, actor=world.admin, older_than_days=180)
    assert counts == {"attempts": 1, "deliveries": 1, "events": 1}
    (left,) = deliveries(engine)
    assert left.status == "pending" and left.attempts == 1  # the retrying one stays
