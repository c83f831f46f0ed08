"""Datasets within reach: a dataset's file kept in the artifact store (content-addressed by its
sha256) or at a verified external location, its role, and reading it back hash-checked.

A dataset registered with its data is read once at registration (CSV or Parquet, through
``core.registry.files``, so a wrong format or a file over STEWARD_UPLOAD_MAX_MB is refused with
its reason), its sha256 is computed (and compared with the one the caller gives, if any), and
either

- copied into the store under ``datasets/<sha256[:2]>/<sha256>.<csv|parquet>`` (``storage``
  'store'): the same content is kept once, whichever name or version it is registered under, and
  a stored file is never overwritten; or
- recorded where it is (``storage`` 'external', a local path or ``file://`` URI) and checked
  against its sha256 every time it is read, so a changed file is refused, never silently used.

Drift reads a version's reference dataset (default: its training data), SHAP its background
dataset (default: the training data) and evaluation dataset; performance reads the evaluation
dataset's size. ``link_dataset`` names a dataset for one of these roles of a version.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
from sqlmodel import Session, col, select

from core import audit, events
from core.access import Actor, require
from core.config import get_settings
from core.db.models import Dataset, Model, ModelVersion
from core.db.models.registry import DATASET_ROLES
from core.errors import Conflict, IntegrityViolation, InvalidInput, NotFound
from core.registry import artifacts, services
from core.registry.files import SUFFIXES, read_table_bytes
from core.registry.validation import clean_choice, clean_sha256

ROLES = DATASET_ROLES
ROLE_LABELS = {
    "training": "training data",
    "evaluation": "evaluation data",
    "reference": "drift reference",
    "background": "SHAP background",
}
VERSION_COLUMNS = {
    "training": "training_dataset_id",
    "evaluation": "evaluation_dataset_id",
    "reference": "reference_dataset_id",
    "background": "background_dataset_id",
}
EDGE_RELATIONS = {
    "training": "trains",
    "evaluation": "evaluates",
    "reference": "drift reference for",
    "background": "SHAP background for",
}
# The version's model card and promotion evidence name its training and evaluation data, so those
# are set once; the drift reference and SHAP background are monitoring settings and may change.
SET_ONCE = ("training", "evaluation")
STORE_FOLDER = "datasets"
READ_MAX_MB = 4096  # stored and verified files are read back whatever the upload limit is now


@dataclass(frozen=True)
class DataFile:
    """A dataset's content, read and checked, not yet kept anywhere."""

    content: bytes
    name: str  # the file's name, for messages
    suffix: str  # .csv or .parquet
    sha256: str
    frame: pd.DataFrame

    @property
    def schema(self) -> dict[str, str]:
        return {str(c): str(t) for c, t in self.frame.dtypes.items()}


def read_upload(content: bytes, *, name: str, max_mb: int) -> DataFile:
    """An uploaded or local file's content as a DataFile, or InvalidInput saying what is wrong."""
    frame = read_table_bytes(content, name=name, max_mb=max_mb)
    return DataFile(content, name, Path(name).suffix.lower(), hashlib.sha256(content).hexdigest(), frame)


def local_path(uri: str) -> Path:
    """The local file a URI names (a path or ``file://``), or InvalidInput saying Steward cannot read it."""
    text = uri.strip()
    if not text:
        raise InvalidInput("no file or URI given.")
    parsed = urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"cannot read '{text}': file:// URIs must name a file on this machine.")
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise InvalidInput(
            f"cannot read '{text}': Steward reads local paths and file:// URIs, not {parsed.scheme}:// "
            "locations. Download the file and register it with --file, or record the location only "
            "with --location-only (drift and SHAP cannot use it then)."
        )
    return Path(text)


def read_location(uri: str, *, max_mb: int) -> DataFile:
    """Read the file a local path or ``file://`` URI names, with the checks of ``read_upload``."""
    path = local_path(uri)
    if not path.exists():
        raise InvalidInput(f"cannot read '{uri}': no such file.")
    if not path.is_file():
        raise InvalidInput(f"cannot read '{uri}': it is not a file.")
    if Path(path.name).suffix.lower() not in SUFFIXES:
        raise InvalidInput(
            f"'{path.name}' is not a .csv or .parquet file; Steward reads .csv and .parquet files."
        )
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise InvalidInput(
            f"'{path.name}' is {size / 1024 / 1024:.1f} MB; the limit is {max_mb} MB "
            "(STEWARD_UPLOAD_MAX_MB). Split the file or raise the limit."
        )
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read '{uri}': {exc.strerror or exc}.") from None
    return read_upload(content, name=path.name, max_mb=max_mb)


