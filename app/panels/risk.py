"""Risk assessments: the Model page's risk panel (tier, next review, re-assessment flags) and the
Risk page's "Assess a model" (the form that records an assessment through app.actions)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import risk_view
from app.components.choice import choose
from app.components.links import PAGES_DIR, persona_params
from app.components.text import plain
from core.governance import risk
from core.governance.risk import AI_ACT_LABELS, ANNEX_III_AREAS, RISK_LABELS, AssessmentView
from core.registry.reads import ModelChoice


def model_risk(model_id: int) -> None:
    """The Model page's risk panel: tier, next review, and every re-assessment flag with its reason."""
    history = cache.risk_history(model_id)
    flags = cache.risk_flags(model_ids=(model_id,))
    current = history[0] if history else None
    with st.container(border=True):
        left, right = st.columns([3, 2])
        with left:
            risk_view.tier_badge(current.tier if current else None)
            if current:
                st.caption(
                    f"EU AI Act: {plain(current.ai_act_label)}. Assessed {current.assessed_at:%Y-%m-%d} by "
                    f"{plain(current.assessed_by)}; next review due {current.next_review_due:%Y-%m-%d}."
                )
            else:
                st.caption("No risk assessment recorded yet.")
        with right:
            st.page_link(
                PAGES_DIR / "risk.py",
                label="Assess or re-assess on the Risk page",
                icon=":material/shield:",
                query_params={"model": str(model_id), **persona_params()},
            )
        for f in flags:
            st.warning(
                f"**Re-assess — {f.category_label.lower()}:** {plain(f.reason)}", icon=":material/flag:"
            )


def assess(choices: dict[int, ModelChoice]) -> None:
    """Pick a model (``?model=ID`` opens it), see its current assessment, record a new one."""
    model_id = choose(
        "Model",
        list(choices),
        key="risk.assess.model",
        param="model",
        write_url=False,
        format_func=lambda i: f"{choices[i].name} ({choices[i].business_unit})",
    )
    history = cache.risk_history(model_id)
    name = choices[model_id].name
    if history:
        risk_view.assessment_summary(history[0])
    else:
        st.info(f"{plain(name)} has not been assessed yet.", icon=":material/info:")
    if identity.can("risk.assess", choices[model_id].business_unit):
        key = f"risk.assess.form.{model_id}"
        submitted = _form(history[0] if history else None, key=key)
        if submitted is not None:
            actions.submit(
                risk.assess_model,
                stale=(cache.RISK,),
                success=f"Assessment recorded for {name}.",
                model_id=model_id,
                **submitted,
            )
    else:
        st.caption("Recording an assessment needs the model owner or approver role for this business unit.")
    if len(history) > 1:
        with st.expander(f"Earlier assessments ({len(history) - 1})"):
            for view in history[1:]:
                st.markdown(
                    f"**Assessment {view.version}** — {view.assessed_at:%Y-%m-%d} by {plain(view.assessed_by)}, "
                    f"tier {view.tier}"
                )
                risk_view.assessment_summary(view)


def _form(current: AssessmentView | None, *, key: str) -> dict[str, Any] | None:
    """The four risks and the classification; returns assess_model's arguments when submitted."""
    with st.form(key):
        scores = []
        for category, label in RISK_LABELS.items():
            prior = current.score(category) if current else None
            st.markdown(f"**{label}**")
            c = st.columns([1, 1, 1, 1, 3])
            like = c[0].number_input(
                "Likelihood", 1, 5, prior.likelihood if prior else 2, key=f"{key}.{category}.l"
            )
            imp = c[1].number_input("Impact", 1, 5, prior.impact if prior else 2, key=f"{key}.{category}.i")
            r_like = c[2].number_input(
                "Residual likelihood",
                1,
                5,
                prior.residual_likelihood if prior else 2,
                key=f"{key}.{category}.rl",
            )
            r_imp = c[3].number_input(
                "Residual impact", 1, 5, prior.residual_impact if prior else 2, key=f"{key}.{category}.ri"
            )
            mitigations = c[4].text_input(
                "Mitigations", prior.mitigations if prior else "", key=f"{key}.{category}.m"
            )
            scores.append(
                {
                    "category": category,
                    "likelihood": like,
                    "impact": imp,
                    "residual_likelihood": r_like,
                    "residual_impact": r_imp,
                    "mitigations": mitigations,
                }
            )
        c = st.columns(3)
        levels = ["low", "medium", "high"]
        materiality = c[0].selectbox(
            "Materiality",
            levels,
            key=f"{key}.materiality",
            index=levels.index(current.materiality) if current else 0,
        )
        exposure = c[1].number_input(
            "Exposure per year (EUR, optional)",
            min_value=0.0,
            step=100000.0,
            value=current.exposure_amount if current else None,
            key=f"{key}.exposure",
        )
        classes = list(AI_ACT_LABELS)
        ai_act = c[2].selectbox(
            "EU AI Act class",
            classes,
            format_func=AI_ACT_LABELS.__getitem__,
            key=f"{key}.ai_act",
            index=classes.index(current.ai_act_class) if current else classes.index("minimal"),
        )
        areas = ["", *ANNEX_III_AREAS]
        annex = st.selectbox(
            "Annex III area (high-risk only)",
            areas,
            key=f"{key}.annex",
            format_func=lambda a: f"{a}: {ANNEX_III_AREAS[a]}" if a else "— none —",
            index=areas.index(current.annex_iii_area) if current else 0,
        )
        rationale = st.text_area(
            "Rationale",
            current.rationale if current else "",
            key=f"{key}.rationale",
            placeholder="Why these scores and this class",
        )
        oversight = st.text_area(
            "Human oversight (how people oversee, override and stop it)",
            current.human_oversight if current else "",
            key=f"{key}.oversight",
        )
        if not st.form_submit_button("Record assessment", type="primary", key=f"{key}.submit"):
            return None
    return {
        "scores": scores,
        "materiality": materiality,
        "exposure_amount": exposure,
        "ai_act_class": ai_act,
        "annex_iii_area": annex,
        "rationale": rationale,
        "human_oversight": oversight,
    }
