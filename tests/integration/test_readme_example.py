"""The README's example training script is real: it runs against a fresh registry and leaves the
model, its version (metrics, params, git commit, training data, artifact) and its predictions there."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import select

from core.db.engine import make_engine, read_session
from core.db.models import Dataset, Model, ModelVersion
from core.logstore import reads
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
    env.pop("STEWARD_TOKEN", None)
    steward = str(Path(sys.executable).with_name("steward"))
    init = subprocess.run([steward, "init"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    # A fresh install: the operator mints the first token, for the system service account.
    token = tmp_path / "pipeline.token"
    minted = subprocess.run(
        [
            steward,
            "token",
            "bootstrap",
            "--person",
            "system@steward.local",
            "--name",
            "example",
            "--out",
            str(token),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert minted.returncode == 0, minted.stdout + minted.stderr
    env["STEWARD_TOKEN_FILE"] = str(token)
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
                set(version.metrics) == {"roc_auc", "accuracy", "brier", "fairness_gap"}
                and version.metrics["roc_auc"] > 0.7
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
            assert stored.read_bytes() == (tmp_path / "work" / "model.skops").read_bytes()
            assert version.artifact_format == "skops"
            assert type(
                artifacts.load_verified(version.artifact_uri, version.artifact_sha256, "skops")
            ).__name__ == ("GradientBoostingClassifier")
            assert reads.count_rows(s, version.id) == 500  # in the log store
            # The data is in Steward's store, named by its sha256: nothing was copied by hand.
            assert dataset.storage == "store" and dataset.role == "training"
            assert artifacts.resolve(dataset.uri).read_bytes() == train_csv
            holdout = s.get(Dataset, version.evaluation_dataset_id)
            assert (holdout.name, holdout.role, holdout.row_count) == ("loan_holdout", "evaluation", 1000)
    finally:
        engine.dispose()
        reset_settings_cache()
    _monitoring_works_for_the_example(tmp_path, env, steward)


def _monitoring_works_for_the_example(tmp_path: Path, env: dict[str, str], steward: str) -> None:
    """Drift, SHAP and performance give real results for the example's model, from the CLI,
    with nothing but the example's own registrations (issue 13: data within reach)."""
    model = "Consumer credit default"

    def run(*args: str) -> dict:
        done = subprocess.run(
            [steward, *args, "--json"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600
        )
        assert done.returncode == 0, (args, done.stdout + done.stderr)
        return json.loads(done.stdout)

    # Outcomes of an earlier month arrive: the pipeline logs those predictions with their labels.
    labelled = pd.read_csv(tmp_path / "work" / "test.csv")
    labelled["score"] = labelled["debt_ratio"].clip(0, 1).round(4)
    labelled["prediction"] = (labelled["score"] >= 0.3).astype(int)
    labelled["label"] = labelled.pop("default")
    labelled["ts"] = pd.date_range("2026-01-02", periods=len(labelled), freq="37min", tz="UTC").map(
        lambda t: t.isoformat()
    )
    labelled["request_id"] = [f"backtest-{i:05d}" for i in range(len(labelled))]
    labelled.to_csv(tmp_path / "labelled.csv", index=False)
    run("log-predictions", "--model", model, "--version", "1", str(tmp_path / "labelled.csv"))

    drift = run("drift", "--model", model, "--from", "2026-01-01", "--to", "2026-01-31")
    [drift_run] = drift["runs"]
    assert drift_run["version"] == 1 and drift_run["current_rows"] == 1000, drift_run
    assert drift_run["n_computed"] >= 4 and drift_run["status"] in ("ok", "drift") and not drift["failed"]

    explained = run("explain", "--model", model, "--version", "1")
    assert explained["validation"]["status"] == "computed" and explained["validation"]["rows"] == 1000
    assert set(explained["validation"]["importance"]) == {"income", "age", "loan_amount", "debt_ratio"}

    performance = run("performance", "--model", model, "--version", "1")
    assert performance["labelled"] == 1000 and performance["validation"]["roc_auc"] > 0.7
    assert {m["metric"] for m in performance["months"]} >= {"roc_auc", "accuracy"}
    assert all(0 < m["value"] <= 1 for m in performance["months"] if m["metric"] == "roc_auc")
