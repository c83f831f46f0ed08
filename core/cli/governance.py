"""Governance commands: promotion requests and decisions, stage history, the audit log, people and roles.

Decisions act as ``--as EMAIL`` and go through the same core functions as the app, so the
same four-eyes rules and the same error messages apply. ``steward audit verify`` exits 0 on
an intact chain and 1 naming the first bad event.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from core import anchors, audit, identity
from core.access import ROLES, actor_by_email
from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, fail, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.governance import history, promotions
from core.registry import reads, services, stewardship_reads

audit_app = typer.Typer(help="The hash-chained audit log: verify it, export it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

MODEL_OPTION = typer.Option(..., "--model", "-m", help="Model name.")


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{option} '{value}' is not a date; use YYYY-MM-DD.") from None


def _ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(value, datetime) else ""


# --- promotions ------------------------------------------------------------------------------


@app.command("request-promotion")
def request_promotion_command(
    model: str = MODEL_OPTION,
    version: int = typer.Option(..., "--version", "-v", help="Version number to promote."),
    to: str = typer.Option("production", "--to", help="Target stage: staging or production."),
    justification: str = typer.Option(
        ..., "--justification", "-j", help="Why this version should be promoted."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Request promotion of a version; its evidence gates are evaluated and frozen now."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with read_session(eng) as session:  # the gates take seconds: evaluated before the write lock
            row = services.model_by_name(session, model)
            version_id = saved_id(services.version_by_number(session, saved_id(row), version))
            evidence = promotions.prepare_evidence(session, actor=who, version_id=version_id, target_stage=to)
        with write_session(eng) as session:
            request_id = promotions.request_promotion(
                session,
                actor=who,
                version_id=version_id,
                target_stage=to,
                justification=justification,
                evidence=evidence,
            )
        with read_session(eng) as session:
            view = promotions.request_view(session, request_id)
        _print_request(view, as_json=as_json, headline=f"Request #{request_id} opened.")

    run(body)


@app.command("approve")
def approve_command(
    request_id: int = typer.Argument(..., help="Request number."),
    comment: str = typer.Option("", "--comment", "-c"),
    override_reason: str = typer.Option(
        "", "--override-reason", help="Required when a gate fails: why approve anyway."
    ),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve a request (four-eyes: not the requester, not the version's creator)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            status = promotions.approve(
                session, actor=who, request_id=request_id, comment=comment, override_reason=override_reason
            )
        with read_session(eng) as session:
            view = promotions.request_view(session, request_id)
        headline = (
            f"Request #{request_id} approved: version {view.version} of '{view.model}' is now in {view.target_stage}."
            if status == "approved"
            else f"Approval recorded on #{request_id} ({view.approvals} of {view.required_approvals}); "
            "another approver must approve."
        )
        _print_request(view, as_json=as_json, headline=headline)

    run(body)


@app.command("reject")
def reject_command(
    request_id: int = typer.Argument(..., help="Request number."),
    comment: str = typer.Option(..., "--comment", "-c", help="Why the request is rejected."),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reject a pending request with a comment."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            promotions.reject(session, actor=who, request_id=request_id, comment=comment)
        _decided(eng, request_id, as_json)

    run(body)


@app.command("cancel")
def cancel_command(
    request_id: int = typer.Argument(..., help="Request number."),
    comment: str = typer.Option("", "--comment", "-c"),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Withdraw your own pending request."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            promotions.cancel(session, actor=who, request_id=request_id, comment=comment)
        _decided(eng, request_id, as_json)

    run(body)


@app.command("requests")
def requests_command(
    status: str | None = typer.Option(None, "--status", help="pending, approved, rejected or cancelled."),
    model: str | None = typer.Option(None, "--model", "-m"),
    as_json: bool = JSON_OPTION,
) -> None:
    """List promotion requests, newest first."""

    def body() -> None:
        with read_session(engine()) as session:
            model_id = services.model_by_name(session, model).id if model else None
            frame = promotions.list_requests(session, status=status, model_id=model_id)
        shown = frame[
            [
                "id",
                "model",
                "version",
                "target_stage",
                "status",
                "evidence_status",
                "approvals",
                "required_approvals",
                "requested_by",
                "requested_at",
                "decided_by",
            ]
        ]
        emit(
            frame.drop(columns=["justification"]),
            as_json=as_json,
            table=shown.assign(requested_at=shown["requested_at"].map(_ts)),
        )

    run(body)


def _decided(eng: Any, request_id: int, as_json: bool) -> None:
    with read_session(eng) as session:
        view = promotions.request_view(session, request_id)
    _print_request(
        view, as_json=as_json, headline=f"Request #{request_id} {view.status} by {view.decided_by}."
    )


def _print_request(view: promotions.RequestView, *, as_json: bool, headline: str) -> None:
    if as_json:
        emit(
            {
                "id": view.id,
                "model": view.model,
                "version": view.version,
                "target_stage": view.target_stage,
                "status": view.status,
                "approvals": view.approvals,
                "required_approvals": view.required_approvals,
                "evidence_status": view.evidence_status,
                "gates": view.gates,
            },
            as_json=True,
        )
        return
    lines = [headline, f"Evidence ({view.evidence_status}):"]
    lines += [f"  [{g['status']:>4}] {g['title']}: {g['figure']}" for g in view.gates]
    emit("\n".join(lines), as_json=False)


# --- stage history ---------------------------------------------------------------------------


@app.command("history")
def history_command(
    model: str = MODEL_OPTION,
    on: str | None = typer.Option(
        None, "--on", help="YYYY-MM-DD: which version was in production at the end of that day (UTC)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Stage history of a model, or which version was in production on a date."""

    def body() -> None:
        with read_session(engine()) as session:
            row = services.model_by_name(session, model)
            day = _day(on, "--on")
            if day is not None:
                _print_on(session, saved_id(row), row.name, day, as_json)
                return
            frame = reads.stage_history(session, saved_id(row))
            periods = history.production_periods(session, saved_id(row))
        if as_json:
            emit(
                {
                    "model": row.name,
                    "stage_changes": frame.to_dict(orient="records"),
                    "production_periods": [p.__dict__ for p in periods],
                },
                as_json=True,
            )
            return
        shown = frame.assign(changed_at=frame["changed_at"].map(_ts))
        emit(shown, as_json=False)

    run(body)