def store_uri(data: DataFile) -> str:
    """Where ``data`` lives in the artifact store (relative to it): named by its sha256."""
    return f"{STORE_FOLDER}/{data.sha256[:2]}/{data.sha256}{data.suffix}"


def keep_in_store(data: DataFile) -> tuple[str, bool]:
    """Write ``data`` into the store (once per content). Returns (uri, whether the file is new)."""
    uri = store_uri(data)
    target = artifacts.resolve(uri)
    if target.is_file() and artifacts.sha256_of(target) == data.sha256:
        return uri, False
    target.parent.mkdir(parents=True, exist_ok=True)
    # A partial name of its own, so two registrations of the same content never write into one
    # another's copy; each then atomically renames identical content onto the target.
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    partial.write_bytes(data.content)
    partial.replace(target)
    return uri, True


def register(
    session: Session,
    *,
    actor: Actor,
    name: str,
    version: str,
    data: DataFile,
    role: str = "",
    expected_sha256: str = "",
    expected_rows: int | None = None,
    external_uri: str = "",
    version_id: int | None = None,
) -> tuple[int, bool]:
    """Register ``data`` as dataset ``name`` ``version``, kept in the store (or, with
    ``external_uri``, recorded where it is), and link it to ``version_id`` in ``role``.

    Every check comes before anything is written: a hash that differs from ``expected_sha256``,
    a row count that differs from ``expected_rows``, an unknown role, a version that already names
    other training or evaluation data, a name and version already taken. The file is written last,
    after the rows (so a refusal leaves no file); returns (dataset id, whether a new file was
    written to the store), so a caller whose transaction then fails can remove it."""
    role = clean_choice(role, "dataset role", ("", *ROLES)) if role else ""
    if expected_sha256 and clean_sha256(expected_sha256, "--sha256") != data.sha256:
        raise IntegrityViolation(
            f"'{data.name}' has sha256 {data.sha256[:12]}…, not the {expected_sha256.strip()[:12]}… given; "
            "the file changed or the hash is of another file. Nothing was registered."
        )
    if expected_rows and expected_rows != len(data.frame):
        raise InvalidInput(
            f"'{data.name}' has {len(data.frame):,} data rows, not the {expected_rows:,} given."
        )
    if version_id is not None:
        if not role:
            raise InvalidInput("say which role the dataset has for the version (--role).")
        _check_link(session, version_id, role, None)
    uri = external_uri.strip() if external_uri else store_uri(data)
    dataset_id = services.create_dataset(
        session,
        actor=actor,
        name=name,
        version=version,
        content_hash=data.sha256,
        row_count=len(data.frame),
        data_schema=data.schema,
        uri=uri,
        role=role,
        storage="external" if external_uri else "store",
    )
    if version_id is not None:
        link_dataset(session, actor=actor, version_id=version_id, dataset_id=dataset_id, role=role)
    written = False
    if not external_uri:
        _, written = keep_in_store(data)
    return dataset_id, written


def link_dataset(session: Session, *, actor: Actor, version_id: int, dataset_id: int, role: str) -> None:
    """Name ``dataset_id`` as the version's training, evaluation, reference or background data.

    Training and evaluation data are set once (the model card and promotion evidence name them):
    naming other data there is refused; the drift reference and SHAP background may be replaced.
    Adds the lineage edge dataset -> version and audits the change."""
    role = clean_choice(role, "dataset role", ROLES)
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    model = session.get(Model, version.model_id)
    assert model is not None
    require(session, actor, "lineage.write", business_unit=model.business_unit)
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"No dataset with id {dataset_id}.")
    before = _check_link(session, version_id, role, dataset_id)
    if before == dataset_id:
        return
    setattr(version, VERSION_COLUMNS[role], dataset_id)
    version.row_version += 1
    session.add(version)
    session.flush()
    services.add_edge(session, "dataset", dataset_id, "model_version", version_id, EDGE_RELATIONS[role])
    audit.record(
        session,
        actor=actor,
        action=events.DATASET_LINKED,
        object_id=version_id,
        model_id=model.id,
        before={"role": role, "dataset_id": before} if before is not None else None,
        after={"role": role, "dataset_id": dataset_id, "dataset": f"{dataset.name} {dataset.version}"},
    )


