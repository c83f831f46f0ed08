"""The transactional outbox: registry events for people and other systems, written with their change.

``core.audit.record`` calls ``capture`` for every audit event it appends, inside the same
transaction. When the audit action is one that the outside world subscribes to (a version
registered, a promotion requested or decided, a stage changed, an alert opened, escalated or
closed, a rule proposed or decided, a retraining request opened, answered or closed), one
``outbox_event`` row is added with a UUID and the event's data, read from the rows the change
just wrote. So an outbound event exists if and only if its change was committed: a rolled-back
change leaves no event, and a committed one cannot lose its event when a mail server is down.
Sending is the delivery worker's job (``core.notify.delivery``), never the page's.

This module sits beside the audit log, under every domain: it reads tables only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from core import events
from core.db.models import (
    Alert,
    AuditEvent,
    BusinessRule,
    Model,
    ModelVersion,
    OutboxEvent,
    Person,
    PromotionRequest,
    RetrainingRequest,
)

SCHEMA_VERSION = 1

# Outbound event type -> what it means (also the documentation of docs/events.schema.json).
EVENT_TYPES: dict[str, str] = {
    "version.registered": "A new version of a model was registered.",
    "promotion.requested": "A model owner asked to move a version to staging or production; approvers must decide.",
    "promotion.decided": "A promotion request was approved, rejected or withdrawn (final).",
    "stage.changed": "A version changed stage (e.g. reached production, or was archived).",
    "alert.opened": "Monitoring opened an alert or warning on a model (drift, performance, outage, labels).",
    "alert.escalated": "An open warning became an alert.",
    "alert.closed": "The condition behind an alert no longer holds.",
    "rule.proposed": "A business rule change was proposed; approvers must decide.",
    "rule.approved": "A business rule change was approved and is in force.",
    "rule.rejected": "A business rule change was rejected.",
    "retraining.requested": "Someone asked for a model to be retrained (from an alert, a flag or a meeting).",
    "retraining.answered": "A new version was registered that answers a retraining request.",
    "retraining.closed": "The version answering a retraining request reached production.",
    "retraining.cancelled": "A retraining request was withdrawn.",
}

# Audit action (core/events.py) -> outbound event type. ``alert.updated`` is special-cased: only a
# warning that becomes an alert is news; its message changes with every daily figure.
AUDIT_ACTIONS: dict[str, str] = {
    events.VERSION_REGISTERED.name: "version.registered",
    events.PROMOTION_REQUESTED.name: "promotion.requested",
    events.PROMOTION_APPROVED.name: "promotion.decided",
    events.PROMOTION_APPROVED_WITH_OVERRIDE.name: "promotion.decided",
    events.PROMOTION_REJECTED.name: "promotion.decided",
    events.PROMOTION_CANCELLED.name: "promotion.decided",
    events.VERSION_STAGE_CHANGED.name: "stage.changed",
    events.ALERT_OPENED.name: "alert.opened",
    events.ALERT_CLOSED.name: "alert.closed",
    events.RULE_PROPOSED.name: "rule.proposed",
    events.RULE_APPROVED.name: "rule.approved",
    events.RULE_REJECTED.name: "rule.rejected",
    events.RETRAINING_REQUESTED.name: "retraining.requested",
    events.RETRAINING_ANSWERED.name: "retraining.answered",
    events.RETRAINING_CLOSED.name: "retraining.closed",
    events.RETRAINING_CANCELLED.name: "retraining.cancelled",
}


def outbound_type(event: AuditEvent) -> str | None:
    """The outbound event type an audit event produces, or None (most produce none)."""
    if event.action == events.ALERT_UPDATED.name:
        before, after = _json(event.before), _json(event.after)
        if before.get("level") == "warning" and after.get("level") == "alert":
            return "alert.escalated"
        return None
    return AUDIT_ACTIONS.get(event.action)


def capture(session: Session, event: AuditEvent) -> OutboxEvent | None:
    """Add the outbound event of ``event`` (an audit event just appended) to the caller's transaction."""
    kind = outbound_type(event)
    if kind is None:
        return None
    model = session.get(Model, event.model_id) if event.model_id is not None else None
    data: dict[str, Any] = {}
    if model is not None:
        data["model"] = {"id": model.id, "name": model.name, "business_unit": model.business_unit}
    data.update(_DATA[kind.split(".")[0]](session, event))
    row = OutboxEvent(
        event_id=str(uuid.uuid4()),
        type=kind,
        occurred_at=event.ts,
        audit_event_id=event.id,
        model_id=event.model_id,
        business_unit=model.business_unit if model is not None else "",
        actor_id=event.actor_id,
        urgent=_urgent(kind, data),
        data=data,
    )
    session.add(row)
    return row


