"""Notification and retraining commands.

    steward notify deliver                      # cron, every minute: dispatch and send what is due
    steward notify status | failures | retry ID | events | purge --older-than 180
    steward notify preference --mode digest --digest-hour 8 --quiet 22-7 --timezone Europe/Amsterdam
    steward notify subscribe [--model M | --unit U] [--events alert.opened,alert.escalated]
    steward notify add-endpoint --channel webhook --url https://ci.example.com/hook --name "CI" [--model M]
    steward notify list [--endpoints] | rotate-secret ID | remove ID
    steward retraining open --model M --reason "..." [--alert N | --flag TRIGGER | --decision N] [--owner EMAIL] [--due DATE]
    steward retraining list [--model M] [--open] | answer ID --version N | cancel ID --reason "..." | loop

Every command that changes the registry acts as the person whose personal access token it holds
(``--token-file`` / STEWARD_TOKEN_FILE / STEWARD_TOKEN; cron: a service account's) through the same core functions
as the app; ``register-version --answers N`` links a new version to request N.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import typer
from sqlmodel import Session

from core.access import actor_by_email
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.governance import retraining
from core.notify import delivery, subscriptions
from core.outbox import EVENT_TYPES
from core.registry import services

notify_app = typer.Typer(
    help="Notifications: deliver them (cron), see failures, preferences, subscriptions and webhooks.",
    no_args_is_help=True,
)
retraining_app = typer.Typer(
    help="Retraining requests: open one from an alert, a flag or a meeting decision; answer, cancel, loop times.",
    no_args_is_help=True,
)
app.add_typer(notify_app, name="notify")
app.add_typer(retraining_app, name="retraining")

MODEL_OPTION = typer.Option(None, "--model", "-m", help="Model name.")
UNIT_OPTION = typer.Option("", "--unit", help="Business unit (instead of a model).")
EVENTS_OPTION = typer.Option(
    "", "--events", help="Comma-separated event types (default: all; see `notify events`)."
)


def _events(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _model_id(session: Session, name: str | None) -> int | None:
    return saved_id(services.model_by_name(session, name)) if name else None


# --- delivery ------------------------------------------------------------------------------------------


@notify_app.command("deliver")
def deliver_command(
    limit: int = typer.Option(100, "--limit", help="Send at most this many notifications in this run."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Dispatch new events and send due notifications once (run it every minute from cron)."""

    def body() -> None:
        if limit < 1:
            raise InvalidInput(f"--limit must be at least 1, got {limit}.")
        eng = engine()
        report = delivery.run_once(eng, actor=actor(eng, as_email), limit=limit)
        emit(report.as_dict() if as_json else report.summary(), as_json=as_json)

    run(body)


@notify_app.command("status")
def status_command(as_json: bool = JSON_OPTION) -> None:
    """Whether e-mail is configured, events waiting for the worker, and deliveries by state."""

    def body() -> None:
        with read_session(engine()) as session:
            state = delivery.health(session)
        if as_json:
            emit(state.__dict__, as_json=True)
            return
        lines = [
            f"E-mail: {'configured' if state.email_configured else 'not configured (STEWARD_SMTP_HOST is empty)'}",
            f"Events waiting for the worker: {state.undispatched}"
            + (
                f" (oldest {state.oldest_undispatched_at:%Y-%m-%d %H:%M} UTC)"
                if state.oldest_undispatched_at
                else ""
            ),
            f"Deliveries: {state.pending} due, {state.held} held for digests or quiet hours, "
            f"{state.retrying} retrying, {state.failed} failed, {state.sent_last_day} sent in the last day",
        ]
        emit("\n".join(lines), as_json=False)

    run(body)


@notify_app.command("failures")
def failures_command(as_json: bool = JSON_OPTION) -> None:
    """Deliveries given up and those retrying after a failure, newest first."""

    def body() -> None:
        with read_session(engine()) as session:
            frame = delivery.deliveries_table(session, problems_only=True)
        shown = frame[["id", "status", "channel", "recipient", "event", "model", "attempts", "last_error"]]
        emit(frame if as_json else shown, as_json=as_json)

    run(body)


