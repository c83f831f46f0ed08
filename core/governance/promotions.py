"""The promotion workflow: request, approve, reject, cancel, comment — with four-eyes.

Rules, all enforced here (the UI only hides what these functions would refuse):
- a model owner requests version X -> staging or production with a justification; the
  evidence (gates and diff against production) is evaluated once and frozen with the request;
- an approver for the model's business unit decides; the requester and the version's creator
  can never approve; a high-risk model needs two distinct approvers; failing gates block
  approval unless each approver overrides with a written reason, and a request with a failing
  gate needs two distinct approvers too (one person cannot wave a gate through alone);
- the requester may cancel while pending; a decided request never changes again;
- each decision is a compare-and-set on (status, row_version): of two approvers acting at the
  same moment exactly one wins, the other gets Conflict "already decided by X at T";
- on final approval, in the same transaction: the request is closed, the version's stage
  changes (the previous production version is archived) and every change is audited.

Risk tier: a model is high-risk when ``core.governance.risk.current_tier(session, model_id)``
says "high". While that module is absent (or the model is not assessed) the tier is unknown
and one approver suffices; the request records the tier it was made under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import audit, clock, events
from core.access import Actor, allowed, grants_of, require
from core.db.models import (
    Model,
    ModelVersion,
    Person,
    PromotionComment,
    PromotionDecision,
    PromotionRequest,
)
from core.db.models.governance import TARGET_STAGES
from core.db.types import changed_rows, saved_id
from core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from core.events import EventKind
from core.governance import retraining, risk
from core.governance.gates import collect_evidence, current_production, import_gate_statistics
from core.monitoring import alerts
from core.registry import services
from core.registry.validation import clean_choice, clean_text

MIN_REASON = 10  # characters: a justification or override reason must say something


# --- risk tier ---------------------------------------------------------------------------------


def risk_tier(session: Session, model_id: int) -> str:
    """The model's current risk tier ('high', 'medium', 'low'), or '' while it is not assessed."""
    return risk.current_tier(session, model_id) or ""


def is_high_risk(tier: str) -> bool:
    return tier.strip().lower().startswith("high")


def approvals_needed(tier: str, *, failing_gates: bool = False) -> int:
    """Approvals a request needs: two for a high-risk model or when a gate fails, else one."""
    return 2 if is_high_risk(tier) or failing_gates else 1


# --- services ----------------------------------------------------------------------------------


EVIDENCE_FRESH_SECONDS = 600  # prepared evidence older than this is evaluated again


def _request_subject(
    session: Session, actor: Actor, version_id: int, target_stage: str, justification: str | None = None
) -> tuple[ModelVersion, Model, str]:
    """The version and model a request is about, once the actor may request it, the input is
    valid (``justification`` too, when given) and the version may be requested."""
    version = _get(session, ModelVersion, version_id, "model version")
    model = _get(session, Model, version.model_id, "model")
    require(session, actor, "promotion.request", business_unit=model.business_unit)
    target = clean_choice(target_stage, "target stage", TARGET_STAGES)
    if justification is not None:
        _reason(justification, "justification")
    label = f"version {version.version} of '{model.name}'"
    if model.status == "retired":
        raise Conflict(f"'{model.name}' is retired; its versions cannot be promoted.")
    if version.stage == target:
        raise Conflict(f"The {label} is already in {target}.")
    if version.stage == "production":
        raise Conflict(f"The {label} is in production; to replace it, request promotion of another version.")
    pending = session.exec(
        select(col(PromotionRequest.id)).where(
            col(PromotionRequest.model_version_id) == version_id, col(PromotionRequest.status) == "pending"
        )
    ).first()
    if pending is not None:
        raise Conflict(
            f"Request #{pending} for the {label} is still pending; it must be decided or cancelled first."
        )
    return version, model, target


