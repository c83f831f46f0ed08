"""Retraining requests: a loop that opens on evidence and closes in production.

A model owner or a validator opens a request on a model *from* something: an alert (drift,
performance, outage ...), a risk re-assessment flag, or a review meeting's decision about the
model (or, with a reason, from nothing in particular). The request names why, freezes the
evidence as it stands (the alert, the flag or the decision, the model's health and its
production version), and has an owner and a due date. A model has at most one request open at
a time: a second reason to retrain is answered by the same new version.

The loop:
- **open**: ``open_request``;
- **answered**: a new version of the model, registered after the request, names it
  (``steward register-version --answers N`` or "This version answers it" on the model page);
- **closed**: in the same transaction as the promotion that puts the answering version in
  production (``close_answered``, called by ``core.governance.promotions.approve``);
- or **cancelled** with a reason.
Each step is audited, and each is an outbound event (``retraining.*``): a webhook subscribed to
``retraining.requested`` can start the team's training pipeline. ``loop_times`` reports, per
model, how long requests took from opening to production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, allowed, grants_of, require
from core.db.models import (
    AgendaItem,
    Alert,
    Decision,
    Meeting,
    Model,
    ModelHealth,
    ModelVersion,
    Ownership,
    Person,
    RetrainingRequest,
)
from core.db.types import saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.governance import risk
from core.registry.validation import clean_text

MIN_REASON = 10
DEFAULT_DUE_DAYS = 30
OPEN_STATUSES = ("open", "answered")
SOURCE_LABELS = {
    "alert": "Monitoring alert",
    "reassessment": "Risk re-assessment flag",
    "meeting": "Review meeting decision",
    "manual": "Owner's judgement",
}
STATUS_LABELS = {
    "open": "Open",
    "answered": "Answered (new version waiting for production)",
    "closed": "Closed (in production)",
    "cancelled": "Cancelled",
}


def open_request(
    session: Session,
    *,
    actor: Actor,
    model_id: int,
    reason: str,
    owner_id: int | None = None,
    due_on: date | None = None,
    alert_id: int | None = None,
    flag_trigger: str | None = None,
    decision_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Open a retraining request on a model; from an alert, a re-assessment flag (its trigger, e.g.
    'drift_alert'), a meeting decision, or (none given) the owner's own judgement. Returns its id.

    The owner defaults to the model's technical owner (else its business owner, else the actor);
    the due date to ``DEFAULT_DUE_DAYS`` days from now.
    """
    model = _model(session, model_id)
    require(session, actor, "retraining.request", business_unit=model.business_unit)
    if model.status == "retired":
        raise Conflict(f"'{model.name}' is retired; it is not retrained.")
    given = [
        name
        for name, value in (("alert", alert_id), ("flag", flag_trigger), ("decision", decision_id))
        if value
    ]
    if len(given) > 1:
        raise InvalidInput(f"a retraining request comes from one thing; got {' and '.join(given)}.")
    reason = clean_text(reason, "reason").strip()
    if len(reason) < MIN_REASON:
        raise InvalidInput(
            f"reason must say why the model needs retraining (at least {MIN_REASON} characters)."
        )
    now = at or clock.now()
    due_on = due_on or (now.date() + timedelta(days=DEFAULT_DUE_DAYS))
    if due_on < now.date():
        raise InvalidInput(f"due date {due_on:%Y-%m-%d} is in the past.")
    owner = _owner(session, model, owner_id, actor)
    existing = session.exec(
        select(RetrainingRequest).where(
            RetrainingRequest.model_id == model_id, col(RetrainingRequest.status).in_(OPEN_STATUSES)
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"Retraining request #{existing.id} for '{model.name}' is still {existing.status} (due "
            f"{existing.due_on:%Y-%m-%d}); one new version answers every reason, so add to that one or cancel it first."
        )
    if alert_id:
        source, ref, origin = "alert", f"alert:{alert_id}", _alert_evidence(session, model, alert_id)
    elif flag_trigger:
        source, ref, origin = (
            "reassessment",
            f"flag:{flag_trigger}",
            _flag_evidence(session, model, flag_trigger, now.date()),
        )
    elif decision_id:
        source, ref, origin = (
            "meeting",
            f"decision:{decision_id}",
            _decision_evidence(session, model, decision_id),
        )
    else:
        source, ref, origin = "manual", "", {}
    request = RetrainingRequest(
        model_id=model_id,
        source=source,
        source_ref=ref,
        reason=reason,
        evidence={"source": origin, **_model_evidence(session, model), "frozen_at": now.isoformat()},
        owner_id=saved_id(owner),
        due_on=due_on,
        requested_by_id=actor.id,
        requested_at=now,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.RETRAINING_REQUESTED,
        object_type="retraining_request",
        object_id=request.id,
        model_id=model_id,
        after=_snapshot(request),
        reason=reason,
    )
    return saved_id(request)


def answer(session: Session, *, actor: Actor, request_id: int, version_id: int) -> None:
    """Name ``version_id`` (registered after the request, same model) as the request's answer.

    Needs the right to register versions of the model. A request already answered may be
    answered again by a newer version (the first candidate failed validation)."""
    request = _request(session, request_id)
    model = _model(session, request.model_id)
    require(session, actor, "version.register", business_unit=model.business_unit)
    if request.status not in OPEN_STATUSES:
        raise Conflict(f"Retraining request #{request.id} is {request.status}; it takes no new version.")
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    if version.model_id != request.model_id:
        raise InvalidInput(
            f"version {version.version} belongs to another model; request #{request.id} is about '{model.name}'."
        )
    if version.created_at < request.requested_at:
        raise InvalidInput(
            f"version {version.version} was registered on {version.created_at:%Y-%m-%d}, before request "
            f"#{request.id} was opened ({request.requested_at:%Y-%m-%d}); it cannot be its answer."
        )
    if version.id == request.answered_version_id:
        raise Conflict(f"Version {version.version} already answers request #{request.id}.")
    before = _snapshot(request)
    request.status, request.answered_version_id, request.answered_at = "answered", version.id, clock.now()
    request.row_version += 1
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.RETRAINING_ANSWERED,
        object_type="retraining_request",
        object_id=request.id,
        model_id=request.model_id,
        before=before,
        after=_snapshot(request),
    )
    if version.stage == "production":  # answered by a version already promoted: the loop is closed
        close_answered(session, actor=actor, version_id=saved_id(version))