@notify_app.command("retry")
def retry_command(
    delivery_id: int = typer.Argument(..., help="Delivery number (see `steward notify failures`)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Send a failed delivery again (the next `notify deliver` tries it)."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            delivery.send_again(session, actor=actor(eng, as_email), delivery_id=delivery_id)
        emit(
            f"Delivery #{delivery_id} will be sent again by the next `steward notify deliver`.", as_json=False
        )

    run(body)


@notify_app.command("purge")
def purge_command(
    older_than: int = typer.Option(
        180, "--older-than", help="Days of delivery records to keep (at least 7)."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Delete delivery records (events, deliveries, attempts) finished more than N days ago."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            counts = delivery.purge(session, actor=actor(eng, as_email), older_than_days=older_than)
        emit(
            counts
            if as_json
            else f"Removed {counts['events']} events, {counts['deliveries']} deliveries "
            f"and {counts['attempts']} attempts.",
            as_json=as_json,
        )

    run(body)


@notify_app.command("events")
def events_command(as_json: bool = JSON_OPTION) -> None:
    """The outbound event types (see docs/events.schema.json for their payloads)."""
    frame = pd.DataFrame([{"type": k, "meaning": v} for k, v in EVENT_TYPES.items()])
    emit(frame, as_json=as_json)


# --- preferences and subscriptions ------------------------------------------------------------------------


@notify_app.command("preference")
def preference_command(
    mode: str = typer.Option(..., "--mode", help="immediate, digest or off (only what you subscribe to)."),
    digest_hour: int = typer.Option(8, "--digest-hour", help="Local hour of the daily digest (0-23)."),
    quiet: str = typer.Option("", "--quiet", help="Quiet hours START-END in local hours, e.g. 22-7."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Europe/Amsterdam."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Set how you are told: at once, urgent at once and the rest in a daily digest, or not by default."""

    def body() -> None:
        start = end = None
        if quiet:
            first, sep, second = quiet.partition("-")
            if not sep or not first.strip().isdigit() or not second.strip().isdigit():
                raise InvalidInput(f"--quiet '{quiet}' must be START-END in whole hours, e.g. 22-7.")
            start, end = int(first), int(second)
        eng = engine()
        with write_session(eng) as session:
            pref = subscriptions.set_preference(
                session,
                actor=actor(eng, as_email),
                mode=mode,
                digest_hour=digest_hour,
                quiet_start=start,
                quiet_end=end,
                timezone=timezone,
            )
        emit(pref.__dict__ if as_json else f"Saved: {subscriptions.MODE_LABELS[pref.mode]}.", as_json=as_json)

    run(body)


@notify_app.command("subscribe")
def subscribe_command(
    model: str | None = MODEL_OPTION,
    unit: str = UNIT_OPTION,
    events: str = EVENTS_OPTION,
    as_email: str | None = AS_OPTION,
) -> None:
    """Subscribe your e-mail to a model, a business unit or (neither given) every model."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            sub_id = subscriptions.subscribe_email(
                session,
                actor=actor(eng, as_email),
                model_id=_model_id(session, model),
                business_unit=unit,
                event_types=_events(events),
            )
        emit(f"Subscription #{sub_id} saved.", as_json=False)

    run(body)


@notify_app.command("add-endpoint")
def add_endpoint_command(
    channel: str = typer.Option(..., "--channel", help="webhook (signed JSON), slack or teams."),
    url: str = typer.Option(..., "--url", help="https:// address of the endpoint."),
    name: str = typer.Option(..., "--name", help="What it is, e.g. 'CI deploy hook'."),
    model: str | None = MODEL_OPTION,
    unit: str = UNIT_OPTION,
    events: str = EVENTS_OPTION,
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Send events to a webhook, Slack or Teams channel. A webhook's signing secret is printed once."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            endpoint = subscriptions.add_endpoint(
                session,
                actor=actor(eng, as_email),
                channel=channel,
                url=url,
                name=name,
                model_id=_model_id(session, model),
                business_unit=unit,
                event_types=_events(events),
            )
        if as_json:
            emit({"id": endpoint.id, "secret": endpoint.secret}, as_json=True)
        elif endpoint.secret:
            emit(
                f"Endpoint #{endpoint.id} added. Its signing secret (shown only now; keep it in your receiver):\n"
                f"{endpoint.secret}",
                as_json=False,
            )
        else:
            emit(f"Endpoint #{endpoint.id} added.", as_json=False)

    run(body)


@notify_app.command("rotate-secret")
def rotate_secret_command(
    subscription_id: int = typer.Argument(
        ..., help="Webhook number (see `steward notify list --endpoints`)."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Give a webhook a new signing secret (printed once; the old one stops at once)."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            endpoint = subscriptions.rotate_secret(
                session, actor=actor(eng, as_email), subscription_id=subscription_id
            )
        emit({"id": endpoint.id, "secret": endpoint.secret} if as_json else endpoint.secret, as_json=as_json)

    run(body)


@notify_app.command("remove")
def remove_command(
    subscription_id: int = typer.Argument(..., help="Subscription or endpoint number."),
    reason: str = typer.Option("", "--reason"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Stop a subscription or endpoint."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            subscriptions.remove(
                session, actor=actor(eng, as_email), subscription_id=subscription_id, reason=reason
            )
        emit(f"Subscription #{subscription_id} removed.", as_json=False)

    run(body)


@notify_app.command("list")
def list_command(
    endpoints: bool = typer.Option(
        False, "--endpoints", help="Webhooks, Slack and Teams endpoints (else e-mail)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Active subscriptions (never their secrets)."""

    def body() -> None:
        with read_session(engine()) as session:
            frame = subscriptions.subscriptions_table(session, endpoints=endpoints)
        emit(frame, as_json=as_json)

    run(body)


# --- retraining -----------------------------------------------------------------------------------------


@retraining_app.command("open")
def open_command(
    model: str = typer.Option(..., "--model", "-m", help="Model name."),
    reason: str = typer.Option(..., "--reason", help="Why the model needs retraining."),
    alert: int | None = typer.Option(None, "--alert", help="Alert number it comes from."),
    flag: str | None = typer.Option(
        None, "--flag", help="Re-assessment flag trigger it comes from, e.g. drift_alert."
    ),
    decision: int | None = typer.Option(None, "--decision", help="Meeting decision number it comes from."),
    owner: str | None = typer.Option(
        None, "--owner", help="E-mail of its owner (default: the technical owner)."
    ),
    due: str | None = typer.Option(None, "--due", help="Due date YYYY-MM-DD (default: in 30 days)."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Open a retraining request on a model."""

    def body() -> None:
        due_on = None
        if due:
            try:
                due_on = date.fromisoformat(due)
            except ValueError:
                raise InvalidInput(f"--due '{due}' is not a date (YYYY-MM-DD).") from None
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            owner_id = actor_by_email(session, owner).id if owner else None  # a person named, not who acts
            request_id = retraining.open_request(
                session,
                actor=who,
                model_id=saved_id(services.model_by_name(session, model)),
                reason=reason,
                owner_id=owner_id,
                due_on=due_on,
                alert_id=alert,
                flag_trigger=flag,
                decision_id=decision,
            )
        with read_session(eng) as session:
            view = retraining.request_view(session, request_id)
        if as_json:
            emit(
                {
                    "id": view.id,
                    "owner": view.owner,
                    "due_on": view.due_on.isoformat(),
                    "status": view.status,
                },
                as_json=True,
            )
        else:
            emit(
                f"Retraining request #{view.id} opened; owner {view.owner}, due {view.due_on:%Y-%m-%d}. "
                f"Register the new version with `steward register-version --answers {view.id}`.",
                as_json=False,
            )

    run(body)


@retraining_app.command("list")
def list_requests_command(
    model: str | None = MODEL_OPTION,
    open_only: bool = typer.Option(False, "--open", help="Only open and answered requests."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Retraining requests, open ones first."""

    def body() -> None:
        with read_session(engine()) as session:
            frame = retraining.requests_table(
                session, model_id=_model_id(session, model), open_only=open_only
            )
        shown = frame[
            ["id", "model", "status", "source", "owner", "due_on", "overdue", "answered_version", "loop_days"]
        ]
        emit(frame if as_json else shown, as_json=as_json)

    run(body)


@retraining_app.command("answer")
def answer_command(
    request_id: int = typer.Argument(..., help="Retraining request number."),
    version: int = typer.Option(
        ..., "--version", help="Version number of the request's model that answers it."
    ),
    as_email: str | None = AS_OPTION,
) -> None:
    """Name an already registered version as the answer to a request."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            view = retraining.request_view(session, request_id)
            found = services.version_by_number(session, view.model_id, version)
            assert found.id is not None  # a stored row
            retraining.answer(session, actor=actor(eng, as_email), request_id=request_id, version_id=found.id)
        emit(f"Version {version} answers retraining request #{request_id}.", as_json=False)

    run(body)


@retraining_app.command("cancel")
def cancel_command(
    request_id: int = typer.Argument(..., help="Retraining request number."),
    reason: str = typer.Option(..., "--reason", help="Why it is withdrawn."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Withdraw an open retraining request."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            retraining.cancel(session, actor=actor(eng, as_email), request_id=request_id, reason=reason)
        emit(f"Retraining request #{request_id} cancelled.", as_json=False)

    run(body)


@retraining_app.command("loop")
def loop_command(as_json: bool = JSON_OPTION) -> None:
    """Per model: retraining requests closed and open, and days from request to production."""

    def body() -> None:
        with read_session(engine()) as session:
            frame = retraining.loop_times(session)
        emit(frame, as_json=as_json)

    run(body)
