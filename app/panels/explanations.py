"""The Explanations page's two questions: why did the model decide this (one logged prediction or
labelling item, explained when asked and cached: opening the page loads no model), and what drives it overall (stored global
explanations, computed here through app.actions when that is quick enough)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import explain_view
from app.components.text import code, plain
from core.errors import StewardError
from core.explain.sentence import readable_name
from core.explain.summaries import (
    PAGE_BUDGET_SECONDS,
    drift_sentence,
    ensure_global_explanations,
    explanation_drift,
)
from core.registry.artifacts import unsafe_reason

LOGGED, ITEM = "A recent logged prediction", "An item of a labelling campaign"
TIMED = "explanations.timed"  # versions whose global explanation someone asked to time, this session
ASKED = "explanations.asked"  # once someone asked in this session, every prediction picked is explained


def one_decision(version_id: int, context: Any, class_name: str = "") -> None:
    """Pick a recent prediction or a labelling item (``?item=ID`` opens one) and explain it (a
    multiclass classifier's decision for ``class_name``)."""
    st.subheader("Why did the model decide this?")
    if caption := explain_view.target_caption(context.target, context.task):
        st.caption(caption)
    recent = cache.recent_predictions(version_id, limit=50)
    items = cache.labelling_items(version_id)
    sources = [name for name, frame in ((LOGGED, recent), (ITEM, items)) if not frame.empty]
    wanted = st.query_params.get("item")
    if (
        wanted
        and wanted.isdigit()
        and int(wanted) in set(items["item_id"])
        and "explanations.source" not in st.session_state
    ):
        st.session_state["explanations.source"], st.session_state["explanations.item"] = ITEM, int(wanted)
        st.session_state[ASKED] = True  # the link asks for this item's explanation
    if not sources:
        st.caption("No predictions logged for this version yet, so there is no single decision to explain.")
        return
    source = (
        st.radio("Explain", sources, horizontal=True, key="explanations.source")
        if len(sources) > 1
        else sources[0]
    )
    if source == LOGGED:
        choices = {
            int(r.id): explain_view.prediction_label(r, context.task, context.class_names)
            for r in recent.itertuples()
        }
        picked = st.selectbox(
            "A recent logged prediction",
            list(choices),
            format_func=choices.get,
            key="explanations.prediction",
        )
    else:
        choices = {
            int(r.item_id): explain_view.item_label(r, context.task, context.class_names)
            for r in items.itertuples()
        }
        picked = st.selectbox(
            "A labelling item", list(choices), format_func=choices.get, key="explanations.item"
        )
    if not _asked():
        return
    actor = identity.current_actor()
    try:
        # Loading the model and its explainer takes seconds the first time (then it is kept).
        with st.spinner("Loading the model and explaining this prediction…"):
            local = (
                cache.local_explanation(version_id, picked, context.artifact_sha256, class_name, actor=actor)
                if source == LOGGED
                else cache.item_explanation(
                    version_id, picked, context.artifact_sha256, class_name, actor=actor
                )
            )
    except StewardError as exc:
        st.error(plain(f"This model cannot be explained: {exc}"), icon=":material/gpp_bad:")
        st.stop()
    explain_view.local_explanation(local, context.task, context.class_names)


def _asked() -> bool:
    """Whether to explain the pick now: the page never loads a model unasked (it takes seconds)."""
    if st.session_state.get(ASKED):
        return True
    if st.button("Explain this decision", key="explanations.explain", icon=":material/lightbulb:"):
        st.session_state[ASKED] = True
        return True
    st.caption("Explaining a decision loads the model version first: a few seconds the first time.")
    return False


def overall(version_id: int, context: Any, class_name: str = "") -> None:
    """The stored global explanation of the version (or computing it), and explanation drift; for a
    multiclass classifier, the global importance for ``class_name``, computed when asked."""
    st.subheader("What drives the model overall")
    if context.class_names:
        _class_overall(version_id, context, class_name)
        return
    stored = cache.global_explanations(version_id)
    validation = stored.get("validation")
    if validation is None:
        _not_computed(version_id, context)
        return
    explain_view.global_caption(validation)
    left, right = st.columns(2)
    with left:
        explain_view.importance_chart(validation, key="explanations.importance")
    with right:
        explain_view.beeswarm_chart(validation, key="explanations.beeswarm")
    feature = st.selectbox(
        "Dependence on one feature",
        list(validation.importance),
        key="explanations.feature",
        format_func=readable_name,
    )
    explain_view.dependence_chart(validation, feature, key="explanations.dependence")

    st.subheader("Explanation drift")
    production = stored.get("production")
    if production is None:
        st.caption("No recent production window explained yet (it needs logged predictions).")
        return
    drift = explanation_drift(validation, production)
    st.markdown(plain(drift_sentence(drift)))
    st.caption(
        f"Validation sample vs the newest {production.n_rows:,} predictions between "
        f"{production.window_from:%Y-%m-%d} and {production.window_to:%Y-%m-%d}."
    )
    explain_view.drift_chart(drift, key="explanations.drift")


def _class_overall(version_id: int, context: Any, class_name: str) -> None:
    """Global importance for one class of a multiclass classifier over its validation sample: not
    stored (one summary per class), so computed on request and kept for an hour."""
    asked = f"explanations.class_overall.{version_id}.{class_name}"
    if not st.session_state.get(asked):
        st.caption(
            f"Global importance is computed per class, when asked: it loads the model and explains its "
            f"validation sample for class {plain(class_name)}."
        )
        if not st.button(
            f"Explain class {plain(class_name)} overall",
            key="explanations.class_overall",
            icon=":material/bar_chart:",
        ):
            return
        st.session_state[asked] = True
    try:
        with st.spinner(f"Explaining the validation sample for class {plain(class_name)}…"):
            summary = cache.class_summary(
                version_id, context.artifact_sha256, class_name, actor=identity.current_actor()
            )
    except StewardError as exc:
        st.error(plain(f"The global explanation cannot be computed: {exc}"))
        return
    explain_view.global_caption(summary)
    left, right = st.columns(2)
    with left:
        explain_view.importance_chart(summary, key="explanations.class_importance")
    with right:
        explain_view.beeswarm_chart(summary, key="explanations.class_beeswarm")


def _not_computed(version_id: int, context: Any) -> None:
    """How to compute the global explanation; when asked, how long it would take here, and a button
    when that is less than the page's budget (timing it loads the model: never on opening the page)."""
    refusal = unsafe_reason(context.artifact_uri, context.artifact_format) if context.artifact_uri else None
    if refusal is not None:  # said to everyone: nothing can be computed for this version
        st.error(plain(f"The global explanation cannot be computed: {refusal}"))
        return
    st.caption(
        "Not computed yet for this version. Global explanations are computed once per version and stored: "
        + code(f'steward explain --model "{context.model_name}" --version {context.version}')
        + "."
    )
    if not identity.can("explanation.compute", context.business_unit):
        return  # only people who may compute it are told how long it would take
    # A version in production is explained on its first view (next branch); others only load
    # the model when someone asks.
    if context.stage != "production" and version_id not in st.session_state.get(TIMED, set()):
        if not st.button(
            "Can it be computed here?",
            key="explanations.estimate",
            help="Loads the model and times its explainer on a few rows (a few seconds).",
        ):
            return
        st.session_state[TIMED] = st.session_state.get(TIMED, set()) | {version_id}
    try:
        with st.spinner("Loading the model and timing its explainer on a few rows…"):
            estimate = cache.summary_estimate(
                version_id, context.artifact_sha256, actor=identity.current_actor()
            )
    except StewardError as exc:
        st.error(plain(f"The global explanation cannot be computed: {exc}"))
        return
    if estimate > PAGE_BUDGET_SECONDS:
        st.caption(
            (
                "This model is explained with a model-agnostic explainer, one row at a time"
                if estimate == float("inf")
                else f"Computing it would take about {estimate:,.0f} s"
            )
            + ", so it is not computed while you wait: run the command above (from cron or the pipeline "
            "that registers the version)."
        )
    # A version just approved into production is explained on its first view (when it takes
    # less than the page's budget); other versions wait for the button.
    elif context.stage == "production" or st.button(
        "Compute and store now",
        key="explanations.compute",
        help=f"Takes about {max(estimate, 0.1):.1f} s for this model.",
    ):
        done = actions.perform(
            ensure_global_explanations,
            stale=(cache.EXPLANATIONS,),
            on_engine=True,
            spinner=f"Computing the global explanation of {context.model_name} v{context.version} "
            f"(about {max(estimate, 0.1):.0f} s)…",
            version_id=version_id,
        )
        if not done.ok:
            actions.show_error(done)
            st.stop()
        st.rerun()
