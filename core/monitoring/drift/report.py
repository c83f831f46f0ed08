"""Evidently HTML reports for stored drift runs.

Evidently computes in memory and builds many figures per column, so a report is made on a
deterministic sample (``REPORT_MAX_ROWS`` per side) and only on request (a button, or when
an uploaded batch is checked). The file goes under ``settings.report_dir``; its path relative
to that directory is stored on the run, with Evidently's own per-column decisions on the
sample, so the page can show how far they agree with the engine's on all rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlmodel import Session

from core import audit, clock, events
from core.access import Actor, require
from core.config import get_settings
from core.db.engine import read_session, write_session
from core.db.models import DriftRun
from core.db.types import saved_id
from core.errors import InvalidInput, NotFound
from core.monitoring.drift import sources
from core.monitoring.drift.engine import DriftOutcome, compare
from core.monitoring.drift.evidently_report import EvidentlyDrift, run_data_drift
from core.monitoring.drift.profile import build_profile, finite_values
from core.monitoring.drift.runs import PERMISSION, model_and_version
from core.monitoring.drift.window import WindowAccumulator

REPORT_MAX_ROWS = 20_000
SAMPLE_SEED = 20241


@dataclass
class SampledReport:
    drift: EvidentlyDrift
    outcome: DriftOutcome  # the engine's result on the same sample
    reference_rows: int
    current_rows: int

    def params(self) -> dict[str, Any]:
        agree = [
            c.column
            for c in self.outcome.columns
            if c.computed
            and c.column in self.drift.columns
            and self.drift.columns[c.column].drifted == c.drifted
        ]
        return {
            "evidently": {
                "reference_rows": self.reference_rows,
                "current_rows": self.current_rows,
                "drift_share": self.drift.drift_share,
                "columns": {
                    k: {"test": v.test, "score": v.score, "threshold": v.threshold, "drifted": v.drifted}
                    for k, v in self.drift.columns.items()
                },
                "agreeing_columns": len(agree),
            }
        }


def sample(frame: pd.DataFrame, max_rows: int) -> pd.DataFrame:
    """At most ``max_rows`` rows, the same ones every time."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=max_rows, random_state=SAMPLE_SEED).reset_index(drop=True)


def evidently_on_sample(
    reference: pd.DataFrame, roles: dict[str, str], current: pd.DataFrame, max_rows: int = REPORT_MAX_ROWS
) -> SampledReport:
    """Screen the sampled columns with the engine, then run Evidently on those that pass."""
    ref, cur = sample(reference, max_rows), sample(current, max_rows)
    window = WindowAccumulator(build_profile(ref, roles))
    window.add(cur)
    outcome = compare(window, lambda c: (finite_values(ref[c])[0], finite_values(cur[c])[0]))
    kinds = {c.column: c.kind for c in outcome.columns if c.computed}
    if not kinds:
        raise InvalidInput(
            "No column could be compared on the sampled rows, so there is nothing for an Evidently report."
        )
    return SampledReport(run_data_drift(ref, cur, kinds), outcome, len(ref), len(cur))


def report_relative_path(model_name: str, tag: str) -> str:
    """Where a new report goes, relative to the report directory: drift/<model>/<tag>-<time>.html."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in model_name)
    return f"drift/{safe}/{tag}-{clock.now().strftime('%Y%m%dT%H%M%S')}.html"


def report_file(relative: str) -> Path:
    """The stored report's file, refusing paths outside the report directory."""
    root = Path(get_settings().report_dir).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise InvalidInput(f"report path '{relative}' lies outside the report directory {root}.")
    return path


def read_report(relative: str) -> bytes:
    path = report_file(relative)
    if not path.is_file():
        raise NotFound(
            f"The report file '{relative}' is missing from {get_settings().report_dir}; build the report again."
        )
    return path.read_bytes()


def build_run_report(engine: Engine, *, actor: Actor, run_id: int, max_rows: int = REPORT_MAX_ROWS) -> str:
    """Build the Evidently report of a stored scheduled run; returns its path relative to the report directory."""
    with read_session(engine) as session:
        run = _run(session, run_id)
        model, version = model_and_version(session, run.model_version_id)
        require(session, actor, PERMISSION, business_unit=model.business_unit)
        if run.kind != "scheduled":
            raise InvalidInput(
                "The Evidently report of an uploaded batch is built when the batch is checked; "
                "upload the file again to rebuild it."
            )
        if run.current_rows == 0:
            raise InvalidInput(
                f"{model.name} made no predictions in {run.period_key}: there is nothing to report on."
            )
        reference = sources.training_reference(session, version)
        period = sources.Period.parse_key(run.period_key)
        stride = -(-run.current_rows // max_rows)
        chunks = list(sources.window_chunks(session, saved_id(version), period, stride=stride))
        model_name = model.name
    current = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    report = evidently_on_sample(reference.frame, reference.roles, current, max_rows)
    relative = report_relative_path(model_name, f"run-{run_id}")
    report.drift.save_html(report_file(relative))
    try:
        with write_session(engine) as session:
            attach_report(session, actor=actor, run_id=run_id, relative=relative, report=report)
    except BaseException:
        report_file(relative).unlink(missing_ok=True)
        raise
    return relative


def attach_report(
    session: Session, *, actor: Actor, run_id: int, relative: str, report: SampledReport
) -> None:
    """Record the report file on the run (and the audit event) in the caller's transaction."""
    run = _run(session, run_id)
    model, _ = model_and_version(session, run.model_version_id)
    require(session, actor, PERMISSION, business_unit=model.business_unit)
    before = {"report_path": run.report_path}
    run.report_path = relative
    run.report_rows = max(report.reference_rows, report.current_rows)
    run.params = {**(run.params or {}), **report.params()}
    session.add(run)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=events.DRIFT_REPORT_BUILT,
        object_id=run_id,
        model_id=model.id,
        before=before,
        after={
            "report_path": relative,
            "reference_rows": report.reference_rows,
            "current_rows": report.current_rows,
        },
    )


def _run(session: Session, run_id: int) -> DriftRun:
    run = session.get(DriftRun, run_id)
    if run is None:
        raise NotFound(f"No drift run with id {run_id}.")
    return run
