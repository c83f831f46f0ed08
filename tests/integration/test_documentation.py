"""Documentation completeness against SR 11-7, EU AI Act Annex IV and Model Cards; the pack."""

from __future__ import annotations

import io

import pypdf
import pytest

from core.db.engine import read_session, write_session
from core.errors import NotFound
from core.governance import documentation, risk, rules
from core.registry import services
from tests.factories import make_model, make_promotable_model, make_world

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


def scores_of(engine, model_id) -> dict[str, documentation.TemplateScore]:
    with read_session(engine) as s:
        return {t.template: t for t in documentation.completeness(s, model_id)}


def test_bare_model_lists_what_is_missing_and_where(engine):
    world = make_world(engine)
    model_id, _ = make_model(engine, world.owner)
    got = scores_of(engine, model_id)
    sr = got["sr11_7"]
    missing = {i.label: i for i in sr.missing}
    assert "Purpose" not in missing  # the factory records a purpose
    assert {
        "Methodology",
        "Independent validator",
        "Risk tier and materiality",
        "Findings and limitations",
    } <= set(missing)
    assert missing["Risk tier and materiality"].link == f"/risk?model={model_id}"
    assert missing["Independent validator"].where.startswith("Owners page")
    assert 0 < sr.score < 0.5
    assert not got["annex_iv"].applicable and got["annex_iv"].score is None
    assert "not assessed" in got["annex_iv"].why_not
    card = {i.label for i in got["model_card"].missing}
    assert {"Ethical considerations", "Caveats and recommendations", "Training data"} <= card
    assert "Metrics" not in card  # roc_auc is the primary metric and is on the version


def test_annex_iv_applies_to_high_risk_and_scores_its_items(engine):
    world = make_world(engine)
    model_id, (_, v2) = make_promotable_model(engine, world, name="Mortgage PD")
    with write_session(engine) as s:
        services.update_model(
            s,
            actor=world.owner,
            model_id=model_id,
            methodology="gradient boosted trees",
            target="default within 12 months",
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.approver.id, role="validator"
        )
        services.assign_owner(
            s, actor=world.owner, model_id=model_id, person_id=world.owner.id, role="technical_owner"
        )
        risk.assess_model(
            s,
            actor=world.approver,
            model_id=model_id,
            scores=LOW,
            materiality="high",
            ai_act_class="high",
            annex_iii_area="5(b)",
            rationale="Credit decisions on natural persons",
            human_oversight="Underwriters review every refusal and can override it.",
        )
    got = scores_of(engine, model_id)
    annex = got["annex_iv"]
    assert annex.applicable and len(annex.items) == 11
    done = {i.label for i in annex.items if i.done}
    assert {
        "Human oversight measures (Art. 14)",
        "Risk-management system",
        "General description and intended purpose",
        "Validation and test metrics",
    } <= done
    missing = {i.label for i in annex.missing}
    assert {
        "Accuracy per group (fairness measured)",
        "Automatic logs (Art. 12)",
        "Post-market monitoring plan",
    } <= missing
    sr_missing = {i.label for i in got["sr11_7"].missing}
    assert "Independent validator" not in sr_missing and "Risk tier and materiality" not in sr_missing
    with write_session(engine) as s:
        services.register_version(
            s, actor=world.owner, model_id=model_id, metrics={"roc_auc": 0.8, "fairness_gap": 0.03}
        )
    got = scores_of(engine, model_id)
    assert "Accuracy per group (fairness measured)" not in {i.label for i in got["annex_iv"].missing}
    with read_session(engine) as s:
        frame = documentation.portfolio_completeness(s)
    row = frame.set_index("model").loc["Mortgage PD"]
    assert 0 < row["annex_iv"] < 1 and row["missing"] > 0


def test_documentation_pack_html_and_pdf(engine, tmp_path):
    world = make_world(engine)
    model_id, _ = make_promotable_model(engine, world, name="Churn & retention")
    with write_session(engine) as s:
        risk.assess_model(
            s,
            actor=world.owner,
            model_id=model_id,
            scores=LOW,
            materiality="medium",
            ai_act_class="minimal",
            rationale="Offers only; <no> automated refusal",
        )
        rid = rules.propose_rule(
            s,
            actor=world.owner,
            model_id=model_id,
            name="Offer",
            operator=">=",
            threshold=0.6,
            outcome="send offer",
        )
    with write_session(engine) as s:
        rules.decide_rule(s, actor=world.approver, rule_id=rid, approve=True)
    with read_session(engine) as s:
        html_path = documentation.export_pack(s, model_id=model_id, out=tmp_path / "pack.html")
        pdf_path = documentation.export_pack(s, model_id=model_id, out=tmp_path / "pack.pdf")
        with pytest.raises(NotFound, match="No model with id 999"):
            documentation.documentation_pack(s, 999)
    page = html_path.read_text(encoding="utf-8")
    for section in (
        "Model card",
        "Risk assessment",
        "Validation metrics",
        "Monitoring summary",
        "Explanation summary",
        "Lineage",
        "Approval and change history",
        "Documentation completeness",
    ):
        assert f"<h2>{section}</h2>" in page
    assert "Churn &amp; retention" in page and "&lt;no&gt; automated refusal" in page
    assert "send offer if score &gt;= 0.6" in page and "rule.approved" in page
    text = " ".join(
        " ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    )
    assert "Documentation pack: Churn & retention" in text
    assert "Offers only; <no> automated refusal" in text and "Approval and change history" in text
