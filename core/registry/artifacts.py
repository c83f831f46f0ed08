"""The artifact store: model files live under ``settings.artifact_dir`` with their sha256.

Artifacts are only ever loaded from this store and only when the file's sha256 matches the
registry; a changed file is refused. Nothing uploaded through the browser is unpickled.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
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


def model_dir_name(model_name: str) -> str:
    """The store folder of a model: a readable slug of its name plus a hash of the exact name.

    The slug alone is not unique ("a-b", "a b", "a/b" and "A b" differ only in characters the
    slug replaces or in case, which a case-insensitive file system ignores); the hash is, so two
    models never share (and overwrite) each other's files."""
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name).strip("._")[:60] or "model"
    return f"{slug}-{hashlib.sha256(model_name.encode()).hexdigest()[:12]}"


def store_artifact(source: Path, *, model_name: str, version: int) -> tuple[str, str]:
    """Copy ``source`` into the store; return (uri relative to the store, sha256).

    The path holds the model's folder (see ``model_dir_name``), the version and the first 16
    hex digits of the file's own sha256, so a registered file is never overwritten by another
    one: storing different content for the same model and version lands beside it, and storing
    the same content again reuses it."""
    source = Path(source)
    if not source.is_file():
        raise InvalidInput(f"artifact file '{source}' does not exist or is not a file.")
    digest = sha256_of(source)
    relative = Path(model_dir_name(model_name)) / f"v{version}" / digest[:16] / source.name
    target = store_dir() / relative
    if target.is_file() and sha256_of(target) == digest:
        return relative.as_posix(), digest
    target.parent.mkdir(parents=True, exist_ok=True)
    # A partial name of its own, so concurrent registrations of the same file (two pipeline
    # runs, a retry) never write into one another's copy; each then atomically renames
    # identical content onto the target.
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    shutil.copyfile(source, partial)
    stored = sha256_of(partial)
    if stored != digest:
        partial.unlink(missing_ok=True)
        raise IntegrityViolation(
            f"artifact file '{source}' changed while it was copied into the store; try again."
        )
    partial.replace(target)
    return relative.as_posix(), stored


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
