"""Train a credit-default model, register it and its data in Steward, and log a day of its predictions.

Run it where the `steward` command is installed and STEWARD_DATABASE_URL points at your
registry (after `steward init`):

    python docs/examples/train_and_register.py --workdir /tmp/credit-example

Every registry call goes through the `steward` CLI, authenticated with the pipeline's personal
access token (a file named by STEWARD_TOKEN_FILE, created by an admin for the pipeline's service
account, which needs the model_owner role). A refused call stops the script with Steward's
one-line error; nothing half-written stays in the registry. The model is saved with skops, the
format Steward opens without running code from the file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

MODEL = "Consumer credit default"
FEATURES = ["income", "age", "loan_amount", "debt_ratio"]
STEWARD = shutil.which("steward") or str(Path(sys.executable).with_name("steward"))


def steward(*args: str, exists_ok: bool = False) -> dict | list:
    """Run one `steward ... --json` command and return its JSON answer; stop on its error
    (but with ``exists_ok``, an "already exists" refusal means the work was done before)."""
    done = subprocess.run([STEWARD, *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        message = (done.stdout + done.stderr).strip()
        if exists_ok and "already exists" in message:
            return {}
        sys.exit(f"steward {args[0]} failed: {message}")
    return json.loads(done.stdout)


def applications(rows: int, seed: int) -> pd.DataFrame:
    """Synthetic loan applications with a known relation between features and default."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10.4, 0.4, rows).round(0),
            "age": rng.integers(19, 75, rows),
            "loan_amount": rng.gamma(2.0, 6000.0, rows).round(0),
            "debt_ratio": rng.beta(2, 5, rows).round(3),
        }
    )
    logit = (
        -4.5
        + 7.0 * frame["debt_ratio"]
        + 4.0 * frame["loan_amount"] / frame["income"]
        - 0.04 * (frame["age"] - 40)
    )
    frame["default"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def fairness_gap(test: pd.DataFrame, scores: np.ndarray) -> float:
    """Largest difference in ROC AUC between age groups (under 40, 40 and over)."""
    young = (test["age"] < 40).to_numpy()
    by_group = [roc_auc_score(test["default"][group], scores[group]) for group in (young, ~young)]
    return round(float(max(by_group) - min(by_group)), 4)


def git_commit() -> str:
    """The commit of the code that trained the model ('' outside a git checkout)."""
    done = subprocess.run(
        ["git", "-C", str(Path(__file__).parent), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("credit-example"))
    parser.add_argument("--business-unit", default="Credit risk")
    args = parser.parse_args()
    workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)

    # 1. Train and evaluate.
    data = applications(4000, seed=7)
    train, test = train_test_split(data, test_size=0.25, random_state=7, stratify=data["default"])
    params = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05}
    model = GradientBoostingClassifier(random_state=7, **params).fit(train[FEATURES], train["default"])
    scores = model.predict_proba(test[FEATURES])[:, 1]
    metrics = {
        "roc_auc": round(float(roc_auc_score(test["default"], scores)), 4),
        "accuracy": round(float(accuracy_score(test["default"], scores >= 0.5)), 4),
        "brier": round(float(brier_score_loss(test["default"], scores)), 4),
        # Accuracy per group (Model Cards "factors", EU AI Act Annex IV): the ROC AUC gap between
        # applicants under 40 and the others.
        "fairness_gap": fairness_gap(test, scores),
    }

    # 2. Save the model, its metrics, its training data and its held-out evaluation data.
    skops.io.dump(model, workdir / "model.skops")
    (workdir / "metrics.json").write_text(json.dumps(metrics))
    train.to_csv(workdir / "train.csv", index=False)
    test.to_csv(workdir / "test.csv", index=False)

    # 3. Register the data (Steward keeps a copy of each file, named by its sha256), the model
    #    (first time only) and the new version. The same data always gets the same version.
    data_versions = {}
    for dataset, file, role in (
        ("loan_applications", "train.csv", "training"),
        ("loan_holdout", "test.csv", "evaluation"),
    ):
        data_versions[dataset] = hashlib.sha256((workdir / file).read_bytes()).hexdigest()[:12]
        steward(
            "register-dataset",
            dataset,
            "--version",
            data_versions[dataset],
            "--file",
            str(workdir / file),
            "--role",
            role,
            exists_ok=True,
        )
    if MODEL not in {m["name"] for m in steward("ls")}:
        steward(
            "register-model",
            MODEL,
            "--business-unit",
            args.business_unit,
            "--purpose",
            "Probability that a consumer loan applicant defaults within 12 months",
            "--intended-use",
            "Decision support for consumer loans up to EUR 50k",
            "--methodology",
            "Gradient boosted trees",
            "--primary-metric",
            "roc_auc",
            "--threshold",
            "roc_auc:min=0.7",
        )
    version = steward(
        "register-version",
        "--model",
        MODEL,
        "--metrics-file",
        str(workdir / "metrics.json"),
        "--params",
        json.dumps(params),
        "--artifact",
        str(workdir / "model.skops"),
        "--dataset",
        f"loan_applications:{data_versions['loan_applications']}",
        "--eval-dataset",
        f"loan_holdout:{data_versions['loan_holdout']}",
        "--git-commit",
        git_commit(),
        "--features",
        ",".join(FEATURES),
        "--card-limitations",
        "Trained on synthetic applications; not validated for SME loans",
    )["version"]

    # 4. Score a day of new applications and log the predictions from a CSV.
    batch = applications(500, seed=8).drop(columns="default")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    batch["score"] = model.predict_proba(batch[FEATURES])[:, 1].round(4)
    batch["prediction"] = (batch["score"] >= 0.5).astype(int)
    batch["ts"] = [(start + timedelta(seconds=170 * i)).isoformat() for i in range(len(batch))]
    batch["request_id"] = [f"app-{i:05d}" for i in range(len(batch))]
    batch.to_csv(workdir / "predictions.csv", index=False)
    logged = steward(
        "log-predictions", "--model", MODEL, "--version", str(version), str(workdir / "predictions.csv")
    )
    print(f"{MODEL} version {version}: roc_auc {metrics['roc_auc']}, {logged['rows']} predictions logged.")


if __name__ == "__main__":
    main()