def _check_link(session: Session, version_id: int, role: str, dataset_id: int | None) -> int | None:
    """The dataset the version has in ``role`` now; Conflict when set-once data would change."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    current = getattr(version, VERSION_COLUMNS[role])
    if role in SET_ONCE and current is not None and current != dataset_id:
        model = session.get(Model, version.model_id)
        held = session.get(Dataset, current)
        raise Conflict(
            f"{model.name if model else 'the model'} v{version.version} already names "
            f"{held.name if held else 'a dataset'} {held.version if held else ''} as its {ROLE_LABELS[role]}; "
            "that is part of its model card and promotion evidence. Register a new version instead."
        )
    return current


def dataset_for(session: Session, version: ModelVersion, role: str) -> Dataset | None:
    """The version's dataset in ``role``; the drift reference and SHAP background default to the
    training data."""
    dataset_id = getattr(version, VERSION_COLUMNS[role])
    if dataset_id is None and role in ("reference", "background"):
        dataset_id = version.training_dataset_id
    return session.get(Dataset, dataset_id) if dataset_id is not None else None


def verified_path(uri: str, sha256: str, storage: str) -> Path:
    """The file of a dataset, checked against its sha256 (IntegrityViolation when it changed).

    Stored files are found in the artifact store, external ones where they were registered;
    datasets registered before their data was kept (``storage`` '') are looked up in the store."""
    if storage != "external":
        if not sha256:
            return artifacts.resolve(uri)
        return artifacts.verify_artifact(uri, sha256)
    path = local_path(uri)
    if not path.is_file():
        raise NotFound(
            f"Dataset file '{uri}' is no longer there; register it again (steward register-dataset)."
        )
    if sha256:
        actual = artifacts.sha256_of(path)
        if actual != sha256:
            raise IntegrityViolation(
                f"Dataset file '{uri}' was changed after registration: sha256 {actual[:12]}… does not match "
                f"the registry's {sha256[:12]}…. It will not be read."
            )
    return path


def read_dataset(dataset: Dataset, *, max_mb: int = READ_MAX_MB) -> pd.DataFrame:
    """The dataset's rows, read from where it is kept after its sha256 matched."""
    if not dataset.uri:
        raise NotFound(f"Dataset '{dataset.name}' v{dataset.version} has no file (its uri is empty).")
    path = verified_path(dataset.uri, dataset.content_hash, dataset.storage)
    return read_table_bytes(_read(path, dataset), name=path.name, max_mb=max_mb)


def _read(path: Path, dataset: Dataset) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read dataset '{dataset.name}' v{dataset.version} at '{dataset.uri}': {exc.strerror or exc}."
        ) from None


def datasets_of_version(session: Session, version_id: int) -> dict[str, Dataset | None]:
    """role -> the dataset the version uses in it (reference and background fall back to training)."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"No model version with id {version_id}.")
    return {role: dataset_for(session, version, role) for role in ROLES}


def find(session: Session, name: str, version: str) -> Dataset | None:
    return session.exec(
        select(Dataset).where(col(Dataset.name) == name.strip(), col(Dataset.version) == version.strip())
    ).first()


def register_upload(
    session: Session,
    *,
    actor: Actor,
    version_id: int,
    role: str,
    name: str,
    content: bytes,
    filename: str,
    version: str = "",
) -> int:
    """A page upload: the file's data kept in the store as dataset ``name`` (version: the given
    one, else the first 12 hex digits of its sha256) and linked to the version in ``role``.

    Refused whole (nothing written) when the file is not CSV or Parquet, is larger than
    STEWARD_UPLOAD_MAX_MB, cannot be parsed, or the version cannot take it in that role."""
    require(session, actor, "lineage.write")  # asked first, so nobody waits for a refusal
    data = read_upload(content, name=filename, max_mb=get_settings().upload_max_mb)
    dataset_id, _ = register(
        session,
        actor=actor,
        name=name,
        version=version.strip() or data.sha256[:12],
        data=data,
        role=role,
        version_id=version_id,
    )
    return dataset_id