def _urgent(kind: str, data: dict[str, Any]) -> bool:
    """Urgent: an alert (not a warning) opened, or a warning escalated. They skip quiet hours."""
    if kind == "alert.escalated":
        return True
    return kind == "alert.opened" and data.get("alert", {}).get("level") == "alert"


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _name(session: Session, person_id: int | None) -> dict[str, Any] | None:
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "email": person.email}


def _version(session: Session, version_id: int | None) -> dict[str, Any] | None:
    version = session.get(ModelVersion, version_id) if version_id is not None else None
    if version is None:
        return None
    return {
        "id": version.id,
        "number": version.version,
        "stage": version.stage,
        "git_commit": version.git_commit,
        "artifact_uri": version.artifact_uri,
        "artifact_sha256": version.artifact_sha256,
        "metrics": dict(version.metrics or {}),
    }


def _version_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    version = _version(session, int(event.object_id))
    if event.action == events.VERSION_STAGE_CHANGED.name:
        before, after = _json(event.before), _json(event.after)
        return {
            "version": version,
            "from_stage": before.get("stage", ""),
            "to_stage": after.get("stage", ""),
            "reason": event.reason,
        }
    return {"version": version}


def _promotion_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    request = session.get(PromotionRequest, int(event.object_id))
    if request is None:
        return {}
    after = _json(event.after)
    data: dict[str, Any] = {
        "request": {
            "id": request.id,
            "status": request.status,
            "from_stage": request.from_stage,
            "target_stage": request.target_stage,
            "justification": request.justification,
            "evidence_status": request.evidence_status,
            "required_approvals": request.required_approvals,
            "risk_tier": request.risk_tier,
            "requested_by": _name(session, request.requested_by_id),
        },
        "version": _version(session, request.model_version_id),
    }
    if event.action != events.PROMOTION_REQUESTED.name:
        data["request"]["decided_by"] = _name(session, request.decided_by_id)
        data["request"]["comment"] = after.get("comment", "")
        data["request"]["override_reason"] = after.get("override_reason", "")
    return data


def _stage_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    return _version_data(session, event)


def _alert_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    alert = session.get(Alert, int(event.object_id))
    if alert is None:
        return {}
    data: dict[str, Any] = {
        "alert": {
            "id": alert.id,
            "kind": alert.kind,
            "subject": alert.subject,
            "level": alert.level,
            "message": alert.message,
            "opened_at": alert.opened_at.isoformat(),
            "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        }
    }
    if event.action == events.ALERT_UPDATED.name:
        data["previous_level"] = _json(event.before).get("level")
    return data


def _rule_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    rule = session.get(BusinessRule, int(event.object_id))
    if rule is None:
        return {}
    return {
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "version": rule.version,
            "condition": f"{rule.name} {rule.operator} {rule.threshold:g}",
            "outcome": rule.outcome,
            "status": rule.status,
            "effective_from": rule.effective_from.isoformat() if rule.effective_from else None,
        },
        "comment": event.reason,
    }


def _retraining_data(session: Session, event: AuditEvent) -> dict[str, Any]:
    request = session.get(RetrainingRequest, int(event.object_id))
    if request is None:
        return {}
    return {
        "retraining": {
            "id": request.id,
            "status": request.status,
            "source": request.source,
            "source_ref": request.source_ref,
            "reason": request.reason,
            "owner": _name(session, request.owner_id),
            "due_on": request.due_on.isoformat(),
            "requested_at": request.requested_at.isoformat(),
            "closed_at": request.closed_at.isoformat() if request.closed_at else None,
        },
        "version": _version(session, request.answered_version_id),
    }


_DATA: dict[str, Callable[[Session, AuditEvent], dict[str, Any]]] = {
    "version": _version_data,
    "promotion": _promotion_data,
    "stage": _stage_data,
    "alert": _alert_data,
    "rule": _rule_data,
    "retraining": _retraining_data,
}


def pending_count(session: Session) -> int:
    """Events not yet turned into deliveries (the worker is behind or not running)."""
    return int(
        session.exec(
            select(func.count()).select_from(OutboxEvent).where(col(OutboxEvent.dispatched_at).is_(None))
        ).one()
    )
