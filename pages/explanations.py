"""Explanations: why a model version decides what it decides, on its original features.

``?version=<id>`` (or ``?model=<id>``: its production version) makes the page shareable.
"""

from __future__ import annotations

import streamlit as st

from app import bootstrap, cache, identity
from app.components import empty, explain_view, links
from core.errors import StewardError
from core.explain.sentence import readable_name
from core.explain.summaries import (
    PAGE_BUDGET_SECONDS,
    drift_sentence,
    ensure_global_explanations,
    explanation_drift,
)

VERSION_KEY = "explanations.version"

st.title("Explanations")
versions = cache.explainable_versions()
if versions.empty:
    empty.empty_state(
        "No model artifacts to explain",
        "Register a version with its artifact "
        "(`steward register-version --artifact FILE`) or load the demo with `steward demo`.",
    )
    st.stop()

labels = {
    int(r.version_id): f"{r.model} v{r.version} ({r.stage}, {r.business_unit})" for r in versions.itertuples()
}
wanted = st.query_params.get("version") or st.query_params.get("model")
if wanted and wanted.isdigit() and VERSION_KEY not in st.session_state:
    by_model = versions[versions["model_id"] == int(wanted)]["version_id"]
    pick = int(wanted) if "version" in st.query_params else (int(by_model.iloc[0]) if len(by_model) else None)
    if pick in labels:
        st.session_state[VERSION_KEY] = pick
pick_col, share_col = st.columns([4, 1], vertical_alignment="bottom")
version_id = pick_col.selectbox("Model version", list(labels), format_func=labels.get, key=VERSION_KEY)
with share_col:
    links.share_popover("explanations", version=version_id)
st.query_params["version"] = str(version_id)
context = cache.version_context(version_id)
stored = cache.global_explanations(version_id)

st.subheader("Why did the model decide this?")
if caption := explain_view.target_caption(context.target, context.task):
    st.caption(caption)
recent = cache.recent_predictions(version_id)
items = cache.labelling_items(version_id)
LOGGED, ITEM = "A recent logged prediction", "An item of a labelling campaign"
sources = [name for name, frame in ((LOGGED, recent), (ITEM, items)) if not frame.empty]
wanted_item = st.query_params.get("item")
if (
    wanted_item
    and wanted_item.isdigit()
    and int(wanted_item) in set(items["item_id"])
    and "explanations.source" not in st.session_state
):
    st.session_state["explanations.source"], st.session_state["explanations.item"] = ITEM, int(wanted_item)
if not sources:
    st.caption("No predictions logged for this version yet, so there is no single decision to explain.")
else:
    source = (
        st.radio("Explain", sources, horizontal=True, key="explanations.source")
        if len(sources) > 1
        else sources[0]
    )
    actor = identity.current_actor()
    try:
        if source == LOGGED:
            choices = {int(r.id): explain_view.prediction_label(r, context.task) for r in recent.itertuples()}
            prediction_id = st.selectbox(
                "A recent logged prediction",
                list(choices),
                format_func=choices.get,
                key="explanations.prediction",
            )
            with st.spinner("Explaining this prediction…"):
                local = cache.local_explanation(version_id, prediction_id, context.artifact_sha256, actor)
        else:
            choices = {int(r.item_id): explain_view.item_label(r, context.task) for r in items.itertuples()}
            item_id = st.selectbox(
                "A labelling item", list(choices), format_func=choices.get, key="explanations.item"
            )
            with st.spinner("Explaining this prediction…"):
                local = cache.item_explanation(version_id, item_id, context.artifact_sha256, actor)
    except StewardError as exc:
        st.error(f"This model cannot be explained: {exc}", icon=":material/gpp_bad:")
        st.stop()
    st.info(local.sentence, icon=":material/lightbulb:")
    if local.source or local.label is not None:
        st.caption(
            " · ".join(
                part
                for part in (
                    local.source[:1].upper() + local.source[1:],
                    explain_view.outcome_text(local.label, context.task),
                )
                if part
            )
        )
    st.caption(
        ("Additivity " + local.check) + f" · {local.method} · explained in {local.seconds * 1000:.0f} ms"
    )
    left, right = st.columns([5, 4])
    with left:
        explain_view.waterfall_chart(local, key="explanations.waterfall")
    with right:
        explain_view.contributions_table(local, key="explanations.contributions")

st.subheader("What drives the model overall")
validation = stored.get("validation")
if validation is None:
    st.caption(
        "Not computed yet for this version. Global explanations are computed once per version and stored: "
        f'`steward explain --model "{context.model_name}" --version {context.version}`.'
    )
    estimate = None  # only people who may compute it are told how long it would take
    if identity.can("explanation.compute", context.business_unit):
        try:
            estimate = cache.summary_estimate(version_id, context.artifact_sha256, identity.current_actor())
        except StewardError as exc:
            st.error(f"The global explanation cannot be computed: {exc}")
    if estimate is None:
        pass
    elif estimate > PAGE_BUDGET_SECONDS:
        st.caption(
            (
                "This model is explained with a model-agnostic explainer, one row at a time"
                if estimate == float("inf")
                else f"Computing it would take about {estimate:,.0f} s"
            )
            + ", so it is not computed while you wait: run the command above (from cron or the pipeline "
            "that registers the version)."
        )
    elif st.button(
        "Compute and store now",
        key="explanations.compute",
        help=f"Takes about {max(estimate, 0.1):.1f} s for this model.",
    ):
        with st.spinner("Computing the global explanation…"):
            try:
                ensure_global_explanations(
                    bootstrap.engine(), actor=identity.current_actor(), version_id=version_id
                )
            except StewardError as exc:
                st.error(str(exc))
                st.stop()
        cache.clear_after_write()
        st.rerun()
else:
    st.caption(
        f"{validation.method}; {validation.n_rows:,} rows of the validation sample; contributions in "
        f"{explain_view.unit(validation.space)}; computed {validation.computed_at:%Y-%m-%d %H:%M} UTC "
        f"in {validation.seconds:.1f} s; largest additivity error {validation.additivity_error:.1e}."
    )
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
    else:
        drift = explanation_drift(validation, production)
        st.markdown(drift_sentence(drift))
        st.caption(
            f"Validation sample vs the newest {production.n_rows:,} predictions between "
            f"{production.window_from:%Y-%m-%d} and {production.window_to:%Y-%m-%d}."
        )
        explain_view.drift_chart(drift, key="explanations.drift")
