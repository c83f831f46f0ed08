"""Start the sandbox worker (``steward_sandbox``) that opens pickle-based model files.

Only used when STEWARD_PICKLE_ARTIFACTS=sandbox. The worker is a separate, short-lived Python
process: empty environment, isolated mode (-I: no PYTHON* variables, no user site, no current
directory on the path), working directory in a fresh temporary directory, no file writes
(RLIMIT_FSIZE 0), at most ``MEMORY_LIMIT`` bytes of memory and ``CPU_SECONDS`` of CPU, killed
after ``TIMEOUT_SECONDS``. It answers with the model in skops format, which the caller loads
against the allow-list; nothing the worker returns is ever unpickled here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from core.errors import InvalidInput

TIMEOUT_SECONDS = 120
CPU_SECONDS = 90
MEMORY_LIMIT = 4 * 1024**3  # address space: sklearn, scipy and the model, not more
MAX_ANSWER = 512 * 1024**2


def _limits() -> None:  # runs in the child, between fork and exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it may not write a byte to any file
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def convert_in_sandbox(path: Path, fmt: str) -> bytes:
    """The pickle-based model file at ``path`` re-saved in skops format by the sandbox worker."""
    request = json.dumps({"path": str(Path(path).resolve()), "format": fmt}).encode()
    with tempfile.TemporaryDirectory(prefix="steward-sandbox-") as workdir:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-m", "steward_sandbox"],
                input=request,
                capture_output=True,
                env={},  # nothing from this process: no settings, no database URL, no keys
                cwd=workdir,
                timeout=TIMEOUT_SECONDS,
                preexec_fn=_limits if sys.platform != "win32" else None,  # noqa: PLW1509
                close_fds=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise InvalidInput(
                f"the sandbox worker did not finish opening the model within {TIMEOUT_SECONDS} s."
            ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[-1] if detail else f"it stopped with exit code {done.returncode}"
        raise InvalidInput(f"the sandbox worker could not open the model: {reason[:500]}")
    if not done.stdout or len(done.stdout) > MAX_ANSWER:
        raise InvalidInput("the sandbox worker's answer was empty or too large.")
    return done.stdout
