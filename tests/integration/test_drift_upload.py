"""Ad-hoc drift checks of uploaded batches: every bad file is refused with a message naming the
problem (column, row) and nothing is written; a good file is stored as an ad-hoc run."""

from __future__ import annotations

import io
import pickle
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from core.db.engine import read_session
from core.db.models import AuditEvent, DriftProfile, DriftRun
from core.errors import InvalidInput, PermissionDenied
from core.monitoring.drift import reads
from core.monitoring.drift.report import read_report
from core.monitoring.drift.upload import check_upload
from tests.drift_data import FEATURES, make_drift_model, production_batch
from tests.factories import make_world


@pytest.fixture
def setup(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    world = make_world(engine)
    return world, make_drift_model(engine, world.owner, tmp_path)


def _batch(n: int = 400, **shift: float) -> pd.DataFrame:
    return production_batch(n, date(2024, 5, 1), seed=5, **shift)[FEATURES]


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def _written(engine: Engine) -> tuple[int, int, int]:
    with read_session(engine) as s:
        return tuple(
            int(s.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[return-value]
            for t in (DriftRun, DriftProfile, AuditEvent)
        )


BAD_FILES = {
    "wrong schema": (
        "other.csv",
        lambda: _csv(pd.DataFrame({"sku": [1, 2], "price": [3.0, 4.0]})),
        "'other.csv' has none of the feature columns of Credit scoring v1",
    ),
    "missing columns": (
        "batch.csv",
        lambda: _csv(_batch().drop(columns=["age", "channel"])),
        "lacks the feature column(s) 'age', 'channel' of Credit scoring v1",
    ),
    "extra column": (
        "batch.csv",
        lambda: _csv(_batch().assign(customer_name="x")),
        "column(s) 'customer_name' that are not features of Credit scoring v1",
    ),
    "wrong type": (
        "batch.csv",
        lambda: _csv(_batch().assign(age=["41"] * 6 + ["forty"] + ["x"] * 393)),
        "column 'age' must hold numbers, but row 7, 8, 9 and 391 more holds text such as 'forty'",
    ),
    "empty file": ("batch.csv", lambda: b"", "'batch.csv' is empty"),
    "header only": ("batch.csv", lambda: b"income,age,region,channel\n", "has a header but no data rows"),
    "all-NaN column": (
        "batch.csv",
        lambda: _csv(_batch().assign(income=np.nan)),
        "column 'income' is empty in all 400 rows",
    ),
    "binary named .csv": ("batch.csv", lambda: pickle.dumps({"a": 1}), "it looks like a Python pickle"),
    "not a parquet": ("batch.parquet", lambda: _csv(_batch()), "is not a Parquet file"),
    "wrong extension": ("batch.xlsx", lambda: _csv(_batch()), "Steward reads .csv and .parquet files"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_uploads_are_refused_with_the_problem_named_and_nothing_written(
    engine: Engine, setup, case: str
) -> None:  # type: ignore[no-untyped-def]
    world, model = setup
    name, data, message = BAD_FILES[case]
    before = _written(engine)
    with pytest.raises(
        InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        check_upload(
            engine,
            actor=world.owner,
            version_id=model.version_id,
            data=data(),
            filename=name,
            with_report=False,
        )
    assert _written(engine) == before


def test_a_file_above_the_size_limit_is_refused(
    engine: Engine, setup, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from core.config import reset_settings_cache

    world, model = setup
    monkeypatch.setenv("STEWARD_UPLOAD_MAX_MB", "1")
    reset_settings_cache()
    data = _csv(_batch(60_000))
    assert len(data) > 1024 * 1024
    with pytest.raises(InvalidInput, match=r"MB; the limit is 1 MB \(STEWARD_UPLOAD_MAX_MB\)"):
        check_upload(
            engine,
            actor=world.owner,
            version_id=model.version_id,
            data=data,
            filename="big.csv",
            with_report=False,
        )
    assert _written(engine)[0] == 0


def test_a_good_batch_is_compared_and_stored_as_an_adhoc_run(engine: Engine, setup) -> None:  # type: ignore[no-untyped-def]
    world, model = setup
    buffer = io.BytesIO()
    _batch(income_shift=1.4).to_parquet(buffer, index=False)
    summary = check_upload(
        engine,
        actor=world.owner,
        version_id=model.version_id,
        data=buffer.getvalue(),
        filename="may.parquet",
        with_report=True,
    )
    assert summary.kind == "adhoc" and summary.period_label == "upload may.parquet"
    assert summary.drifted_features == ("income",) and summary.current_rows == 400
    with read_session(engine) as s:
        detail = reads.run_detail(s, summary.id)
        latest = reads.latest_drift_by_model(s)
    assert detail.period_start is None and detail.source_label == "may.parquet"
    assert b"<html" in read_report(detail.report_path)[:3000].lower()
    assert latest.empty  # uploads are not the model's scheduled monitoring
    again = check_upload(
        engine, actor=world.owner, version_id=model.version_id, data=buffer.getvalue(), filename="may.parquet"
    )
    assert again.outcome == "unchanged" and again.id == summary.id


def test_csv_with_text_categories_as_numbers_and_extra_log_columns_is_accepted(engine: Engine, setup) -> None:  # type: ignore[no-untyped-def]
    world, model = setup
    frame = production_batch(
        300, date(2024, 5, 1), seed=6
    )  # has ts, score and prediction besides the features
    summary = check_upload(
        engine,
        actor=world.owner,
        version_id=model.version_id,
        data=_csv(frame),
        filename="log.csv",
        with_report=False,
    )
    assert summary.n_computed == 4 and summary.status in ("ok", "drift")


def test_viewers_cannot_store_adhoc_checks(engine: Engine, setup) -> None:  # type: ignore[no-untyped-def]
    world, model = setup
    with pytest.raises(PermissionDenied, match="may not monitoring run"):
        check_upload(
            engine, actor=world.viewer, version_id=model.version_id, data=_csv(_batch()), filename="b.csv"
        )
    assert _written(engine)[0] == 0
