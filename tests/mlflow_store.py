"""Real MLflow stores for the import tests, written (and served) by the mlflow package itself.

Two MLflow versions: the 3.x in the test venv (mlflow-skinny, from the dev extra) and an older
2.x in its own small venv (.mlflow-envs/mlflow2, installed by `make mlflow-envs`, which
`make test` runs). Each writes the same registry with tests/mlflow_writer.py in a subprocess,
so nothing of the older MLflow is ever imported into the test process. Shared by
tests/integration/test_mlflow_import.py and the Admin page's AppTest.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WRITER = ROOT / "tests" / "mlflow_writer.py"
MLFLOW2_PYTHON = ROOT / ".mlflow-envs" / "mlflow2" / "bin" / "python"


@dataclass(frozen=True)
class Store:
    root: Path
    uri: str  # sqlite:///ROOT/mlflow.db, or file:///ROOT/mlruns
    python: Path  # the Python whose mlflow wrote it
    mlflow: str  # that mlflow's version
    logged_model: str  # MLflow 3: the logged model credit-scoring v4 registers

    @property
    def major(self) -> int:
        return int(self.mlflow.split(".")[0])

    @property
    def db(self) -> Path:
        return self.root / "mlflow.db"


def mlflow_python(major: int) -> Path:
    """The Python with MLflow ``major`` (skips the test, saying why, when it is not installed)."""
    if major == 3:
        pytest.importorskip("mlflow")
        return Path(sys.executable)
    if not MLFLOW2_PYTHON.exists():
        pytest.skip(f"no MLflow 2 environment at {MLFLOW2_PYTHON.parent.parent}: run `make mlflow-envs`")
    return MLFLOW2_PYTHON


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(extra)
    return env


def write_store(python: Path, root: Path, kind: str = "sqlite") -> Store:
    """Write the test registry under ``root`` with ``python``'s mlflow."""
    done = subprocess.run(
        [str(python), str(WRITER), str(root), kind],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=root.parent,
        env=_env(MLFLOW_ALLOW_FILE_STORE="true"),
    )
    if done.returncode != 0:
        raise RuntimeError(f"the MLflow writer failed:\n{done.stderr[-3000:]}")
    written = json.loads(done.stdout.strip().splitlines()[-1])
    return Store(
        root=root.resolve(),
        uri=written["uri"],
        python=python,
        mlflow=written["mlflow"],
        logged_model=written["logged_model"],
    )


def run_mlflow(store: Store, code: str) -> str:
    """Run ``code`` with the store's own mlflow (``URI`` is its tracking URI); returns stdout."""
    done = subprocess.run(
        [str(store.python), "-c", f"URI = {store.uri!r}\n{code}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=store.root,
        env=_env(MLFLOW_ALLOW_FILE_STORE="true"),
    )
    if done.returncode != 0:
        raise RuntimeError(f"mlflow {store.mlflow} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def build_mlflow_store(root: Path) -> str:
    """The registry written by the test venv's MLflow 3; returns its tracking URI."""
    return write_store(mlflow_python(3), root).uri


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(store: Store, log: Path) -> Iterator[str]:
    """`mlflow server` of the store's own MLflow over its database; yields the server's URL."""
    port = _free_port()
    command = [
        str(store.python.parent / "mlflow"),
        "server",
        "--backend-store-uri",
        store.uri,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # MLflow 3's server starts a job runner (huey) for GenAI scorers unless told not to.
    env = _env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_ALLOW_FILE_STORE="true")
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=store.root, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer within 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
