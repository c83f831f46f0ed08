"""The Documentation page through AppTest: completeness per template, missing items linked to
where they are filled in, and the documentation pack downloads."""

from __future__ import annotations

from core.db.engine import make_engine, write_session
from core.governance import risk

LOW = [{"category": c, "likelihood": 2, "impact": 2} for c in risk.RISK_LABELS]


def _open(app, url, model_id):
    at = app(url)
    at.query_params["as"] = "viewer@example.com"
    at.query_params["model"] = str(model_id)
    at.run()
    return at.switch_page("../pages/documentation.py").run()


def test_documentation_page_scores_templates_and_links_missing_items(app, portfolio_registry):
    url, p = portfolio_registry
    engine = make_engine(url)
    with write_session(engine) as s:
        risk.assess_model(
            s,
            actor=p.world.approver,
            model_id=p.credit,
            materiality="high",
            ai_act_class="high",
            annex_iii_area="5(b)",
            rationale="Consumer credit decisions",
            scores=LOW,
        )
    engine.dispose()
    at = _open(app, url, p.credit)
    assert not at.exception
    overview = next(d.value for d in at.dataframe if "annex_iv" in d.value.columns)
    assert set(overview["model"]) >= {"Credit scoring"} and overview["missing"].min() >= 0
    scored = overview.set_index("model_id")
    assert 0 < scored.loc[p.credit, "annex_iv"] <= 100  # high-risk: Annex IV applies (whole percentages)
    assert scored.loc[p.credit, "card_sections"].endswith(" of 8 sections filled")  # as on the Model page
    assert scored.drop(index=p.credit)["annex_iv"].isna().all()  # not assessed high-risk: n/a
    assert [m.label for m in at.metric] == ["Completeness"] * 3
    texts = " ".join(m.value for m in at.markdown)
    assert (
        "**Human oversight measures (Art. 14)** — how people oversee" in texts
    )  # missing: the item in bold, its text escaped (nothing in it needed escaping)
    assert f"Fill in: [Risk page, Assess a model](/risk?model={p.credit})" in texts
    assert [b.label for b in at.get("download_button")] == ["Pack (HTML)", "Pack (PDF)"]