def close_answered(
    session: Session, *, actor: Actor, version_id: int, at: datetime | None = None
) -> list[int]:
    """Close the requests that ``version_id`` answers, now that it is in production. Called inside the
    promotion's transaction (no role check of its own: the approval was the check). Returns their ids."""
    closed = []
    now = at or clock.now()
    for request in session.exec(
        select(RetrainingRequest).where(
            RetrainingRequest.answered_version_id == version_id, RetrainingRequest.status == "answered"
        )
    ):
        before = _snapshot(request)
        request.status, request.closed_at = "closed", max(now, request.requested_at)
        request.closing_note = "the answering version reached production"
        request.row_version += 1
        session.add(request)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action=events.RETRAINING_CLOSED,
            object_type="retraining_request",
            object_id=request.id,
            model_id=request.model_id,
            before=before,
            after={**_snapshot(request), "loop_days": _days(request.requested_at, request.closed_at)},
        )
        closed.append(saved_id(request))
    return closed


def cancel(session: Session, *, actor: Actor, request_id: int, reason: str) -> None:
    """Withdraw an open request, saying why (its requester, its owner, or an approver of the unit)."""
    request = _request(session, request_id)
    model = _model(session, request.model_id)
    require(session, actor, "retraining.request", business_unit=model.business_unit)
    if request.status not in OPEN_STATUSES:
        raise Conflict(f"Retraining request #{request.id} is already {request.status}.")
    grants = grants_of(session, actor.id)
    if actor.id not in (request.requested_by_id, request.owner_id) and not allowed(
        grants, "promotion.decide", model.business_unit
    ):
        raise PermissionDenied(
            f"Only the requester, the request's owner or an approver for {model.business_unit} may cancel request #{request.id}."
        )
    reason = clean_text(reason, "reason").strip()
    if len(reason) < MIN_REASON:
        raise InvalidInput(f"say why the request is cancelled (at least {MIN_REASON} characters).")
    before = _snapshot(request)
    request.status, request.closed_at, request.closing_note = "cancelled", clock.now(), reason
    request.row_version += 1
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.RETRAINING_CANCELLED,
        object_type="retraining_request",
        object_id=request.id,
        model_id=request.model_id,
        before=before,
        after=_snapshot(request),
        reason=reason,
    )