def _print_on(session: Any, model_id: int, name: str, day: date, as_json: bool) -> None:
    ref = reads.production_version_on(session, model_id, history.as_instant(day))
    period = next(
        (
            p
            for p in history.production_periods(session, model_id)
            if ref is not None and p.version_id == ref.version_id and p.since <= history.as_instant(day)
        ),
        None,
    )
    if as_json:
        emit(
            {
                "model": name,
                "on": day.isoformat(),
                "version": ref.version if ref else None,
                "version_id": ref.version_id if ref else None,
                "since": period.since.isoformat() if period else None,
            },
            as_json=True,
        )
        return
    if ref is None:
        emit(f"On {day} (end of day UTC) no version of '{name}' was in production.", as_json=False)
    else:
        since = f" (in production since {_ts(period.since)})" if period else ""
        emit(
            f"On {day} (end of day UTC) version {ref.version} of '{name}' was in production{since}.",
            as_json=False,
        )


# --- audit -------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify_command(
    anchors_dir: Path | None = typer.Option(
        None,
        "--anchors",
        help="Directory of audit anchors to compare with (default STEWARD_AUDIT_ANCHOR_DIR).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Walk the hash chain, check the stage history against it and compare it with the anchors;
    exit 0 when all hold, 1 naming the first missing or bad event."""

    def body() -> None:
        with read_session(engine()) as session:
            verdict = audit.verify(session)
            history = audit.stage_history_problems(session)
            anchored = anchors.verify_against_anchors(session, anchors_dir)
        ok = verdict.ok and not history and anchored.ok
        if as_json:
            emit(
                {
                    "ok": ok,
                    "checked": verdict.checked,
                    "first_bad_id": verdict.first_bad_id if not verdict.ok else anchored.first_bad_id,
                    "problem": verdict.problem,
                    "key_problem": verdict.key_problem,
                    "stage_history": history,
                    "anchors": anchored.message(),
                    "anchor_first_bad_id": anchored.first_bad_id,
                },
                as_json=True,
            )
            if not ok:
                raise typer.Exit(1)
            return
        if not verdict.ok:
            fail(verdict.message())
        if history:
            fail(f"the stage history does not match the audit log: {history[0]}")
        if not anchored.ok:
            fail(anchored.message())
        emit(verdict.message(), as_json=False)
        if anchored.directory is not None:
            emit(anchored.message(), as_json=False)
        for warning in anchored.warnings:
            emit(f"Warning: {warning}", as_json=False)

    run(body)


@audit_app.command("anchor")
def audit_anchor_command(
    out: Path | None = typer.Option(
        None, "--out", help="Directory to write the anchor to (default STEWARD_AUDIT_ANCHOR_DIR)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a checkpoint of the audit log (event count, last id and hash, time; signed with the
    audit key when set) to a directory outside the database, ideally on write-once storage."""

    def body() -> None:
        with read_session(engine()) as session:
            anchor = anchors.write_anchor(session, out)
        info = {
            "file": str(anchor.path),
            "events": anchor.events,
            "last_id": anchor.last_id,
            "last_hash": anchor.last_hash,
            "created_at": anchor.created_at.isoformat(),
            "signed_with_key": anchor.signed_with_key,
        }
        emit(
            info
            if as_json
            else f"Anchored {anchor.events} events (last event {anchor.last_id}) in {anchor.path}"
            + ("" if anchor.signed_with_key else " (not signed: STEWARD_AUDIT_HMAC_KEY is not set)."),
            as_json=as_json,
        )

    run(body)


@audit_app.command("export")
def audit_export_command(
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write."),
    model: str | None = typer.Option(None, "--model", "-m"),
    person: str | None = typer.Option(None, "--person", help="Email of the acting person."),
    action: list[str] = typer.Option(
        [], "--action", help="Action name (repeatable), e.g. promotion.approved."
    ),
    date_from: str | None = typer.Option(None, "--from", help="YYYY-MM-DD (inclusive, UTC)."),
    date_to: str | None = typer.Option(None, "--to", help="YYYY-MM-DD (inclusive, UTC)."),
) -> None:
    """Export audit events matching the filters to CSV, newest first."""

    def body() -> None:
        with read_session(engine()) as session:
            model_id = services.model_by_name(session, model).id if model else None
            actor_id = actor_by_email(session, person).id if person else None
            frame = audit.query_events(
                session,
                model_id=model_id,
                actor_id=actor_id,
                actions=action or None,
                date_from=_day(date_from, "--from"),
                date_to=_day(date_to, "--to"),
                limit=None,
            )
        out.write_bytes(audit.events_csv(frame))
        emit(f"Wrote {len(frame)} events to {out}.", as_json=False)

    run(body)


# --- people and roles (admins) ------------------------------------------------------------------


def _role_pair(value: str) -> tuple[str, str]:
    role, _, unit = value.partition(":")
    if role.strip() not in ROLES:
        raise InvalidInput(
            f"--role '{value}': role must be one of {', '.join(ROLES)} (optionally role:business unit)."
        )
    return role.strip(), unit.strip()


@app.command("add-person")
def add_person_command(
    name: str = typer.Option(..., "--name"),
    email: str = typer.Option(..., "--email"),
    team: str = typer.Option("", "--team"),
    role: list[str] = typer.Option([], "--role", help="role or role:business unit (repeatable)."),
    service_account: bool = typer.Option(
        False, "--service-account", help="A pipeline's identity: may register, log and request, never decide."
    ),
    as_email: str | None = AS_OPTION,
) -> None:
    """Add a person (or with --service-account, a service account) with optional role grants (admin)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        pairs = [_role_pair(r) for r in role]
        add = identity.create_service_account if service_account else services.create_person
        with write_session(eng) as session:
            person_id = add(session, actor=who, name=name, email=email, team=team, roles=pairs)
        emit(f"Added {name} <{email.strip().lower()}> (person {person_id}).", as_json=False)

    run(body)


@app.command("grant-role")
def grant_role_command(
    email: str = typer.Option(..., "--person", help="Email of the person."),
    role: str = typer.Option(..., "--role", help=", ".join(ROLES)),
    unit: str = typer.Option("", "--unit", help="Business unit the grant is limited to (default: all)."),
    revoke: bool = typer.Option(False, "--revoke", help="Revoke the grant instead."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Grant (or with --revoke, revoke) a role, optionally for one business unit (admin)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            person = actor_by_email(session, email)
            if revoke:
                services.revoke_role(
                    session, actor=who, person_id=person.id, role=role, business_unit=unit.strip()
                )
            else:
                services.grant_role(session, actor=who, person_id=person.id, role=role, business_unit=unit)
        scope = f" for {unit.strip()}" if unit.strip() else ""
        emit(
            f"{'Revoked' if revoke else 'Granted'} {role}{scope} {'from' if revoke else 'to'} {person.name}.",
            as_json=False,
        )

    run(body)


@app.command("mark-left")
def mark_left_command(
    email: str = typer.Option(..., "--person", help="Email of the person who left."),
    on: str | None = typer.Option(None, "--on", help="YYYY-MM-DD (default today)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Mark a person as having left: they can no longer act; their ownerships are flagged (admin)."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            person = actor_by_email(session, email)
            services.set_person_active(
                session, actor=who, person_id=person.id, active=False, left_on=_day(on, "--on")
            )
            roles = stewardship_reads.roles_of(session, person.id)
        emit(f"{person.name} marked as left.", as_json=False)
        if not roles.empty:  # a leaver's roles stay theirs (flagged) until someone takes them over
            emit(
                f"{person.name} still holds {len(roles)} owner role(s); hand them over with\n"
                f"  steward hand-over --from {person.email} --to EMAIL --reason '...' [--model M] [--role R]",
                as_json=False,
            )
            emit(
                roles[["model", "role_label", "since"]].rename(columns={"role_label": "role"}), as_json=False
            )

    run(body)
