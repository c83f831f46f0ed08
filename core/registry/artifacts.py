"""The artifact store: model files live under ``settings.artifact_dir`` with their sha256.

Artifacts are only ever loaded from this store and only when the file's sha256 matches the
registry; a changed file is refused. Nothing uploaded through the browser is unpickled.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.errors import IntegrityViolation, InvalidInput, NotFound

PICKLE_FORMATS = ("pickle", "joblib")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_dir() -> Path:
    return Path(get_settings().artifact_dir)


def store_artifact(source: Path, *, model_name: str, version: int) -> tuple[str, str]:
    """Copy ``source`` into the store; return (uri relative to the store, sha256)."""
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"artifact file '{source}' does not exist or is not a file.")
    safe_model = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
    relative = Path(safe_model) / f"v{version}" / source.name
    target = store_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return relative.as_posix(), sha256_of(target)


def resolve(uri: str) -> Path:
    """The file for ``uri`` inside the store; refuses paths that escape it."""
    root = store_dir().resolve()
    path = (root / uri).resolve()
    if root not in path.parents:
        raise InvalidInput(f"artifact '{uri}' lies outside the artifact store {root}.")
    return path


def verify_artifact(uri: str, expected_sha256: str) -> Path:
    """Return the artifact's path if it exists and matches ``expected_sha256``, else raise."""
    if not uri:
        raise NotFound("This version has no artifact registered.")
    path = resolve(uri)
    if not path.is_file():
        raise NotFound(f"Artifact '{uri}' is missing from the artifact store.")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise IntegrityViolation(
            f"Artifact '{uri}' was changed after registration: sha256 {actual[:12]}… does not match "
            f"the registry's {expected_sha256[:12]}…. It will not be loaded."
        )
    return path


def load_verified(uri: str, expected_sha256: str, fmt: str) -> Any:
    """Load a model artifact written by a registered pipeline, after checking its hash."""
    path = verify_artifact(uri, expected_sha256)
    if fmt not in PICKLE_FORMATS:
        raise InvalidInput(f"artifact format '{fmt}' cannot be loaded by Steward.")
    import joblib  # pickle-based: safe only because the hash matches what a pipeline registered

    return joblib.load(path)