# --- reads ----------------------------------------------------------------------------------------------

REQUEST_COLUMNS = [
    "id",
    "model_id",
    "model",
    "business_unit",
    "status",
    "source",
    "source_ref",
    "reason",
    "owner",
    "owner_id",
    "requested_by",
    "requested_at",
    "due_on",
    "overdue",
    "answered_version",
    "closed_at",
    "loop_days",
]


def requests_table(
    session: Session,
    *,
    model_id: int | None = None,
    owner_id: int | None = None,
    business_unit: str | None = None,
    open_only: bool = False,
    today: date | None = None,
) -> pd.DataFrame:
    """Retraining requests, open ones first, newest first."""
    today = today or clock.today()
    query = select(RetrainingRequest, Model).join(Model, col(Model.id) == col(RetrainingRequest.model_id))
    if model_id is not None:
        query = query.where(RetrainingRequest.model_id == model_id)
    if owner_id is not None:
        query = query.where(RetrainingRequest.owner_id == owner_id)
    if business_unit:
        query = query.where(Model.business_unit == business_unit)
    if open_only:
        query = query.where(col(RetrainingRequest.status).in_(OPEN_STATUSES))
    names = {p.id: p.name for p in session.exec(select(Person))}
    numbers = {
        v.id: v.version
        for v in session.exec(
            select(ModelVersion).where(
                col(ModelVersion.id).in_(
                    select(RetrainingRequest.answered_version_id).where(
                        col(RetrainingRequest.answered_version_id).is_not(None)
                    )
                )
            )
        )
    }
    rows = []
    for r, m in session.exec(query.order_by(col(RetrainingRequest.requested_at).desc())):
        is_open = r.status in OPEN_STATUSES
        rows.append(
            {
                "id": r.id,
                "model_id": m.id,
                "model": m.name,
                "business_unit": m.business_unit,
                "status": r.status,
                "source": r.source,
                "source_ref": r.source_ref,
                "reason": r.reason,
                "owner": names.get(r.owner_id, ""),
                "owner_id": r.owner_id,
                "requested_by": names.get(r.requested_by_id, ""),
                "requested_at": r.requested_at,
                "due_on": r.due_on,
                "overdue": is_open and r.due_on < today,
                "answered_version": numbers.get(r.answered_version_id) if r.answered_version_id else None,
                "closed_at": r.closed_at,
                "loop_days": _days(r.requested_at, r.closed_at) if r.status == "closed" else None,
            }
        )
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    frame["answered_version"] = frame["answered_version"].astype("Int64")
    if not frame.empty:
        frame = frame.sort_values("status", key=lambda s: ~s.isin(OPEN_STATUSES), kind="stable").reset_index(
            drop=True
        )
    return frame


@dataclass(frozen=True)
class RequestView:
    id: int
    model_id: int
    model: str
    status: str
    source: str
    source_ref: str
    reason: str
    evidence: dict[str, Any]
    owner: str
    owner_id: int
    requested_by: str
    requested_by_id: int
    requested_at: datetime
    due_on: date
    answered_version: int | None
    answered_at: datetime | None
    closed_at: datetime | None
    closing_note: str
    row_version: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def request_view(session: Session, request_id: int) -> RequestView:
    r = _request(session, request_id)
    model = _model(session, r.model_id)
    names = {p.id: p.name for p in session.exec(select(Person))}
    version = session.get(ModelVersion, r.answered_version_id) if r.answered_version_id else None
    return RequestView(
        id=saved_id(r),
        model_id=r.model_id,
        model=model.name,
        status=r.status,
        source=r.source,
        source_ref=r.source_ref,
        reason=r.reason,
        evidence=dict(r.evidence),
        owner=names.get(r.owner_id, ""),
        owner_id=r.owner_id,
        requested_by=names.get(r.requested_by_id, ""),
        requested_by_id=r.requested_by_id,
        requested_at=r.requested_at,
        due_on=r.due_on,
        answered_version=version.version if version else None,
        answered_at=r.answered_at,
        closed_at=r.closed_at,
        closing_note=r.closing_note,
        row_version=r.row_version,
    )