def prepare_evidence(session: Session, *, actor: Actor, version_id: int, target_stage: str) -> dict[str, Any]:
    """Evaluate a future request's evidence gates in a read session, before the write.

    The gates (drift on recent inputs, the artifact's hash, metric comparisons) take seconds;
    evaluated inside the write transaction they would hold SQLite's single write lock that long
    and keep every other writer waiting. Pass the result to ``request_promotion(evidence=...)``,
    which uses it when the version and the production version are still those it describes.
    """
    import_gate_statistics()
    version, model, target = _request_subject(session, actor, version_id, target_stage)
    evidence = collect_evidence(session, model=model, version=version, target_stage=target)
    production = current_production(session, saved_id(model))
    evidence["basis"] = {
        "version_id": version.id,
        "version_row_version": version.row_version,
        "production_version_id": production.id if production is not None else None,
    }
    return evidence


def _still_current(
    evidence: dict[str, Any] | None, version: ModelVersion, target: str, production: ModelVersion | None
) -> bool:
    """Whether prepared ``evidence`` describes this version and production version, and is recent."""
    if not evidence or evidence.get("target_stage") != target:
        return False
    basis = evidence.get("basis") or {}
    try:
        age = (clock.now() - datetime.fromisoformat(evidence["frozen_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        return False
    return (
        basis.get("version_id") == version.id
        and basis.get("version_row_version") == version.row_version
        and basis.get("production_version_id") == (production.id if production is not None else None)
        and 0 <= age <= EVIDENCE_FRESH_SECONDS
    )


def request_promotion(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    target_stage: str,
    justification: str,
    at: datetime | None = None,
    evidence: dict[str, Any] | None = None,
) -> int:
    """Open a request to move a version to ``target_stage``; freezes its evidence. Returns the request id.

    ``at`` dates the request in the past (the demo, imports); the evidence is still evaluated now.
    ``evidence`` from ``prepare_evidence`` is frozen as it is when it still describes this version
    and the current production version; otherwise the gates are evaluated here.
    """
    import_gate_statistics()  # before the first query takes SQLite's write lock
    version, model, target = _request_subject(session, actor, version_id, target_stage, justification)
    justification = _reason(justification, "justification")
    when = _when(at)
    production = current_production(session, saved_id(model))
    if at is not None or not _still_current(evidence, version, target, production):
        evidence = collect_evidence(
            session,
            model=model,
            version=version,
            target_stage=target,
            frozen_at=when if at is not None else None,
        )
    assert evidence is not None
    evidence.pop("basis", None)
    tier = risk_tier(session, saved_id(model))
    request = PromotionRequest(
        model_id=saved_id(model),
        model_version_id=version_id,
        from_stage=version.stage,
        target_stage=target,
        justification=justification,
        requested_by_id=actor.id,
        requested_at=when,
        required_approvals=approvals_needed(tier, failing_gates=evidence["status"] == "fail"),
        risk_tier=tier,
        evidence=evidence,
        evidence_status=evidence["status"],
        version_row_version=version.row_version,
        production_version_id=production.id if production is not None else None,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PROMOTION_REQUESTED,
        object_id=request.id,
        model_id=model.id,
        after=_snapshot(request),
        reason=justification,
    )
    return saved_id(request)


def approve(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    comment: str = "",
    override_reason: str = "",
    expected_row_version: int | None = None,
    at: datetime | None = None,
) -> str:
    """Record an approval; the last one needed applies the stage change. Returns 'approved' or 'pending'.

    Raises PermissionDenied (role, four-eyes), InvalidInput (failing gates without an override
    reason) or Conflict (already decided, changed meanwhile, evidence stale).
    """
    request, model = _load(session, request_id)
    require(session, actor, "promotion.decide", business_unit=model.business_unit)
    _lock_model(session, model)
    _claim(session, request, expected_row_version)
    refusal = approval_refusal(session, actor.id, request)
    if refusal:
        raise PermissionDenied(refusal)
    comment = clean_text(comment, "comment")
    override_reason = _override_reason(request, override_reason)
    _ensure_evidence_current(session, request)
    approvals = _approval_count(session, saved_id(request))
    final = approvals + 1 >= max(
        request.required_approvals,
        approvals_needed(risk_tier(session, saved_id(model)), failing_gates=bool(_failing_gates(request))),
    )
    now = _when(at, after=request.requested_at)
    if final:
        request.status, request.decided_by_id, request.decided_at = "approved", actor.id, now
    if override_reason and not request.override_reason:
        request.override_reason, request.overridden_by_id = override_reason, actor.id
    session.add(request)
    session.add(
        PromotionDecision(
            request_id=saved_id(request),
            person_id=actor.id,
            decision="approve",
            comment=comment,
            override_reason=override_reason,
            decided_at=now,
        )
    )
    session.flush()
    if final:
        action = events.PROMOTION_APPROVED_WITH_OVERRIDE if override_reason else events.PROMOTION_APPROVED
    else:
        action = (
            events.PROMOTION_APPROVAL_RECORDED_WITH_OVERRIDE
            if override_reason
            else events.PROMOTION_APPROVAL_RECORDED
        )
    audit.record(
        session,
        actor=actor,
        action=action,
        object_id=request.id,
        model_id=model.id,
        before={"status": "pending", "approvals": approvals},
        after={
            "status": request.status,
            "approvals": approvals + 1,
            "comment": comment,
            "override_reason": override_reason,
            "failing_gates": _failing_gates(request),
        },
        reason=override_reason or comment,
    )
    if final:
        replaced = _production_version_id(session, saved_id(model))
        services.apply_stage_change(
            session,
            actor=actor,
            version_id=request.model_version_id,
            to_stage=request.target_stage,
            reason=f"promotion request #{request.id} approved",
            expected_row_version=request.version_row_version,
            at=now,
        )
        if request.target_stage == "production":
            _follow_promotion(session, actor, request, replaced, now)
    return request.status


def _production_version_id(session: Session, model_id: int) -> int | None:
    return session.exec(
        select(col(ModelVersion.id)).where(
            col(ModelVersion.model_id) == model_id, col(ModelVersion.stage) == "production"
        )
    ).first()


def _follow_promotion(
    session: Session, actor: Actor, request: PromotionRequest, replaced: int | None, now: datetime
) -> None:
    """Make the registry agree with the new production version, in the approval's transaction:
    the retraining requests it answers are done, the replaced version's running deployments are
    handed over (so the lineage graph draws the new version between its data and the business
    process), and health and alerts are judged again for the new version. Its global explanation
    is computed when its Explanations page is first opened (or by `steward explain`)."""
    retraining.close_answered(session, actor=actor, version_id=request.model_version_id, at=now)
    if replaced is not None and replaced != request.model_version_id:
        services.move_deployments(
            session,
            actor=actor,
            from_version_id=replaced,
            to_version_id=request.model_version_id,
            at=now,
            reason=f"promotion request #{request.id} approved",
        )
    alerts.follow_promotion(session, actor=actor, model_id=request.model_id, as_of=now)


def reject(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    comment: str,
    expected_row_version: int | None = None,
    at: datetime | None = None,
) -> None:
    """Reject a pending request with a comment saying why. The requester cancels instead."""
    request, model = _load(session, request_id)
    require(session, actor, "promotion.decide", business_unit=model.business_unit)
    _lock_model(session, model)
    _claim(session, request, expected_row_version)
    if request.requested_by_id == actor.id:
        raise PermissionDenied(f"You requested #{request.id} yourself: cancel it instead of rejecting it.")
    _close(
        session,
        actor,
        request,
        "rejected",
        "reject",
        events.PROMOTION_REJECTED,
        _reason(comment, "rejection comment"),
        at,
    )


def cancel(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    comment: str = "",
    expected_row_version: int | None = None,
    at: datetime | None = None,
) -> None:
    """The requester withdraws a pending request."""
    request, model = _load(session, request_id)
    require(session, actor, "promotion.request", business_unit=model.business_unit)
    _lock_model(session, model)
    _claim(session, request, expected_row_version)
    if request.requested_by_id != actor.id:
        requester = session.get(Person, request.requested_by_id)
        raise PermissionDenied(
            f"Only the requester, {requester.name if requester else '?'}, may cancel request #{request.id}."
        )
    _close(
        session,
        actor,
        request,
        "cancelled",
        "cancel",
        events.PROMOTION_CANCELLED,
        clean_text(comment, "comment"),
        at,
    )


def add_comment(
    session: Session, *, actor: Actor, request_id: int, body: str, at: datetime | None = None
) -> int:
    """Add a comment to a pending request (decided requests are closed to changes)."""
    request, model = _load(session, request_id)
    require(session, actor, "promotion.comment", business_unit=model.business_unit)
    body = clean_text(body, "comment")
    if not body:
        raise InvalidInput("comment must not be empty.")
    _lock_model(session, model)
    _claim(session, request, None, bump=False)
    row = PromotionComment(request_id=request_id, author_id=actor.id, body=body, created_at=at or clock.now())
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.PROMOTION_COMMENTED,
        object_id=request_id,
        model_id=model.id,
        after={"comment_id": row.id, "body": body},
    )
    return saved_id(row)


# --- the rules, shared by the services and by what the UI offers ------------------------------------


def approval_refusal(session: Session, person_id: int, request: PromotionRequest) -> str | None:
    """Why this person may not approve this request under four-eyes, or None when they may."""
    if request.requested_by_id == person_id:
        return f"You requested #{request.id}: under four-eyes someone else must approve it."
    version = session.get(ModelVersion, request.model_version_id)
    if version is not None and version.created_by_id == person_id:
        return (
            f"You created version {version.version}: under four-eyes someone else must approve its promotion."
        )
    already = session.exec(
        select(col(PromotionDecision.id)).where(
            col(PromotionDecision.request_id) == request.id,
            col(PromotionDecision.person_id) == person_id,
            col(PromotionDecision.decision) == "approve",
        )
    ).first()
    if already is not None:
        return f"You already approved #{request.id}; a second, different approver must add theirs."
    return None


@dataclass(frozen=True)
class Actions:
    """What a person may do on a request now; each entry is None (allowed) or the reason why not."""

    approve: str | None
    reject: str | None
    cancel: str | None
    comment: str | None
    needs_override: bool
    row_version: int


def allowed_actions(session: Session, person_id: int, request_id: int) -> Actions:
    """The same checks the services make, for the UI to decide what to show."""
    request, model = _load(session, request_id)
    person = session.get(Person, person_id)
    grants = grants_of(session, person_id)
    unit = model.business_unit

    def role_refusal(action: str, what: str) -> str | None:
        if person is None or not person.active:
            return "You are not an active person in the registry."
        if not allowed(grants, action, unit):
            return f"You do not hold the role to {what} in {unit}."
        return None

    if request.status != "pending":
        closed = f"Request #{request.id} is {request.status}; decided requests never change."
        return Actions(closed, closed, closed, closed, False, request.row_version)
    approve_refusal = role_refusal("promotion.decide", "approve") or approval_refusal(
        session, person_id, request
    )
    reject_refusal = role_refusal("promotion.decide", "reject") or (
        "You requested it: cancel instead." if request.requested_by_id == person_id else None
    )
    cancel_refusal = role_refusal("promotion.request", "cancel") or (
        None if request.requested_by_id == person_id else "Only the requester may cancel."
    )
    return Actions(
        approve=approve_refusal,
        reject=reject_refusal,
        cancel=cancel_refusal,
        comment=role_refusal("promotion.comment", "comment"),
        needs_override=bool(_failing_gates(request)),
        row_version=request.row_version,
    )


# --- reads ------------------------------------------------------------------------------------------

REQUEST_COLUMNS = [
    "id",
    "model_id",
    "model",
    "business_unit",
    "version",
    "target_stage",
    "status",
    "evidence_status",
    "approvals",
    "required_approvals",
    "risk_tier",
    "overridden",
    "requested_by",
    "requested_at",
    "decided_by",
    "decided_at",
    "justification",
]


def list_requests(
    session: Session,
    *,
    status: str | None = None,
    model_id: int | None = None,
    requested_by_id: int | None = None,
    business_unit: str | None = None,
    target_stage: str | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Requests, newest first, as a table (one row per request)."""
    query = (
        select(PromotionRequest, col(Model.name), col(Model.business_unit), col(ModelVersion.version))
        .join(
            Model,
            col(Model.id) == col(PromotionRequest.model_id),
        )
        .join(ModelVersion, col(ModelVersion.id) == col(PromotionRequest.model_version_id))
    )
    if status:
        query = query.where(col(PromotionRequest.status) == status)
    if model_id is not None:
        query = query.where(col(PromotionRequest.model_id) == model_id)
    if requested_by_id is not None:
        query = query.where(col(PromotionRequest.requested_by_id) == requested_by_id)
    if business_unit:
        query = query.where(col(Model.business_unit) == business_unit)
    if target_stage:
        query = query.where(col(PromotionRequest.target_stage) == target_stage)
    rows = session.exec(query.order_by(col(PromotionRequest.id).desc()).limit(limit)).all()
    names = _names(session)
    counts = _approval_counts(session, [r[0].id for r in rows])
    records = [
        {
            "id": req.id,
            "model_id": req.model_id,
            "model": name,
            "business_unit": unit,
            "version": number,
            "target_stage": req.target_stage,
            "status": req.status,
            "evidence_status": req.evidence_status,
            "approvals": counts.get(req.id or 0, 0),
            "required_approvals": req.required_approvals,
            "risk_tier": req.risk_tier or "not assessed",
            "overridden": bool(req.override_reason),
            "requested_by": names.get(req.requested_by_id, ""),
            "requested_at": req.requested_at,
            "decided_by": names.get(req.decided_by_id, "") if req.decided_by_id else "",
            "decided_at": req.decided_at,
            "justification": req.justification,
        }
        for req, name, unit, number in rows
    ]
    return pd.DataFrame.from_records(records, columns=REQUEST_COLUMNS)


def waiting_for(session: Session, person_id: int) -> pd.DataFrame:
    """Pending requests this person may approve now (role for the unit, four-eyes respected)."""
    pending = list_requests(session, status="pending")
    if pending.empty:
        return pending
    person = session.get(Person, person_id)
    if person is None or not person.active:
        return pending.iloc[0:0]
    grants = grants_of(session, person_id)
    keep = []
    for row in pending.itertuples():
        request = session.get(PromotionRequest, row.id)
        keep.append(
            request is not None
            and allowed(grants, "promotion.decide", row.business_unit)
            and approval_refusal(session, person_id, request) is None
        )
    return pending[keep].reset_index(drop=True)


@dataclass(frozen=True)
class DecisionView:
    person: str
    decision: str
    comment: str
    override_reason: str
    decided_at: Any


@dataclass(frozen=True)
class CommentView:
    author: str
    body: str
    created_at: Any


@dataclass(frozen=True)
class RequestView:
    """Everything the request page shows, detached from the session."""

    id: int
    model_id: int
    model: str
    business_unit: str
    version_id: int
    version: int
    version_created_by: str
    from_stage: str
    target_stage: str
    status: str
    justification: str
    requested_by: str
    requested_by_id: int
    requested_at: Any
    decided_by: str
    decided_at: Any
    required_approvals: int
    approvals: int
    risk_tier: str
    evidence: dict[str, Any]
    evidence_status: str
    override_reason: str
    overridden_by: str
    row_version: int
    decisions: list[DecisionView] = field(default_factory=list)
    comments: list[CommentView] = field(default_factory=list)

    @property
    def gates(self) -> list[dict[str, Any]]:
        return list(self.evidence.get("gates", []))

    @property
    def failing_gates(self) -> list[str]:
        return [g["title"] for g in self.gates if g["status"] == "fail"]


def request_view(session: Session, request_id: int) -> RequestView:
    request, model = _load(session, request_id)
    version = _get(session, ModelVersion, request.model_version_id, "model version")
    names = _names(session)
    decisions = session.exec(
        select(PromotionDecision)
        .where(col(PromotionDecision.request_id) == request_id)
        .order_by(col(PromotionDecision.id))
    ).all()
    comments = session.exec(
        select(PromotionComment)
        .where(col(PromotionComment.request_id) == request_id)
        .order_by(col(PromotionComment.id))
    ).all()
    return RequestView(
        id=saved_id(request),
        model_id=saved_id(model),
        model=model.name,
        business_unit=model.business_unit,
        version_id=version.id,
        version=version.version,
        version_created_by=names.get(version.created_by_id, ""),
        from_stage=request.from_stage,
        target_stage=request.target_stage,
        status=request.status,
        justification=request.justification,
        requested_by=names.get(request.requested_by_id, ""),
        requested_by_id=request.requested_by_id,
        requested_at=request.requested_at,
        decided_by=names.get(request.decided_by_id, "") if request.decided_by_id else "",
        decided_at=request.decided_at,
        required_approvals=request.required_approvals,
        approvals=sum(1 for d in decisions if d.decision == "approve"),
        risk_tier=request.risk_tier,
        evidence=dict(request.evidence),
        evidence_status=request.evidence_status,
        override_reason=request.override_reason,
        overridden_by=names.get(request.overridden_by_id, "") if request.overridden_by_id else "",
        row_version=request.row_version,
        decisions=[
            DecisionView(names.get(d.person_id, ""), d.decision, d.comment, d.override_reason, d.decided_at)
            for d in decisions
        ],
        comments=[CommentView(names.get(c.author_id, ""), c.body, c.created_at) for c in comments],
    )


def evidence_diff(evidence: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Candidate vs production, side by side: metrics, params and data (from the frozen evidence)."""
    candidate = evidence.get("candidate") or {}
    production = evidence.get("production") or {}
    cand_label = f"candidate v{candidate.get('version', '?')}"
    prod_label = f"production v{production['version']}" if production else "production (none)"

    def side_by_side(key: str) -> pd.DataFrame:
        left, right = candidate.get(key) or {}, production.get(key) or {}
        rows = [
            {
                "name": k,
                cand_label: left.get(k),
                prod_label: right.get(k),
                "changed": (left.get(k) != right.get(k)) if production else None,
            }
            for k in sorted(set(left) | set(right))
        ]
        return pd.DataFrame(rows, columns=["name", cand_label, prod_label, "changed"])

    def data_rows() -> pd.DataFrame:
        def row(name: str, left: Any, right: Any, changed: bool | None = None) -> dict[str, Any]:
            if production and changed is None:
                changed = left != right
            return {
                "name": name,
                cand_label: left,
                prod_label: right if production else None,
                "changed": changed,
            }

        rows = [
            row(title, _ds_text(candidate.get(key)), _ds_text(production.get(key)))
            for key, title in (
                ("training_dataset", "training data"),
                ("evaluation_dataset", "evaluation data"),
            )
        ]
        if "card_revision" in candidate:  # evidence frozen before card revisions existed has none
            rows.append(
                row(
                    "model card",
                    f"revision {candidate['card_revision']}",
                    f"revision {production.get('card_revision', '?')}",
                    False,
                )
            )
        cand_features = set(candidate.get("feature_names") or [])
        prod_features = set(production.get("feature_names") or [])
        rows.append(row("features", f"{len(cand_features)} features", f"{len(prod_features)} features"))
        if production:
            added, removed = sorted(cand_features - prod_features), sorted(prod_features - cand_features)
            rows.append(row("features added", ", ".join(added) or "none", "", bool(added)))
            rows.append(row("features removed", ", ".join(removed) or "none", "", bool(removed)))
        return pd.DataFrame(rows, columns=["name", cand_label, prod_label, "changed"])

    return {"metrics": side_by_side("metrics"), "params": side_by_side("params"), "data": data_rows()}


# --- internals ---------------------------------------------------------------------------------------


def _close(
    session: Session,
    actor: Actor,
    request: PromotionRequest,
    status: str,
    decision: str,
    event: EventKind,
    comment: str,
    at: datetime | None,
) -> None:
    """Finish a claimed request as rejected or cancelled, with its decision row and event."""
    now = _when(at, after=request.requested_at)
    request.status, request.decided_by_id, request.decided_at = status, actor.id, now
    session.add(request)
    session.add(
        PromotionDecision(
            request_id=saved_id(request),
            person_id=actor.id,
            decision=decision,
            comment=comment,
            decided_at=now,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=event,
        object_id=request.id,
        model_id=request.model_id,
        before={"status": "pending"},
        after={"status": status, "comment": comment},
        reason=comment,
    )


def _lock_model(session: Session, model: Model) -> None:
    """Serialise every decision that may change this model's production version.

    Two requests for different versions of one model are different rows, so the request claim
    alone does not order them: both would see "no version in production" and the second would
    archive what the first just promoted, on evidence frozen before it. On PostgreSQL this takes
    the model row's lock (SELECT ... FOR NO KEY UPDATE, which still lets other rows reference the
    model), so the second decider waits for the first to commit and then, with READ COMMITTED, reads the new production version when
    ``_ensure_evidence_current`` re-checks it. On SQLite, BEGIN IMMEDIATE already serialised the
    writers. Every decision (approve, reject, cancel, comment) takes it before the request claim,
    always in this order, so deciders cannot deadlock.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.exec(
        select(Model)
        .where(Model.id == model.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()


def _claim(
    session: Session, request: PromotionRequest, expected_row_version: int | None, *, bump: bool = True
) -> None:
    """Compare-and-set before anything else is checked or written:

        UPDATE promotion_request SET row_version = row_version + 1
        WHERE id = ? AND status = 'pending' AND row_version = ?

    Exactly one row, or Conflict. It is the first write of the transaction, so of two deciders
    the second waits here (PostgreSQL row lock; on SQLite, BEGIN IMMEDIATE already
    serialised them) and then finds the request decided. The checks that follow run on the
    claimed row; any refusal rolls the claim back with everything else. ``bump=False`` (a
    comment) takes the same guard without invalidating what other deciders have on screen.
    """
    _ensure_pending(session, request)
    expected = request.row_version if expected_row_version is None else expected_row_version
    result = session.execute(
        update(PromotionRequest)
        .where(
            col(PromotionRequest.id) == request.id,
            col(PromotionRequest.status) == "pending",
            col(PromotionRequest.row_version) == expected,
        )
        .values(row_version=col(PromotionRequest.row_version) + (1 if bump else 0))
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if changed_rows(result) != 1:
        _ensure_pending(session, request)
        raise Conflict(
            f"Request #{request.id} changed while you were deciding (another approval was recorded); "
            "reload it and decide again."
        )


def _ensure_pending(session: Session, request: PromotionRequest) -> None:
    if request.status == "pending":
        return
    who = session.get(Person, request.decided_by_id) if request.decided_by_id else None
    when = request.decided_at.strftime("%Y-%m-%d %H:%M:%S UTC") if request.decided_at else "an unknown time"
    raise Conflict(
        f"Request #{request.id} was already decided by {who.name if who else 'someone'} at {when} ({request.status}); "
        "decided requests never change."
    )


def _ensure_evidence_current(session: Session, request: PromotionRequest) -> None:
    """Refuse to apply a decision to evidence that no longer describes the registry."""
    version = _get(session, ModelVersion, request.model_version_id, "model version")
    if version.row_version != request.version_row_version:
        raise Conflict(
            f"Version {version.version} changed after request #{request.id} froze its evidence (now stage "
            f"'{version.stage}', model card or stage edited). The requester should cancel and request again."
        )
    production = current_production(session, request.model_id)
    production_id = production.id if production is not None else None
    if production_id != request.production_version_id:
        now = f"version {production.version}" if production is not None else "no version"
        raise Conflict(
            f"Production changed after request #{request.id} froze its evidence (now {now}); its comparison "
            "with production is stale. The requester should cancel and request again."
        )


def _when(at: datetime | None, *, after: datetime | None = None) -> datetime:
    """When a request or decision happened: now, or a past instant given for the demo and imports."""
    if at is None:
        return clock.now()
    if at.tzinfo is None:
        raise InvalidInput("a request or decision time needs a time zone (UTC).")
    if at > clock.now():
        raise InvalidInput(f"a request or decision cannot be dated in the future ({at.isoformat()}).")
    if after is not None and at < after:
        raise InvalidInput(f"a decision cannot be dated before its request ({after.isoformat()}).")
    return at


def _override_reason(request: PromotionRequest, reason: str) -> str:
    failing = _failing_gates(request)
    reason = clean_text(reason, "override reason")
    if failing and not reason:
        raise InvalidInput(
            f"Gate(s) failing on request #{request.id}: {', '.join(failing)}. Approving needs an override "
            "with a written reason."
        )
    if reason and not failing:
        raise InvalidInput(f"No gate fails on request #{request.id}: approve without an override reason.")
    if reason and len(reason) < MIN_REASON:
        raise InvalidInput(f"override reason must explain why (at least {MIN_REASON} characters).")
    return reason


def _failing_gates(request: PromotionRequest) -> list[str]:
    return [g["title"] for g in (request.evidence or {}).get("gates", []) if g.get("status") == "fail"]


def _reason(value: str, what: str) -> str:
    text = clean_text(value, what)
    if len(text) < MIN_REASON:
        raise InvalidInput(f"{what} must say why (at least {MIN_REASON} characters).")
    return text


def _approval_count(session: Session, request_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(PromotionDecision)
            .where(
                col(PromotionDecision.request_id) == request_id, col(PromotionDecision.decision) == "approve"
            )
        ).one()
    )


def _approval_counts(session: Session, request_ids: list[Any]) -> dict[int, int]:
    if not request_ids:
        return {}
    rows = session.exec(
        select(col(PromotionDecision.request_id), func.count())
        .where(
            col(PromotionDecision.request_id).in_(request_ids),
            col(PromotionDecision.decision) == "approve",
        )
        .group_by(col(PromotionDecision.request_id))
    ).all()
    return {rid: int(n) for rid, n in rows}


def _snapshot(request: PromotionRequest) -> dict[str, Any]:
    return request.model_dump()


def _names(session: Session) -> dict[int | None, str]:
    return {pid: name for pid, name in session.exec(select(col(Person.id), col(Person.name))).all()}


def _load(session: Session, request_id: int) -> tuple[PromotionRequest, Model]:
    request = _get(session, PromotionRequest, request_id, "promotion request")
    return request, _get(session, Model, request.model_id, "model")


def _get(session: Session, table: Any, row_id: Any, what: str) -> Any:
    row = session.get(table, row_id) if row_id is not None else None
    if row is None:
        raise NotFound(f"No {what} with id {row_id}.")
    return row


def _ds_text(info: dict[str, Any] | None) -> str:
    if not info:
        return "not registered"
    span = f", {info['date_from']}..{info['date_to']}" if info.get("date_from") else ""
    return f"{info['name']} {info['version']} ({info['rows']:,} rows{span})"
