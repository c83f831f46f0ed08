"""The promotion workflow on a real registry: evidence, four-eyes, decisions, rollback, history, CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from core import audit
from core.access import Actor, actor_by_id
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import (
    AuditEvent,
    Deployment,
    ModelHealth,
    ModelVersion,
    PromotionDecision,
    PromotionRequest,
    StageChange,
)
from core.errors import Conflict, InvalidInput, PermissionDenied
from core.governance import history, promotions, risk
from core.lineage.graph import build_graph, filtered
from core.lineage.impact import trace_back
from core.registry import artifacts, reads, services
from tests.cli_auth import TokenRunner
from tests.factories import World, make_promotable_model, make_world


def _person(engine, world: World, key: str, roles: list[tuple[str, str]]) -> Actor:
    with write_session(engine) as s:
        pid = services.create_person(
            s, actor=world.system, name=key.title(), email=f"{key}@example.com", roles=roles
        )
        return actor_by_id(s, pid)


def _request(engine, actor: Actor, version_id: int, target: str = "production") -> int:
    with write_session(engine) as s:
        return promotions.request_promotion(
            s,
            actor=actor,
            version_id=version_id,
            target_stage=target,
            justification="Better validation results on the holdout.",
        )


def _approve(engine, actor: Actor, request_id: int, **kw) -> str:
    with write_session(engine) as s:
        return promotions.approve(s, actor=actor, request_id=request_id, **kw)


def _stages(engine, model_id: int) -> dict[int, str]:
    with read_session(engine) as s:
        return {
            v.version: v.stage for v in s.exec(select(ModelVersion).where(ModelVersion.model_id == model_id))
        }


def _events(engine, request_id: int) -> list[str]:
    with read_session(engine) as s:
        rows = s.exec(
            select(AuditEvent)
            .where(AuditEvent.object_type == "promotion_request", AuditEvent.object_id == str(request_id))
            .order_by(AuditEvent.id)
        )
        return [e.action for e in rows]


def _make_high_risk(engine, world: World, model_id: int) -> None:
    scores = [
        {"category": c, "likelihood": 4, "impact": 4, "residual_likelihood": 4, "residual_impact": 4}
        for c in ("unavailability", "wrong_predictions", "decay", "knowledge_loss")
    ]
    with write_session(engine) as s:
        risk.assess_model(
            s,
            actor=world.approver,
            model_id=model_id,
            scores=scores,
            materiality="high",
            ai_act_class="high",
            annex_iii_area="5(b)",
            rationale="Automated credit decisions.",
        )


def test_request_freezes_evidence_and_approval_promotes_in_one_transaction(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    first = _request(engine, world.owner, v1)
    assert _approve(engine, world.approver, first, comment="Looks right") == "approved"
    assert _stages(engine, model_id) == {1: "production", 2: "none"}

    second = _request(engine, world.owner, v2)
    with read_session(engine) as s:
        view = promotions.request_view(s, second)
    gates = {g["key"]: g for g in view.gates}
    assert gates["regression"]["status"] == "pass"
    assert gates["regression"]["figure"] == "roc_auc: v2 0.76 vs v1 0.75"
    assert gates["artifact"]["status"] == "pass"
    assert gates["risk"]["status"] == "pass" and gates["risk"]["figure"].startswith("tier low, assessed ")
    assert gates["drift"]["figure"] == "no monitoring data"
    assert view.evidence["production"]["version"] == 1

    assert _approve(engine, world.approver2, second) == "approved"
    assert _stages(engine, model_id) == {1: "archived", 2: "production"}
    with read_session(engine) as s:
        changes = s.exec(
            select(StageChange).where(StageChange.model_id == model_id).order_by(StageChange.id)
        ).all()
        assert [(c.from_stage, c.to_stage) for c in changes] == [
            ("none", "production"),
            ("production", "archived"),
            ("none", "production"),
        ]
        assert audit.verify(s).ok
    assert _events(engine, second) == ["promotion.requested", "promotion.approved"]


def test_evidence_stays_frozen_and_a_changed_version_cannot_be_approved(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    request_id = _request(engine, world.owner, v1)
    with write_session(engine) as s:
        services.update_model_card(s, actor=world.owner, version_id=v1, card_limitations="")
    with read_session(engine) as s:
        gates = {g["key"]: g["status"] for g in promotions.request_view(s, request_id).gates}
    assert gates["model_card"] == "pass"  # what the approver sees is what was true at request time
    with pytest.raises(Conflict, match="changed after request #1 froze its evidence"):
        _approve(engine, world.approver, request_id)


def test_requester_cannot_approve_even_as_approver(engine):
    world = make_world(engine)
    dual = _person(engine, world, "dual", [("model_owner", ""), ("approver", "")])
    _, (v1, _) = make_promotable_model(engine, world)
    request_id = _request(engine, dual, v1)
    with pytest.raises(PermissionDenied, match="You requested #1: under four-eyes someone else must approve"):
        _approve(engine, dual, request_id)
    assert _events(engine, request_id) == ["promotion.requested"]


def test_version_creator_cannot_approve(engine):
    world = make_world(engine)
    builder = _person(engine, world, "builder", [("model_owner", ""), ("approver", "")])
    _, (v1,) = make_promotable_model(engine, world, versions=1, creator=builder)
    request_id = _request(engine, world.owner, v1)
    with pytest.raises(PermissionDenied, match="You created version 1"):
        _approve(engine, builder, request_id)
    with read_session(engine) as s:
        assert promotions.allowed_actions(s, builder.id, request_id).approve.startswith(
            "You created version 1"
        )
        assert promotions.allowed_actions(s, world.approver.id, request_id).approve is None


def test_roles_and_business_unit_scope_are_enforced(engine):
    world = make_world(engine)
    retail_approver = _person(engine, world, "retail", [("approver", "Retail")])
    _, (v1,) = make_promotable_model(engine, world, versions=1)
    with pytest.raises(PermissionDenied, match="needs the role model_owner"):
        _request(engine, world.approver, v1)
    request_id = _request(engine, world.owner, v1)
    for who in (world.viewer, world.admin, world.labeller, retail_approver):
        with pytest.raises(
            PermissionDenied, match="business unit 'Credit risk': this needs the role approver"
        ):
            _approve(engine, who, request_id)
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.approver.id, active=False)
    with pytest.raises(PermissionDenied, match="no longer active"):
        _approve(engine, world.approver, request_id)
    assert _approve(engine, world.approver2, request_id) == "approved"


def test_high_risk_model_needs_two_distinct_approvers(engine):
    world = make_world(engine)
    third = _person(engine, world, "third", [("approver", "Credit risk")])
    model_id, (v1, _) = make_promotable_model(engine, world)
    _make_high_risk(engine, world, model_id)
    request_id = _request(engine, world.owner, v1)
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
    assert (view.risk_tier, view.required_approvals) == ("high", 2)
    assert _approve(engine, world.approver, request_id) == "pending"
    assert _stages(engine, model_id)[1] == "none"
    with pytest.raises(PermissionDenied, match="You already approved #1"):
        _approve(engine, world.approver, request_id)
    assert _approve(engine, third, request_id) == "approved"
    assert _stages(engine, model_id)[1] == "production"
    assert _events(engine, request_id) == [
        "promotion.requested",
        "promotion.approval_recorded",
        "promotion.approved",
    ]


def test_failing_gate_blocks_approval_until_overridden_with_a_reason(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world, aucs=(0.65, 0.8))
    request_id = _request(engine, world.owner, v1)
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
        assert view.failing_gates == ["Validation metrics meet thresholds"]
        assert promotions.allowed_actions(s, world.approver.id, request_id).needs_override
    with pytest.raises(InvalidInput, match="Validation metrics meet thresholds. Approving needs an override"):
        _approve(engine, world.approver, request_id)
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        _approve(engine, world.approver, request_id, override_reason="because")
    reason = "Interim model; the old rule engine is worse (AUC 0.58)."
    # A failing gate takes a second approver, who must write an override reason too.
    assert _approve(engine, world.approver, request_id, override_reason=reason) == "pending"
    assert _stages(engine, model_id)[1] != "production"
    with pytest.raises(InvalidInput, match="Approving needs an override"):
        _approve(engine, world.approver2, request_id)
    second = "Agreed: the rule engine stays worse until v2 is validated."
    assert _approve(engine, world.approver2, request_id, override_reason=second) == "approved"
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
        event = s.exec(
            select(AuditEvent).where(AuditEvent.action == "promotion.approved_with_override")
        ).one()
    assert (view.override_reason, view.overridden_by) == (reason, "Arthur Approver")
    assert (view.required_approvals, view.approvals) == (2, 2)
    assert [d.override_reason for d in view.decisions] == [reason, second]
    assert event.reason == second
    assert _stages(engine, model_id)[1] == "production"


def test_production_without_a_risk_assessment_fails_its_gate(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world, assessed=False)
    with read_session(engine) as s:
        prepared = promotions.prepare_evidence(s, actor=world.owner, version_id=v1, target_stage="production")
        staging = promotions.prepare_evidence(s, actor=world.owner, version_id=v2, target_stage="staging")
    risk_gate = {g["key"]: g for g in prepared["gates"]}["risk"]
    assert (risk_gate["status"], risk_gate["figure"]) == ("fail", "not assessed")
    assert "production needs a current one" in risk_gate["detail"]
    assert {g["key"]: g for g in staging["gates"]}["risk"]["status"] == "warn"  # staging: a warning only
    request_id = _request(engine, world.owner, v1)
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
    assert view.failing_gates == ["Risk assessment"]
    assert view.required_approvals == 2
    with pytest.raises(InvalidInput, match="Risk assessment. Approving needs an override"):
        _approve(engine, world.approver, request_id)


def test_override_reason_without_failing_gate_is_refused(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    request_id = _request(engine, world.owner, v1)
    with pytest.raises(InvalidInput, match="No gate fails on request #1"):
        _approve(engine, world.approver, request_id, override_reason="Approving regardless of the gates.")


def test_reject_and_cancel_close_the_request_for_good(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    rejected = _request(engine, world.owner, v1)
    with pytest.raises(InvalidInput, match="rejection comment must say why"):
        with write_session(engine) as s:
            promotions.reject(s, actor=world.approver, request_id=rejected, comment="no")
    with write_session(engine) as s:
        promotions.reject(s, actor=world.approver, request_id=rejected, comment="Evaluation data is too old.")
    with pytest.raises(Conflict, match=r"already decided by Arthur Approver at .* UTC \(rejected\)"):
        _approve(engine, world.approver2, rejected)
    cancelled = _request(engine, world.owner, v2)
    with pytest.raises(PermissionDenied, match="Only the requester, Olivia Owner, may cancel request #2"):
        with write_session(engine) as s:
            promotions.cancel(
                s, actor=_person(engine, world, "other", [("model_owner", "")]), request_id=cancelled
            )
    with write_session(engine) as s:
        promotions.cancel(s, actor=world.owner, request_id=cancelled, comment="Wrong version")
    with read_session(engine) as s:
        before = s.get(PromotionRequest, cancelled).model_dump()
    for attempt in (
        lambda s: promotions.approve(s, actor=world.approver, request_id=cancelled),
        lambda s: promotions.reject(
            s, actor=world.approver, request_id=cancelled, comment="Too late to reject."
        ),
        lambda s: promotions.cancel(s, actor=world.owner, request_id=cancelled),
        lambda s: promotions.add_comment(s, actor=world.owner, request_id=cancelled, body="One more thing"),
    ):
        with pytest.raises(Conflict, match="decided requests never change"):
            with write_session(engine) as s:
                attempt(s)
    with read_session(engine) as s:
        assert s.get(PromotionRequest, cancelled).model_dump() == before
        assert promotions.allowed_actions(s, world.approver.id, cancelled).approve.endswith("never change.")
    assert _stages(engine, model_id) == {1: "none", 2: "none"}


def test_one_pending_request_per_version_and_no_promotion_to_current_stage(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    _request(engine, world.owner, v1)
    with pytest.raises(Conflict, match="Request #1 for the version 1 of 'Churn' is still pending"):
        _request(engine, world.owner, v1)
    _approve(engine, world.approver, 1)
    with pytest.raises(Conflict, match="already in production"):
        _request(engine, world.owner, v1)
    with pytest.raises(InvalidInput, match="justification must say why"):
        with write_session(engine) as s:
            promotions.request_promotion(
                s, actor=world.owner, version_id=v1, target_stage="staging", justification=""
            )


def test_staging_promotion_leaves_production_alone(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    _approve(engine, world.approver, _request(engine, world.owner, v1))
    _approve(engine, world.approver, _request(engine, world.owner, v2, target="staging"))
    assert _stages(engine, model_id) == {1: "production", 2: "staging"}


def test_gates_fail_on_regression_missing_backup_and_tampered_artifact(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world, aucs=(0.8, 0.74))
    _approve(engine, world.approver, _request(engine, world.owner, v1))
    with write_session(engine) as s:
        services.set_person_active(s, actor=world.admin, person_id=world.viewer.id, active=False)
        version = s.get(ModelVersion, v2)
        artifacts.resolve(version.artifact_uri).write_bytes(b"tampered")
    request_id = _request(engine, world.owner, v2)
    with read_session(engine) as s:
        gates = {g["key"]: g for g in promotions.request_view(s, request_id).gates}
    assert gates["regression"]["status"] == "fail"
    assert gates["regression"]["figure"] == "roc_auc: v2 0.74 vs v1 0.8"
    assert gates["owners"]["status"] == "fail"
    assert "Every named backup has left" in gates["owners"]["detail"]
    assert gates["artifact"]["status"] == "fail"
    assert "changed after registration" in gates["artifact"]["detail"]


def test_regression_on_different_evaluation_data_is_not_comparable(engine):
    world = make_world(engine)
    model_id, (v1,) = make_promotable_model(engine, world, versions=1)
    _approve(engine, world.approver, _request(engine, world.owner, v1))
    with write_session(engine) as s:
        new_eval = services.create_dataset(
            s, actor=world.owner, name="Churn eval", version="2", row_count=500
        )
        v2 = services.register_version(
            s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.9}, evaluation_dataset_id=new_eval
        )
    request_id = _request(engine, world.owner, v2)
    with read_session(engine) as s:
        gate = {g["key"]: g for g in promotions.request_view(s, request_id).gates}["regression"]
    assert gate["status"] == "warn"
    assert (
        gate["detail"]
        == "Not comparable: the candidate was evaluated on Churn eval 2, production on Churn eval 1."
    )
    assert gate["figure"] == "roc_auc: v2 0.9 vs v1 0.75"


def test_risk_gate_uses_the_risk_assessment(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world)
    _make_high_risk(engine, world, model_id)
    request_id = _request(engine, world.owner, v1)
    with read_session(engine) as s:
        gate = {g["key"]: g for g in promotions.request_view(s, request_id).gates}["risk"]
    assert gate["figure"].startswith("tier high, assessed ")


def test_rollback_is_a_promotion_of_the_previous_version(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    _approve(engine, world.approver, _request(engine, world.owner, v1))
    _approve(engine, world.approver, _request(engine, world.owner, v2))
    with read_session(engine) as s:
        previous = history.previous_production_version(s, model_id)
    assert previous is not None and previous.version == 1
    rollback = _request(engine, world.owner, previous.version_id)
    with read_session(engine) as s:
        view = promotions.request_view(s, rollback)
    assert view.from_stage == "archived"
    regression = {g["key"]: g for g in view.gates}["regression"]
    assert regression["status"] == "warn"
    assert regression["detail"].startswith(
        "Rollback to a former production version, worse than the current one"
    )
    _approve(engine, world.approver2, rollback)
    assert _stages(engine, model_id) == {1: "production", 2: "archived"}
    with read_session(engine) as s:
        periods = history.production_periods(s, model_id)
    assert [(p.version, p.until is None) for p in periods] == [(1, False), (2, False), (1, True)]


def test_which_version_was_in_production_on_a_date(engine):
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=v1,
            to_stage="production",
            reason="go live",
            at=datetime(2025, 1, 10, 9, tzinfo=UTC),
        )
        services.apply_stage_change(
            s,
            actor=world.system,
            version_id=v2,
            to_stage="production",
            reason="v2",
            at=datetime(2025, 3, 1, 14, tzinfo=UTC),
        )
    with read_session(engine) as s:

        def on(day: date):
            ref = reads.production_version_on(s, model_id, history.as_instant(day))
            return ref.version if ref else None

        assert [on(date(2025, 1, 9)), on(date(2025, 1, 10)), on(date(2025, 2, 28)), on(date(2025, 3, 1))] == [
            None,
            1,
            1,
            2,
        ]
        periods = history.production_periods(s, model_id)
    assert [(p.version, p.since.date(), p.until.date() if p.until else None) for p in periods] == [
        (1, date(2025, 1, 10), date(2025, 3, 1)),
        (2, date(2025, 3, 1), None),
    ]


def test_lists_show_my_requests_and_what_waits_for_me(engine):
    world = make_world(engine)
    builder = _person(engine, world, "builder", [("model_owner", ""), ("approver", "")])
    _, (v1, v2) = make_promotable_model(engine, world, creator=builder)
    mine = _request(engine, world.owner, v1)
    _request(engine, builder, v2)
    with read_session(engine) as s:
        assert promotions.list_requests(s, requested_by_id=world.owner.id)["id"].tolist() == [mine]
        assert promotions.waiting_for(s, world.approver.id)["id"].tolist() == [2, 1]
        assert promotions.waiting_for(s, builder.id).empty  # requested one, created both
        assert promotions.waiting_for(s, world.viewer.id).empty


def test_comments_are_audited_and_shown(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    request_id = _request(engine, world.owner, v1)
    with write_session(engine) as s:
        promotions.add_comment(s, actor=world.approver, request_id=request_id, body="Which holdout period?")
    with pytest.raises(PermissionDenied, match="needs the role approver or model_owner"):
        with write_session(engine) as s:
            promotions.add_comment(s, actor=world.viewer, request_id=request_id, body="Nice")
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
    assert [(c.author, c.body) for c in view.comments] == [("Arthur Approver", "Which holdout period?")]
    assert _events(engine, request_id) == ["promotion.requested", "promotion.commented"]


def test_decision_rows_match_the_outcome(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    request_id = _request(engine, world.owner, v1)
    _approve(engine, world.approver, request_id, comment="Fine")
    with read_session(engine) as s:
        rows = s.exec(select(PromotionDecision).where(PromotionDecision.request_id == request_id)).all()
        request = s.get(PromotionRequest, request_id)
    assert [(r.person_id, r.decision, r.comment) for r in rows] == [(world.approver.id, "approve", "Fine")]
    assert (request.status, request.decided_by_id, request.row_version) == ("approved", world.approver.id, 2)


# --- CLI ----------------------------------------------------------------------------------------

runner = TokenRunner()


@pytest.fixture
def cli(monkeypatch, engine):
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    return engine


def test_cli_request_approve_history(cli):
    world = make_world(cli)
    model_id, _ = make_promotable_model(cli, world)
    result = runner.invoke(
        app,
        [
            "request-promotion",
            "-m",
            "Churn",
            "-v",
            "1",
            "-j",
            "First release of churn.",
            "--as",
            "owner@example.com",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Request #1 opened." in result.output
    assert "[pass] Artifact present, sha256 matches" in result.output
    result = runner.invoke(app, ["approve", "1", "--as", "owner@example.com"])
    assert result.exit_code == 1
    assert "Error: Olivia Owner may not promotion decide" in result.output
    result = runner.invoke(app, ["approve", "1", "--as", "approver@example.com", "-c", "ok"])
    assert result.exit_code == 0, result.output
    assert "version 1 of 'Churn' is now in production" in result.output
    result = runner.invoke(app, ["reject", "1", "--as", "approver2@example.com", "-c", "Too late for this."])
    assert result.exit_code == 1
    assert "already decided by Arthur Approver" in result.output
    today = datetime.now(UTC).date().isoformat()
    result = runner.invoke(app, ["history", "--model", "Churn", "--on", today, "--json"])
    assert result.exit_code == 0, result.output
    assert '"version": 1' in result.output
    result = runner.invoke(app, ["history", "--model", "Churn", "--on", "2000-01-01"])
    assert "no version of 'Churn' was in production" in result.output
    result = runner.invoke(app, ["history", "--model", "Churn"])
    assert "promotion request #1 approved" in result.output
    result = runner.invoke(app, ["requests", "--status", "approved", "--json"])
    assert '"decided_by": "Arthur Approver"' in result.output


def test_cli_people_and_roles(cli):
    world = make_world(cli)
    result = runner.invoke(
        app,
        [
            "add-person",
            "--name",
            "Nina New",
            "--email",
            "Nina@Example.com",
            "--role",
            "approver:Retail",
            "--as",
            world.admin.email,
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["grant-role", "--person", "nina@example.com", "--role", "viewer", "--as", world.owner.email]
    )
    assert result.exit_code == 1
    assert "may not role grant" in result.output
    result = runner.invoke(
        app,
        [
            "grant-role",
            "--person",
            "nina@example.com",
            "--role",
            "approver",
            "--unit",
            "Retail",
            "--revoke",
            "--as",
            world.admin.email,
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["mark-left", "--person", "nina@example.com", "--as", world.admin.email])
    assert result.exit_code == 0, result.output
    with read_session(cli) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.actor_id == world.admin.id))]
    assert actions == ["person.created", "role.granted", "role.revoked", "person.left"]


def test_back_dated_request_and_decision_for_the_demo(engine):
    world = make_world(engine)
    model_id, (v1, _) = make_promotable_model(engine, world)
    asked, decided = datetime(2025, 5, 2, 10, tzinfo=UTC), datetime(2025, 5, 3, 9, tzinfo=UTC)
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v1,
            target_stage="production",
            justification="Back-dated by the demo builder.",
            at=asked,
        )
    with pytest.raises(InvalidInput, match="cannot be dated before its request"):
        _approve(engine, world.approver, request_id, at=datetime(2025, 5, 1, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="cannot be dated in the future"):
        _approve(engine, world.approver, request_id, at=datetime(2999, 1, 1, tzinfo=UTC))
    _approve(engine, world.approver, request_id, at=decided)
    with read_session(engine) as s:
        view = promotions.request_view(s, request_id)
        ref = reads.production_version_on(s, model_id, history.as_instant(date(2025, 5, 3)))
    assert (view.requested_at, view.decided_at, view.evidence["frozen_at"]) == (
        asked,
        decided,
        asked.isoformat(),
    )
    assert ref is not None and ref.version == 1


def _prepared(engine, actor: Actor, version_id: int, target: str = "production") -> dict:
    with read_session(engine) as s:
        return promotions.prepare_evidence(s, actor=actor, version_id=version_id, target_stage=target)


def _frozen(engine, request_id: int) -> dict:
    with read_session(engine) as s:
        return s.get(PromotionRequest, request_id).evidence


def test_evidence_prepared_before_the_write_is_frozen_when_still_current(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    evidence = _prepared(engine, world.owner, v1)
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v1,
            target_stage="production",
            justification="Better validation results.",
            evidence=evidence,
        )
    frozen = _frozen(engine, request_id)
    assert frozen["frozen_at"] == evidence["frozen_at"]  # not evaluated a second time
    assert "basis" not in frozen and frozen["gates"] == evidence["gates"]


def test_prepared_evidence_is_evaluated_again_when_production_changed_meanwhile(engine):
    world = make_world(engine)
    _, (v1, v2) = make_promotable_model(engine, world)
    stale = _prepared(engine, world.owner, v2)  # prepared while nothing was in production
    assert _approve(engine, world.approver, _request(engine, world.owner, v1)) == "approved"
    with write_session(engine) as s:
        request_id = promotions.request_promotion(
            s,
            actor=world.owner,
            version_id=v2,
            target_stage="production",
            justification="Better validation results.",
            evidence=stale,
        )
    frozen = _frozen(engine, request_id)
    assert frozen["frozen_at"] != stale["frozen_at"]
    assert frozen["production"]["version"] == 1  # the new production version is the comparison


def test_prepared_evidence_for_another_target_or_too_old_is_not_used(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    staging = _prepared(engine, world.owner, v1, "staging")
    old = _prepared(engine, world.owner, v1)
    old["frozen_at"] = "2020-01-01T00:00:00+00:00"
    for evidence in (staging, old):
        with write_session(engine) as s:
            request_id = promotions.request_promotion(
                s,
                actor=world.owner,
                version_id=v1,
                target_stage="production",
                justification="Better validation results.",
                evidence=evidence,
            )
        frozen = _frozen(engine, request_id)
        assert frozen["frozen_at"] not in (staging["frozen_at"], old["frozen_at"])
        assert frozen["target_stage"] == "production"
        with write_session(engine) as s:
            promotions.cancel(s, actor=world.owner, request_id=request_id, comment="Testing again.")


def test_preparing_evidence_checks_the_role_and_writes_nothing(engine):
    world = make_world(engine)
    _, (v1, _) = make_promotable_model(engine, world)
    with read_session(engine) as s:
        before = len(list(s.exec(select(AuditEvent))))
    with pytest.raises(PermissionDenied):
        _prepared(engine, world.viewer, v1)
    _prepared(engine, world.owner, v1)
    with read_session(engine) as s:
        assert len(list(s.exec(select(AuditEvent)))) == before
        assert not list(s.exec(select(PromotionRequest)))


def test_an_approval_into_production_moves_deployments_lineage_and_health(engine) -> None:
    """Issue 13, point 5: after the approval the registry agrees with itself, in one transaction."""
    world = make_world(engine)
    model_id, (v1, v2) = make_promotable_model(engine, world)
    with write_session(engine) as s:
        process = services.create_business_process(
            s, actor=world.owner, name="Retention offers", business_unit="Credit risk"
        )
        services.apply_stage_change(s, actor=world.owner, version_id=v1, to_stage="production", reason="t")
        services.create_deployment(
            s,
            actor=world.owner,
            version_id=v1,
            environment="production",
            endpoint="https://churn.internal/score",
            business_process_id=process,
        )
        assert s.get(ModelHealth, model_id) is None
    _approve(engine, world.approver, _request(engine, world.owner, v2))
    with read_session(engine) as s:
        deployments = s.exec(select(Deployment).order_by(Deployment.id)).all()
        decided = s.exec(select(PromotionRequest)).one().decided_at
        graph = build_graph(s)
        health = s.get(ModelHealth, model_id)
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    old, new = deployments
    assert (old.model_version_id, old.until) == (v1, decided)
    assert (new.model_version_id, new.until, new.since) == (v2, None, decided)
    assert (new.environment, new.endpoint, new.business_process_id) == (
        "production",
        "https://churn.internal/score",
        process,
    )
    live = filtered(graph, live_only=True)
    traced = trace_back(live, f"business_process:{process}")
    assert sorted(k for k in traced.keys if k.startswith("model_version:")) == [f"model_version:{v2}"]
    assert health is not None and health.status in ("ok", "warning", "alert")
    assert actions[-3:] == ["deployment.ended", "deployment.created", "health.changed"]