def open_request_of(session: Session, model_id: int) -> RequestView | None:
    """The model's open (or answered) request, if any."""
    row = session.exec(
        select(RetrainingRequest.id).where(
            RetrainingRequest.model_id == model_id, col(RetrainingRequest.status).in_(OPEN_STATUSES)
        )
    ).first()
    return request_view(session, row) if row is not None else None


def answer_candidates(session: Session, request_id: int) -> list[tuple[int, str]]:
    """Versions that could answer a request: same model, registered after it, not its answer yet."""
    request = _request(session, request_id)
    return [
        (saved_id(v), f"v{v.version} ({v.stage}, registered {v.created_at:%Y-%m-%d})")
        for v in session.exec(
            select(ModelVersion)
            .where(
                ModelVersion.model_id == request.model_id,
                ModelVersion.created_at >= request.requested_at,
                col(ModelVersion.id) != (request.answered_version_id or 0),
            )
            .order_by(col(ModelVersion.version).desc())
        )
    ]


LOOP_COLUMNS = [
    "model_id",
    "model",
    "business_unit",
    "closed",
    "open",
    "overdue",
    "median_days",
    "mean_days",
    "max_days",
    "last_closed_at",
]


def loop_times(
    session: Session, *, business_unit: str | None = None, today: date | None = None
) -> pd.DataFrame:
    """Per model: requests closed and open, and days from opening to production (median, mean, max)."""
    frame = requests_table(session, business_unit=business_unit, today=today)
    if frame.empty:
        return pd.DataFrame(columns=LOOP_COLUMNS)
    rows = []
    for (model_id, model, unit), group in frame.groupby(["model_id", "model", "business_unit"], sort=True):
        closed = group[group["status"] == "closed"]
        days = closed["loop_days"].astype(float)
        rows.append(
            {
                "model_id": int(model_id),
                "model": model,
                "business_unit": unit,
                "closed": len(closed),
                "open": int(group["status"].isin(OPEN_STATUSES).sum()),
                "overdue": int(group["overdue"].sum()),
                "median_days": round(float(days.median()), 1) if len(days) else None,
                "mean_days": round(float(days.mean()), 1) if len(days) else None,
                "max_days": round(float(days.max()), 1) if len(days) else None,
                "last_closed_at": closed["closed_at"].max() if len(closed) else None,
            }
        )
    return pd.DataFrame(rows, columns=LOOP_COLUMNS)


@dataclass(frozen=True)
class Sources:
    """What a request on one model can be opened from, for the page's form."""

    alerts: list[tuple[int, str]]  # (alert id, label), open ones first
    flags: list[tuple[str, str]]  # (trigger, reason)
    decisions: list[tuple[int, str]]  # (decision id, label)


def sources_for(session: Session, model_id: int, *, today: date | None = None) -> Sources:
    today = today or clock.today()
    alerts = [
        (
            saved_id(a),
            f"#{a.id} {a.kind} {a.level}, opened {a.opened_at:%Y-%m-%d}"
            + ("" if a.closed_at is None else f", closed {a.closed_at:%Y-%m-%d}")
            + f": {a.message[:120]}",
        )
        for a in session.exec(
            select(Alert)
            .where(Alert.model_id == model_id)
            .order_by(col(Alert.closed_at).is_not(None), col(Alert.opened_at).desc())
            .limit(20)
        )
    ]
    flags = [
        (f.trigger, f.reason) for f in risk.reassessment_flags(session, model_ids=[model_id], today=today)
    ]
    decisions = [
        (
            saved_id(d),
            f"{m.title} ({m.held_at:%Y-%m-%d}): {item.title} -> {d.outcome}"
            + (f", {d.comment[:80]}" if d.comment else ""),
        )
        for d, item, m in session.exec(
            select(Decision, AgendaItem, Meeting)
            .join(AgendaItem, col(AgendaItem.id) == col(Decision.agenda_item_id))
            .join(Meeting, col(Meeting.id) == col(Decision.meeting_id))
            .where(AgendaItem.model_id == model_id)
            .order_by(col(Decision.recorded_at).desc())
            .limit(20)
        )
    ]
    return Sources(alerts=alerts, flags=flags, decisions=decisions)


