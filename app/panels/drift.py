"""The Drift page's actions: compute drift for a period, build a run's Evidently report, check an
uploaded batch. Each runs an engine-level core service through app.actions (the drift engine
reads predictions outside the write transaction) and opens the run it stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from app import actions, cache, identity
from app.components import drift_view
from app.components.status import stage_label
from app.components.text import plain
from core.errors import StewardError
from core.monitoring.drift.reads import first_run_with_results
from core.monitoring.drift.report import build_run_report
from core.monitoring.drift.runs import ModelDrift, run_model_drift
from core.monitoring.drift.sources import Period
from core.monitoring.drift.upload import check_upload

RUN_KEY = "drift.run"
PENDING_RUN = "drift.pending_run"  # set by an action, opened on the rerun
STALE = (cache.DRIFT, cache.ALERTS)
NEEDS_ROLE = "needs the role model owner, approver or admin"


def may_run(model: dict[str, Any]) -> bool:
    return identity.can("monitoring.run", model["business_unit"])


def run_picker(model_id: int, column: Any) -> int | None:
    """The stored runs of the model, newest first (the one an action just stored, when there is one)."""
    runs = cache.drift_runs(model_id)
    if PENDING_RUN in st.session_state:
        st.session_state[RUN_KEY] = st.session_state.pop(PENDING_RUN)
    labels = drift_view.run_labels(runs)
    if st.session_state.get(RUN_KEY) not in labels:
        st.session_state.pop(RUN_KEY, None)
    useful = first_run_with_results(runs)  # the newest period with results, not one still empty
    return column.selectbox(
        "Period",
        list(labels),
        index=list(labels).index(useful) if useful in labels else 0,
        key=RUN_KEY,
        format_func=labels.get,
        placeholder="No drift run yet",
        help="Stored drift runs of this model, newest first.",
    )


def compute(model_id: int, model: dict[str, Any]) -> None:
    """Compute drift for the days picked (last month by default) and open the new run."""
    with st.expander("Compute drift for another period", icon=":material/calculate:"):
        if not model["has_reference"]:
            st.info(
                f"{plain(model['name'])}'s production version has no training dataset registered, so there is "
                "no reference to compare with. Upload it on the Model page (Data and deployments, "
                "*Add a dataset file*) or register it with `steward register-dataset --file`."
            )
            return
        if not may_run(model):
            st.caption(f"Computing drift {NEEDS_ROLE}.")
            return
        today = cache.today()
        last_month_end = today.replace(day=1) - timedelta(days=1)
        span = st.date_input(
            "Days to compare (UTC, inclusive)",
            value=(last_month_end.replace(day=1), last_month_end),
            max_value=today - timedelta(days=1),
            key="drift.new.period",
        )
        if not st.button("Compute drift", key="drift.new.run", type="primary", icon=":material/play_arrow:"):
            return
        if not isinstance(span, tuple) or len(span) != 2:
            st.error("Pick the first and the last day of the period.")
            return
        done = actions.perform(
            run_model_drift,
            stale=STALE,
            on_engine=True,
            spinner="Reading the period's predictions and comparing them with the training data…",
            success=_computed,
            model_id=model_id,
            period=Period(span[0], span[1]),
        )
        if done.ok and done.result and done.result.runs:
            st.session_state[PENDING_RUN] = done.result.runs[0].id
            st.rerun()
        if done.ok and done.result:  # no version could be computed: say why, per version
            for failure in done.result.failures:
                st.error(plain(failure.message))
        elif not done.ok:
            actions.show_error(done)


def _computed(result: ModelDrift) -> str:
    """The flash message: each version's run, and each version that could not be computed."""
    parts = [f"v{r.version} {r.period_label}: {r.status_note} ({r.outcome})" for r in result.runs]
    parts += [f"v{f.version} not computed: {f.error}" for f in result.failures]
    return "Drift computed — " + "; ".join(parts)


def report(detail: Any, model: dict[str, Any]) -> None:
    """The run's Evidently report inline, or the button that builds it."""
    if detail.report_path:
        st.caption(drift_view.evidently_agreement(detail))
        try:
            html = cache.drift_report_html(detail.report_path)
        except StewardError as exc:
            st.warning(plain(str(exc)))
        else:
            drift_view.report_viewer(html, filename=detail.report_path.rsplit("/", 1)[-1], key="drift.report")
    elif detail.kind != "scheduled":
        st.caption("This uploaded batch was checked without an Evidently report.")
    elif not may_run(model):
        st.caption(f"No Evidently report for this run yet; building one {NEEDS_ROLE}.")
    else:
        st.caption(
            "Evidently's full interactive report on a sample of up to 20 000 rows per side (takes a few seconds to "
            "a minute). The figures above come from Steward's engine on all rows."
        )
        if st.button("Build the Evidently report", key="drift.report.build", icon=":material/description:"):
            actions.submit(
                build_run_report,
                stale=STALE,
                on_engine=True,
                spinner="Running Evidently's DataDriftPreset…",
                success="Evidently report built.",
                run_id=detail.id,
            )


def check_file(model_id: int, model: dict[str, Any]) -> None:
    """Compare an uploaded batch with a version's training data; the result is stored as a run."""
    st.caption(
        "Compare a batch of inputs (CSV or Parquet, one column per feature) with the training data of a version "
        f"of {plain(model['name'])}. The result is stored as an ad-hoc run; the file itself is not kept."
    )
    versions = cache.drift_versions(model_id)
    usable = versions[versions["has_reference"]]
    if usable.empty:
        st.info(f"No version of {plain(model['name'])} has a training dataset to compare with.")
        return
    if not may_run(model):
        st.caption(f"Checking a file {NEEDS_ROLE}.")
        return
    labels = {int(r.version_id): f"v{r.version} ({stage_label(r.stage)})" for r in usable.itertuples()}
    production = [i for i, stage in enumerate(usable["stage"]) if stage == "production"]
    version_id = st.selectbox(
        "Version",
        list(labels),
        key="drift.upload.version",
        index=production[0] if production else 0,
        format_func=labels.get,
    )
    upload = st.file_uploader("Batch file", type=["csv", "parquet"], key="drift.upload.file")
    with_report = st.checkbox(
        "Also build the Evidently report (slower)", value=False, key="drift.upload.report"
    )
    if not st.button(
        "Check the file", key="drift.upload.check", disabled=upload is None, icon=":material/upload_file:"
    ):
        return
    done = actions.perform(
        check_upload,
        stale=STALE,
        on_engine=True,
        spinner="Checking the file and comparing it with the training data…",
        success=lambda summary: f"Checked {upload.name}: {summary.status_note}",
        version_id=int(version_id),
        data=upload.getvalue(),
        filename=upload.name,
        with_report=with_report,
    )
    if done.ok:
        st.session_state[PENDING_RUN] = done.result.id
        st.rerun()
    actions.show_error(done, prefix="Nothing was stored. ")
