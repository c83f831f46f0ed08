"""Where the log store is, and how its files are named.

The store is a directory (the default: ``logs`` beside the artifact store) or any URL that
pyarrow or fsspec opens (``s3://bucket/prefix``, ``gs://...``, ``memory://...`` in tests). A
file's path is ``model=<id>/version=<id>/day=<YYYY-MM-DD>/<content hash>.parquet`` under the root;
the registry's manifest (``log_file``) holds it relative to the root, so a store can move.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import fsspec
from pyarrow import fs as pafs

from core.config import get_settings
from core.errors import InvalidInput


@dataclass(frozen=True)
class Store:
    """An opened store: the filesystem, the root inside it, and whether it is a local directory
    (DuckDB then reads the files itself; otherwise through pyarrow's filesystem)."""

    filesystem: pafs.FileSystem
    root: str
    local: bool
    address: str

    def path(self, relative: str) -> str:
        return f"{self.root.rstrip('/')}/{relative}"


def address() -> str:
    """The configured store: ``STEWARD_LOG_STORE``, else ``logs`` beside the artifact store."""
    configured = get_settings().log_store.strip()
    return configured or str(Path(get_settings().artifact_dir).resolve().parent / "logs")


def open_store(where: str | None = None) -> Store:
    """Open the store at ``where`` (default: the configured one), creating a local root."""
    where = where or address()
    if "://" not in where or where.startswith("file://"):
        local = Path(where.removeprefix("file://")).resolve()
        local.mkdir(parents=True, exist_ok=True)
        return Store(pafs.LocalFileSystem(), str(local), True, str(local))
    root: str
    try:
        filesystem, root = pafs.FileSystem.from_uri(where)
    except (ValueError, OSError):  # pyarrow knows no such scheme: fsspec may
        try:
            protocol, _, rest = where.partition("://")
            filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(fsspec.filesystem(protocol)))
            root = rest if protocol != "memory" else "/" + rest.lstrip("/")
        except (ValueError, ImportError) as exc:
            raise InvalidInput(f"STEWARD_LOG_STORE '{where}' cannot be opened: {exc}") from exc
    return Store(filesystem, root, False, where)


def file_path(model_id: int, version_id: int, day: date, name: str) -> str:
    """The path of one file of one version and day, relative to the root."""
    return f"model={model_id}/version={version_id}/day={day.isoformat()}/{name}.parquet"