# --- internals ------------------------------------------------------------------------------------------


def _model(session: Session, model_id: int) -> Model:
    model = session.get(Model, model_id)
    if model is None:
        raise NotFound(f"No model with id {model_id}.")
    return model


def _request(session: Session, request_id: int) -> RetrainingRequest:
    request = session.get(RetrainingRequest, request_id)
    if request is None:
        raise NotFound(f"No retraining request with id {request_id}.")
    return request


def _owner(session: Session, model: Model, owner_id: int | None, actor: Actor) -> Person:
    if owner_id is None:
        roles = dict(
            session.exec(
                select(Ownership.role, Ownership.person_id).where(Ownership.model_id == model.id)
            ).all()
        )
        for role in ("technical_owner", "business_owner"):
            person = session.get(Person, roles.get(role)) if roles.get(role) else None
            if person is not None and person.active:
                return person
        owner_id = actor.id
    person = session.get(Person, owner_id)
    if person is None:
        raise NotFound(f"No person with id {owner_id}.")
    if not person.active:
        raise InvalidInput(f"{person.name} has left; give the request to an active person.")
    if person.is_system:
        raise InvalidInput("the system account cannot own a retraining request; name a person.")
    return person


def _alert_evidence(session: Session, model: Model, alert_id: int) -> dict[str, Any]:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"No alert with id {alert_id}.")
    if alert.model_id != model.id:
        raise InvalidInput(f"alert #{alert_id} is about another model, not '{model.name}'.")
    return {
        "alert_id": alert.id,
        "kind": alert.kind,
        "level": alert.level,
        "message": alert.message,
        "opened_at": alert.opened_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
    }


def _flag_evidence(session: Session, model: Model, trigger: str, today: date) -> dict[str, Any]:
    assert model.id is not None  # a stored row
    raised_now = risk.reassessment_flags(session, model_ids=[model.id], today=today)
    flags = [f for f in raised_now if f.trigger == trigger]
    if not flags:
        raised = sorted({f.trigger for f in raised_now})
        raise InvalidInput(
            f"'{model.name}' has no '{trigger}' re-assessment flag now; raised: {', '.join(raised) or 'none'}."
        )
    flag = flags[0]
    return {
        "trigger": flag.trigger,
        "risk": flag.category_label,
        "reason": flag.reason,
        "since": flag.since.isoformat() if flag.since else None,
        "tier": risk.current_tier(session, model.id) or "not assessed",
    }


def _decision_evidence(session: Session, model: Model, decision_id: int) -> dict[str, Any]:
    decision = session.get(Decision, decision_id)
    if decision is None:
        raise NotFound(f"No meeting decision with id {decision_id}.")
    item = session.get(AgendaItem, decision.agenda_item_id)
    meeting = session.get(Meeting, decision.meeting_id)
    if item is None or meeting is None or item.model_id != model.id:
        raise InvalidInput(f"meeting decision #{decision_id} is not about '{model.name}'.")
    return {
        "decision_id": decision.id,
        "meeting_id": meeting.id,
        "meeting": meeting.title,
        "held_at": meeting.held_at.isoformat(),
        "item": item.title,
        "outcome": decision.outcome,
        "comment": decision.comment,
        "item_evidence": dict(item.evidence),
    }


def _model_evidence(session: Session, model: Model) -> dict[str, Any]:
    """The model's state when the request was opened: health and the production version's metrics."""
    health = session.get(ModelHealth, model.id)
    production = session.exec(
        select(ModelVersion).where(ModelVersion.model_id == model.id, ModelVersion.stage == "production")
    ).first()
    return {
        "health": {"status": health.status, "reasons": list(health.reasons)}
        if health
        else {"status": "unknown", "reasons": []},
        "production_version": (
            {"id": production.id, "number": production.version, "metrics": dict(production.metrics or {})}
            if production
            else None
        ),
    }


def _snapshot(request: RetrainingRequest) -> dict[str, Any]:
    return {
        "status": request.status,
        "source": request.source,
        "source_ref": request.source_ref,
        "owner_id": request.owner_id,
        "due_on": request.due_on.isoformat(),
        "answered_version_id": request.answered_version_id,
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
    }


def _days(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round((end - start).total_seconds() / 86400, 2)
