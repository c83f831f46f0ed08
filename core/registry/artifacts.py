"""The artifact store: model files live under ``settings.artifact_dir`` with their sha256.

Artifacts are only ever loaded from this store and only when the file's sha256 matches the
registry; a changed file is refused. The sha256 proves the file is the one registered, not that
it is safe, so no artifact is ever unpickled in a process that holds the registry's credentials,
the audit key or the app's secrets:

- scikit-learn models in skops format are loaded here, and only when every type the file names
  is on ``TRUSTED_TYPES`` (skops' own defaults plus the scikit-learn internals listed below):
  skops rebuilds the objects from their parts and never runs code the file carries;
- pickle-based files (pickle, joblib) are refused, unless STEWARD_PICKLE_ARTIFACTS=sandbox, in
  which case a short-lived worker process without secrets opens the file and hands back the model
  in skops format (``core.registry.artifact_sandbox``), loaded against the same allow-list.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import Any

from core.config import get_settings
from core.errors import IntegrityViolation, InvalidInput, NotFound
from core.registry.artifact_sandbox import convert_in_sandbox

SAFE_FORMATS = ("skops",)
PICKLE_FORMATS = ("pickle", "joblib")

# Types a skops file may name beyond skops' defaults: scikit-learn internals its estimators are
# made of (tree structures, histogram-GBM predictors, the MLP's optimiser state, calibration and
# neighbour search helpers). All are scikit-learn's own classes rebuilt from arrays; none takes a
# callable or runs code given in the file. Anything else is refused with its name.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss._loss.CyHalfSquaredError",
    }
)

SKOPS_ADVICE = (
    "Save the model with skops (`skops.io.dump(model, 'model.skops')`, scikit-learn models) and "
    "register it as a new version (`steward register-version ... --artifact model.skops`)."
)


class UnsafeArtifact(InvalidInput):
    """The artifact cannot be loaded without trusting code it carries."""


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
    """Load a model artifact after checking its hash, without running code it carries.

    skops files are loaded against ``TRUSTED_TYPES``; pickle-based files raise UnsafeArtifact
    (saying what the model owner can do) unless STEWARD_PICKLE_ARTIFACTS=sandbox, which opens
    them in the sandbox worker. Other formats raise UnsafeArtifact too."""
    refusal = unsafe_reason(uri, fmt)
    if refusal is not None:
        raise UnsafeArtifact(refusal)
    path = verify_artifact(uri, expected_sha256)
    if fmt in SAFE_FORMATS:
        return _a_model(load_skops(path.read_bytes(), source=uri), uri)
    return _a_model(load_skops(convert_in_sandbox(path, fmt), source=f"{uri} (opened in the sandbox)"), uri)


def unsafe_reason(uri: str, fmt: str) -> str | None:
    """Why Steward will not load an artifact of this format here (what the model owner can do),
    or None when it will: decided from the recorded format and the settings, without opening
    the file, so any page can say it to anyone."""
    if fmt in SAFE_FORMATS:
        return None
    if fmt in PICKLE_FORMATS:
        if get_settings().pickle_artifacts == "sandbox":
            return None
        return (
            f"its artifact '{Path(uri).name}' is a {fmt} file, and Steward does not open pickle-based "
            "files: opening one runs whatever code it carries, inside the app that holds the "
            f"registry's credentials. {SKOPS_ADVICE} (An admin can instead let a sandboxed worker "
            "open such files: STEWARD_PICKLE_ARTIFACTS=sandbox.)"
        )
    return f"its artifact format '{fmt or 'unknown'}' cannot be loaded by Steward. {SKOPS_ADVICE}"


def _a_model(obj: Any, uri: str) -> Any:
    if not callable(getattr(obj, "predict", None)):
        raise UnsafeArtifact(
            f"'{uri}' does not hold a model: it is a {type(obj).__name__} without predict()."
        )
    return obj


def load_skops(data: bytes, *, source: str) -> Any:
    """A skops file's object, when every type it names is trusted; else UnsafeArtifact naming them."""
    import skops.io  # imported when a model is opened: not needed by most pages

    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged or foreign file: skops raises many kinds
        raise UnsafeArtifact(
            f"'{source}' is not a readable skops file ({type(exc).__name__}: {exc})."
        ) from None
    refused = sorted(t for t in untrusted if t not in TRUSTED_TYPES)
    if refused:
        raise UnsafeArtifact(
            f"'{source}' contains types Steward does not trust, so it is not loaded: {', '.join(refused)}. "
            "Steward loads scikit-learn models and their own building blocks only."
        )
    try:
        return skops.io.loads(data, trusted=list(untrusted))
    except Exception as exc:
        raise UnsafeArtifact(f"'{source}' could not be loaded ({type(exc).__name__}: {exc}).") from None
