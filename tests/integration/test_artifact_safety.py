"""No artifact code runs where the secrets are (issue 11, finding 1), on SQLite and PostgreSQL.

Before: a model owner registered a `.joblib` whose pickle carried a `__reduce__` payload, and the
first explanation ran it inside the process holding the database URL and the audit key. Now the
app and the CLI load skops files against an allow-list of types and never open pickle-based
files; with STEWARD_PICKLE_ARTIFACTS=sandbox a worker without secrets opens them instead.

The canary is a joblib file whose payload writes a file: after every CLI command on its version,
as every role, the file must not exist.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import joblib
import pytest
import skops.io
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session
from core.errors import InvalidInput
from core.explain.loading import load_model, version_context
from core.explain.summaries import ensure_global_explanations
from core.registry import artifacts
from tests.cli_auth import TokenRunner
from tests.factories import make_world
from tests.insight_factories import credit_frame, credit_pipeline, register_explained_version

runner = TokenRunner()


class Canary:
    """Unpickling this runs ``code`` (what a hostile model file would do)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, (self.code,))


def canary_file(tmp_path: Path, marker: Path) -> Path:
    """A .joblib whose loading writes ``marker`` (with the environment it ran in)."""
    code = (
        "import json, os\n"
        f"open({str(marker)!r}, 'w').write(json.dumps({{'env': sorted(os.environ), 'cwd': os.getcwd()}}))\n"
    )
    path = tmp_path / "incoming" / "model.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(Canary(code), path)
    return path


def register_canary(engine, tmp_path: Path, marker: Path):
    world = make_world(engine)
    warnings.filterwarnings("ignore", category=UserWarning)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=LogisticRegression(max_iter=500),
        name="Canary model",
        artifact=(canary_file(tmp_path, marker), "joblib"),
    )
    return world, built


def test_the_canary_never_runs_in_core_or_any_cli_command(engine, tmp_path, monkeypatch):
    marker = tmp_path / "canary-ran.json"
    world, built = register_canary(engine, tmp_path, marker)
    # Core: loading the model refuses, saying what a model owner can do.
    with read_session(engine) as s:
        context = version_context(s, built["version_id"])
    with pytest.raises(
        InvalidInput, match=r"is a joblib file, and Steward does not open pickle-based files.*skops"
    ):
        load_model(engine, context)
    # Every CLI command that touches the version, as each role.
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    name = "Canary model"
    acting = [  # commands that act (and take the person's token)
        ["explain", "--model", name, "--version", "1"],
        ["request-promotion", "-m", name, "-v", "1", "--to", "staging", "-j", "Candidate for staging."],
        ["drift", "--model", name],
        ["health"],
    ]
    reading = [
        ["performance", "--model", name],
        ["history", "--model", name],
        ["ls"],
        ["check"],
        ["audit", "verify"],
    ]
    outputs = []
    people = (world.owner, world.approver, world.viewer, world.labeller, world.admin, world.system)
    for i, person in enumerate(people):
        report = ["report", "model", "-m", name, "--out", str(tmp_path / f"doc-{i}.html")]
        for command in [*[[*c, "--as", person.email] for c in acting], *reading, report]:
            result = runner.invoke(app, command)
            assert "Traceback" not in result.output, (command, result.output)
            outputs.append(result.output)
    assert not marker.exists(), "the artifact's payload ran in a process that holds the registry credentials"
    assert sum("does not open pickle-based files" in o for o in outputs) >= 1, outputs


