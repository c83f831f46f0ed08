"""Ad-hoc drift checks: a CSV or Parquet batch compared with a model version's reference.

The file is read with the registry's reader (size limit, empty file, binary data named .csv,
malformed CSV), then checked against the reference's columns: every refusal names the
column and the row, and nothing is written. A batch that passes is compared with the fast
engine, optionally reported on by Evidently, and stored as an ``adhoc`` run keyed by the
file's sha256 (checking the same file again returns the stored run).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from core.access import Actor, require
from core.config import get_settings
from core.db.engine import read_session, write_session
from core.errors import InvalidInput
from core.monitoring.drift import sources
from core.monitoring.drift.engine import compare
from core.monitoring.drift.profile import ReferenceProfile, finite_values
from core.monitoring.drift.report import (
    SampledReport,
    attach_report,
    evidently_on_sample,
    report_file,
    report_relative_path,
)
from core.monitoring.drift.runs import (
    PERMISSION,
    RunSummary,
    existing_run,
    model_and_version,
    store_run,
    summarise,
    training_profile,
)
from core.monitoring.drift.window import WindowAccumulator
from core.registry.files import read_table_bytes

ALLOWED_EXTRA = ("prediction", "score", "label", "target", "ts", "request_id")
ROWS_LISTED = 3


def validate_batch(frame: pd.DataFrame, profile: ReferenceProfile, *, name: str, what: str) -> None:
    """Raise InvalidInput unless ``frame`` has the reference's feature columns, of the right
    types, each with at least one value."""
    columns = [str(c) for c in frame.columns]
    features = [c for c, col in profile.columns.items() if col.role == "feature"]
    if not set(features) & set(columns):
        raise InvalidInput(
            f"'{name}' has none of the feature columns of {what} (expected {_names(features)}; "
            f"found {_names(columns)}): is it the right file for this model?"
        )
    missing = [c for c in features if c not in columns]
    if missing:
        raise InvalidInput(f"'{name}' lacks the feature column(s) {_names(missing)} of {what}.")
    extra = [c for c in columns if c not in profile.columns and c not in ALLOWED_EXTRA]
    if extra:
        raise InvalidInput(
            f"'{name}' has column(s) {_names(extra)} that are not features of {what}; remove them "
            f"(allowed besides the features: {', '.join(ALLOWED_EXTRA)})."
        )
    for column in features:
        _check_column(frame[column], profile.columns[column].kind, column, name)


def _check_column(series: pd.Series, kind: str, column: str, name: str) -> None:
    if series.isna().all():
        raise InvalidInput(f"'{name}': column '{column}' is empty in all {len(series):,} rows.")
    if kind != "numeric" or pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return
    coerced = pd.to_numeric(series, errors="coerce")
    bad = coerced.isna() & series.notna() & (series.astype(str).str.strip() != "")
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        listed = ", ".join(str(r + 1) for r in rows[:ROWS_LISTED])
        more = f" and {len(rows) - ROWS_LISTED:,} more" if len(rows) > ROWS_LISTED else ""
        raise InvalidInput(
            f"'{name}': column '{column}' must hold numbers, but row {listed}{more} holds text "
            f"such as '{str(series[bad].iloc[0])[:40]}'."
        )


def _names(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(f"'{c}'" for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def check_upload(
    engine: Engine, *, actor: Actor, version_id: int, data: bytes, filename: str, with_report: bool = True
) -> RunSummary:
    """Compare an uploaded batch with the version's training data and store the result."""
    frame = read_table_bytes(data, name=filename, max_mb=get_settings().upload_max_mb)
    key = f"upload:{hashlib.sha256(data).hexdigest()}"
    with read_session(engine) as session:
        model, version = model_and_version(session, version_id)
        require(session, actor, PERMISSION, business_unit=model.business_unit)
        features = training_profile(session, version)
        validate_batch(frame, features.profile, name=filename, what=f"{model.name} v{version.version}")
        existing = existing_run(session, version_id, key)
        if existing is not None and features.id is not None and existing.profile_id == features.id:
            return summarise(session, existing, "unchanged")
        reference = sources.training_reference(session, version) if with_report else None
        model_name = model.name
    window = WindowAccumulator(features.profile)
    window.add(frame)

    def raw_values(column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Both sides' raw values of a column too close to the threshold to decide from bins."""
        with read_session(engine) as session:
            ref_frame = sources.training_reference(session, model_and_version(session, version_id)[1]).frame
        if column not in ref_frame or column not in frame:
            return None
        return finite_values(ref_frame[column])[0], finite_values(frame[column])[0]

    outcome = compare(window, raw_values)
    report: SampledReport | None = None
    relative = ""
    if reference is not None and outcome.n_computed:
        report = evidently_on_sample(reference.frame, reference.roles, frame)
        relative = report_relative_path(model_name, f"upload-{key[7:19]}")
        report.drift.save_html(report_file(relative))
    try:
        with write_session(engine) as session:
            summary = store_run(
                session,
                actor=actor,
                version_id=version_id,
                kind="adhoc",
                period_key=key,
                period=None,
                features=features,
                predictions=None,
                outcome=outcome,
                source_label=filename,
            )
            if report is not None:
                attach_report(session, actor=actor, run_id=summary.id, relative=relative, report=report)
    except BaseException:
        if relative:
            report_file(relative).unlink(missing_ok=True)
        raise
    return summary
