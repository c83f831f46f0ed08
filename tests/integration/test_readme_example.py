"""The README's example training script is real: it runs against a fresh registry and leaves the
model, its version (metrics, params, git commit, training data, artifact) and its predictions there."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from core.db.engine import make_engine, read_session
from core.db.models import Dataset, Model, ModelVersion, PredictionLog
from core.registry import artifacts

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "examples" / "train_and_register.py"
README = ROOT / "README.md"


def test_readme_shows_the_example_script_exactly():
    blocks = re.findall(
        r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL
    )
    assert SCRIPT.read_text(encoding="utf-8") in blocks, (
        "README's example differs from docs/examples/train_and_register.py"
    )


@pytest.mark.slow
def test_example_script_registers_model_version_and_predictions(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": url,
        "STEWARD_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "STEWARD_REPORT_DIR": str(tmp_path / "reports"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("STEWARD_CLI_ACTOR", None)
    steward = str(Path(sys.executable).with_name("steward"))
    init = subprocess.run([steward, "init"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--workdir", str(tmp_path / "work")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(
        r"Consumer credit default version 1: roc_auc 0\.\d+, 500 predictions logged\.\n", done.stdout
    )

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.setenv("STEWARD_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    from core.config import reset_settings_cache

    reset_settings_cache()
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            model = s.exec(select(Model).where(Model.name == "Consumer credit default")).one()
            assert (model.business_unit, model.primary_metric) == ("Credit risk", "roc_auc")
            version = s.exec(select(ModelVersion).where(ModelVersion.model_id == model.id)).one()
            assert version.version == 1
            assert (
                set(version.metrics) == {"roc_auc", "accuracy", "brier"} and version.metrics["roc_auc"] > 0.7
            )
            assert version.params == {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05}
            assert version.git_commit == commit and re.fullmatch(r"[0-9a-f]{40}", commit)
            assert version.feature_names == ["income", "age", "loan_amount", "debt_ratio"]
            dataset = s.get(Dataset, version.training_dataset_id)
            train_csv = (tmp_path / "work" / "train.csv").read_bytes()
            assert (dataset.name, dataset.row_count) == ("loan_applications", 3000)
            assert dataset.content_hash == hashlib.sha256(train_csv).hexdigest()
            stored = artifacts.resolve(version.artifact_uri)
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == version.artifact_sha256
            assert stored.read_bytes() == (tmp_path / "work" / "model.joblib").read_bytes()
            logged = s.exec(
                select(func.count())
                .select_from(PredictionLog)
                .where(PredictionLog.model_version_id == version.id)
            ).one()
            assert logged == 500
    finally:
        engine.dispose()
        reset_settings_cache()
