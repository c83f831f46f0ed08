"""Drift: have a model's inputs and outputs changed since training? Per period, over time, across
the portfolio, and for an uploaded file. The page reads stored runs only; computing a run is a
button (or `steward drift` from cron)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app import bootstrap, cache, identity
from app.components import drift_view, empty
from app.components.status import stage_label
from core.db.types import utcnow
from core.errors import StewardError
from core.monitoring.drift.report import build_run_report
from core.monitoring.drift.runs import run_drift
from core.monitoring.drift.sources import Period
from core.monitoring.drift.upload import check_upload

MODEL_KEY, RUN_KEY = "drift.model", "drift.run"
PENDING_RUN, FLASH = "drift.pending_run", "drift.flash"  # set by an action, applied on the rerun

st.title("Drift")
st.caption("Whether a model's production inputs and outputs still look like the data it was trained on.")
choices = cache.drift_model_choices()
if choices.empty:
    empty.empty_state(
        "No model to monitor yet",
        "Drift is checked for models with a production version. "
        "Load the demo with `steward demo`, or promote a version to production.",
    )
    st.stop()

models = dict(zip(choices["model_id"], choices.to_dict(orient="records"), strict=True))
param = st.query_params.get("model")
if param and param.isdigit() and int(param) in models and MODEL_KEY not in st.session_state:
    st.session_state[MODEL_KEY] = int(param)
if MODEL_KEY not in st.session_state:  # open on the model that most needs a look (the portfolio's order)
    st.session_state[MODEL_KEY] = next(
        (int(m) for m in cache.portfolio_drift()["model_id"] if int(m) in models), next(iter(models))
    )
pick, period_pick = st.columns([1, 1])
model_id = pick.selectbox(
    "Model",
    list(models),
    key=MODEL_KEY,
    format_func=lambda i: f"{models[i]['name']} ({models[i]['business_unit']})",
)
st.query_params["model"] = str(model_id)
model = models[model_id]
can_run = identity.can("monitoring.run", model["business_unit"])
actor = identity.current_actor()

if FLASH in st.session_state:
    kind, message = st.session_state.pop(FLASH)
    (st.success if kind == "ok" else st.error)(message)

runs = cache.drift_runs(model_id)
if PENDING_RUN in st.session_state:
    st.session_state[RUN_KEY] = st.session_state.pop(PENDING_RUN)
labels = {
    int(r.run_id): f"{r.label} · v{r.version} · {drift_view.status_text(r.status)}"
    + (f" ({drift_view.share_text(r.drift_share)})" if pd.notna(r.drift_share) else "")
    for r in runs.itertuples()
}
if st.session_state.get(RUN_KEY) not in labels:
    st.session_state.pop(RUN_KEY, None)
run_id = period_pick.selectbox(
    "Period",
    list(labels),
    key=RUN_KEY,
    format_func=labels.get,
    placeholder="No drift run yet",
    help="Stored drift runs of this model, newest first.",
)

with st.expander("Compute drift for another period", icon=":material/calculate:"):
    if not model["has_reference"]:
        st.info(
            f"{model['name']}'s production version has no training dataset registered, so there is no reference "
            "to compare with. Register the training sample as a dataset of the version."
        )
    elif not can_run:
        st.caption("Computing drift needs the role model owner, approver or admin.")
    else:
        today = utcnow().date()
        last_month_end = today.replace(day=1) - timedelta(days=1)
        span = st.date_input(
            "Days to compare (UTC, inclusive)",
            value=(last_month_end.replace(day=1), last_month_end),
            max_value=today - timedelta(days=1),
            key="drift.new.period",
        )
        if st.button("Compute drift", key="drift.new.run", type="primary", icon=":material/play_arrow:"):
            if not isinstance(span, tuple) or len(span) != 2:
                st.error("Pick the first and the last day of the period.")
            else:
                try:
                    with st.spinner(
                        "Reading the period's predictions and comparing them with the training data…"
                    ):
                        results = run_drift(
                            bootstrap.engine(),
                            actor=actor,
                            model_id=model_id,
                            period=Period(span[0], span[1]),
                        )
                except StewardError as exc:
                    st.error(str(exc))
                else:
                    cache.clear_after_write()
                    st.session_state[PENDING_RUN] = results[0].id
                    done = "; ".join(
                        f"v{r.version} {r.period_label}: {r.status_note} ({r.outcome})" for r in results
                    )
                    st.session_state[FLASH] = ("ok", f"Drift computed — {done}")
                    st.rerun()

if run_id is not None:
    detail = cache.drift_run_detail(run_id)
    drift_view.run_header(detail)
    drift_view.drifted_features(detail, key="drift.chart")

columns_tab, time_tab, report_tab, portfolio_tab, upload_tab = st.tabs(
    ["All columns", "Drift over time", "Evidently report", "All models", "Check a file"]
)
with columns_tab:
    if run_id is None:
        st.caption("No drift run for this model yet: compute one above.")
    else:
        drift_view.columns_table(detail, key="drift.columns")
        for name in detail.columns.loc[detail.columns["drifted"] == False, "column"]:  # noqa: E712
            with st.expander(f"{name}: reference vs current"):
                drift_view.distribution_chart(
                    name, detail.histograms.get(name, {}), key=f"drift.stable.{name}"
                )
with time_tab:
    drift_view.history_chart(
        cache.drift_history(model_id),
        key="drift.history",
        alert_share=cache.monitoring_thresholds(model_id).drift_share,
    )
with report_tab:
    if run_id is None:
        st.caption("Pick a drift run first.")
    elif detail.report_path:
        st.caption(drift_view.evidently_agreement(detail))
        try:
            html = cache.drift_report_html(detail.report_path)
        except StewardError as exc:
            st.warning(str(exc))
        else:
            drift_view.report_viewer(html, filename=detail.report_path.rsplit("/", 1)[-1], key="drift.report")
    elif detail.kind != "scheduled":
        st.caption("This uploaded batch was checked without an Evidently report.")
    elif not can_run:
        st.caption(
            "No Evidently report for this run yet; building one needs the role model owner, approver or admin."
        )
    else:
        st.caption(
            "Evidently's full interactive report on a sample of up to 20 000 rows per side (takes a few seconds to "
            "a minute). The figures above come from Steward's engine on all rows."
        )
        if st.button("Build the Evidently report", key="drift.report.build", icon=":material/description:"):
            try:
                with st.spinner("Running Evidently's DataDriftPreset…"):
                    build_run_report(bootstrap.engine(), actor=actor, run_id=run_id)
            except StewardError as exc:
                st.error(str(exc))
            else:
                cache.clear_after_write()
                st.session_state[FLASH] = ("ok", "Evidently report built.")
                st.rerun()
with portfolio_tab:
    drift_view.portfolio_table(cache.portfolio_drift(), key="drift.portfolio")
with upload_tab:
    st.caption(
        "Compare a batch of inputs (CSV or Parquet, one column per feature) with the training data of a version "
        f"of {model['name']}. The result is stored as an ad-hoc run; the file itself is not kept."
    )
    versions = cache.drift_versions(model_id)
    usable = versions[versions["has_reference"]]
    if usable.empty:
        st.info(f"No version of {model['name']} has a training dataset to compare with.")
    elif not can_run:
        st.caption("Checking a file needs the role model owner, approver or admin.")
    else:
        version_labels = {
            int(r.version_id): f"v{r.version} ({stage_label(r.stage)})" for r in usable.itertuples()
        }
        production = [i for i, stage in enumerate(usable["stage"]) if stage == "production"]
        version_id = st.selectbox(
            "Version",
            list(version_labels),
            key="drift.upload.version",
            index=production[0] if production else 0,
            format_func=version_labels.get,
        )
        upload = st.file_uploader("Batch file", type=["csv", "parquet"], key="drift.upload.file")
        with_report = st.checkbox(
            "Also build the Evidently report (slower)", value=False, key="drift.upload.report"
        )
        if st.button(
            "Check the file", key="drift.upload.check", disabled=upload is None, icon=":material/upload_file:"
        ):
            try:
                with st.spinner("Checking the file and comparing it with the training data…"):
                    summary = check_upload(
                        bootstrap.engine(),
                        actor=actor,
                        version_id=int(version_id),
                        data=upload.getvalue(),
                        filename=upload.name,
                        with_report=with_report,
                    )
            except StewardError as exc:
                st.error(f"Nothing was stored. {exc}")
            else:
                cache.clear_after_write()
                st.session_state[PENDING_RUN] = summary.id
                st.session_state[FLASH] = ("ok", f"Checked {upload.name}: {summary.status_note}")
                st.rerun()