def test_skops_models_load_and_explain_and_untrusted_types_are_refused(engine, tmp_path):
    world = make_world(engine)
    warnings.filterwarnings("ignore", category=UserWarning)
    built = register_explained_version(
        engine,
        world.owner,
        estimator=GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0),
    )
    outcome = ensure_global_explanations(engine, actor=world.owner, version_id=built["version_id"])
    assert outcome["validation"] == "computed"
    # A skops file naming a type outside the allow-list (a function skops would have to call) is refused.
    hostile = tmp_path / "hostile.skops"
    skops.io.dump({"call": os.system}, hostile)
    uri, sha = artifacts.store_artifact(hostile, model_name="Hostile", version=1)
    with pytest.raises(
        InvalidInput, match=r"contains types Steward does not trust, so it is not loaded: .*system"
    ):
        artifacts.load_verified(uri, sha, "skops")
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    uri, sha = artifacts.store_artifact(junk, model_name="Junk", version=1)
    with pytest.raises(InvalidInput, match="is not a readable skops file"):
        artifacts.load_verified(uri, sha, "skops")


@pytest.fixture
def sandbox(monkeypatch):
    monkeypatch.setenv("STEWARD_PICKLE_ARTIFACTS", "sandbox")
    monkeypatch.setenv("STEWARD_AUDIT_HMAC_KEY", "the audit key")
    reset_settings_cache()


def test_in_sandbox_mode_a_payload_runs_only_in_a_worker_without_secrets_that_cannot_write(
    engine, tmp_path, sandbox
):
    # The payload reports what it can see through the only channel left to it: its error message.
    spy = Canary(
        "import os\nraise RuntimeError('ENV=' + ','.join(sorted(os.environ)) + ' CWD=' + os.getcwd())"
    )
    path = tmp_path / "spy.joblib"
    joblib.dump(spy, path)
    uri, sha = artifacts.store_artifact(path, model_name="Spy", version=1)
    with pytest.raises(
        InvalidInput, match="the sandbox worker could not open the model: RuntimeError: ENV="
    ) as raised:
        artifacts.load_verified(uri, sha, "joblib")
    seen = str(raised.value)
    assert "STEWARD" not in seen and "DATABASE" not in seen and "HMAC" not in seen
    assert "steward-sandbox-" in seen.split("CWD=")[1]  # a fresh temporary directory
    # A payload that writes a file cannot: the worker may not write a byte.
    marker = tmp_path / "canary-ran.json"
    canary = canary_file(tmp_path, marker)
    uri, sha = artifacts.store_artifact(canary, model_name="Canary", version=1)
    with pytest.raises(InvalidInput, match="does not hold a model"):
        artifacts.load_verified(uri, sha, "joblib")
    assert not marker.exists() or marker.stat().st_size == 0  # nothing could be written


def test_in_sandbox_mode_an_honest_joblib_model_is_explained(engine, tmp_path, sandbox):
    world = make_world(engine)
    warnings.filterwarnings("ignore", category=UserWarning)
    frame = credit_frame(300, seed=1)
    pipe = credit_pipeline(LogisticRegression(max_iter=500), frame)
    path = tmp_path / "honest.joblib"
    joblib.dump(pipe, path)
    built = register_explained_version(
        engine, world.owner, estimator=LogisticRegression(max_iter=500), artifact=(path, "joblib")
    )
    with read_session(engine) as s:
        model = load_model(engine, version_context(s, built["version_id"]))
    # A real scikit-learn pipeline, rebuilt here from the worker's skops answer.
    assert (
        type(model).__name__ == "Pipeline" and model.predict_proba(frame.drop(columns="label")).shape[1] == 2
    )


def test_no_module_of_the_app_or_the_cli_unpickles():
    """The process boundary holds: only steward_sandbox (a separate process) opens pickles, and
    nothing in core/ or app/ imports it."""
    import re

    root = Path(__file__).resolve().parents[2]
    for folder in ("core", "app", "pages"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text()
            assert not re.search(r"\b(joblib|pickle|cloudpickle|dill)\.loads?\(", text), path
            assert not re.search(r"^\s*(import|from)\s+steward_sandbox", text, re.MULTILINE), path
    worker = (root / "steward_sandbox" / "__main__.py").read_text()
    assert "from core" not in worker and "import core" not in worker
