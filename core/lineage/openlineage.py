"""Lineage from the pipelines that already emit it: OpenLineage run events (JSON lines, as Airflow,
Spark, dbt and Feast write them) mapped onto the registry's lineage.

Mapping (https://openlineage.io/docs/spec/object-model):

- a dataset's ``namespace`` (``postgres://db:5432``, ``s3://bucket``, ``bigquery``) is a **data
  source** (kind from the namespace's scheme, location the namespace, owner team from an
  ``ownership`` facet);
- a dataset (``namespace`` + ``name``) is a **dataset** named ``namespace/name``, version from its
  ``version`` facet (else ``"openlineage"``), columns from its ``schema`` facet, linked to its
  source; a Steward dataset registered with that location as its uri is the same dataset;
- a **job** run reading inputs and writing outputs is an **edge** from every input dataset to
  every output dataset, named after the job;
- every event is kept whole in ``lineage_event`` (keyed by the sha256 of its canonical JSON), so
  facets Steward does not map (data quality, column lineage, a producer's own) are never lost.

Ingesting is idempotent: sources, datasets and edges are found before they are created, and an
event already kept is skipped, so ingesting a file twice changes nothing (and audits nothing).
A line that is not an OpenLineage run or job event refuses the whole file, naming the line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlmodel import Session, col, select

from core import audit, events
from core.access import Actor, require
from core.db.models import Dataset, DataSource, LineageEdge, LineageEvent
from core.db.types import saved_id
from core.errors import InvalidInput
from core.registry import services

DEFAULT_VERSION = "openlineage"
KINDS = {  # a namespace's scheme -> the data source's kind
    "postgres": "database",
    "postgresql": "database",
    "mysql": "database",
    "sqlserver": "database",
    "oracle": "database",
    "snowflake": "database",
    "bigquery": "database",
    "redshift": "database",
    "trino": "database",
    "hive": "database",
    "s3": "file",
    "s3a": "file",
    "gs": "file",
    "abfss": "file",
    "hdfs": "file",
    "file": "file",
    "kafka": "stream",
    "http": "api",
    "https": "api",
}


@dataclass
class IngestReport:
    """What one ingest did (all zero when the file was ingested before)."""

    events: int = 0
    events_new: int = 0
    sources_created: list[str] = field(default_factory=list)
    datasets_created: list[str] = field(default_factory=list)
    edges_created: int = 0
    jobs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.events_new or self.sources_created or self.datasets_created or self.edges_created)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_new": self.events_new,
            "sources_created": self.sources_created,
            "datasets_created": self.datasets_created,
            "edges_created": self.edges_created,
            "jobs": self.jobs,
        }


@dataclass(frozen=True)
class OLDataset:
    namespace: str
    name: str
    facets: dict[str, Any]

    @property
    def qualified(self) -> str:
        return f"{self.namespace.rstrip('/')}/{self.name.lstrip('/')}"


@dataclass(frozen=True)
class OLEvent:
    line: int
    payload: dict[str, Any]
    event_type: str
    event_time: datetime | None
    run_id: str
    job_namespace: str
    job_name: str
    producer: str
    inputs: tuple[OLDataset, ...]
    outputs: tuple[OLDataset, ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(
            json.dumps(self.payload, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

    @property
    def job(self) -> str:
        return f"{self.job_namespace}/{self.job_name}" if self.job_namespace else self.job_name


# --- parsing -------------------------------------------------------------------------------------


def read_events(path: Path, *, max_mb: int) -> list[OLEvent]:
    """Every event of a JSON-lines file (blank lines skipped), or InvalidInput naming the bad line."""
    if not path.is_file():
        raise InvalidInput(f"file '{path}' does not exist or is not a file.")
    size = path.stat().st_size
    if size > max_mb * 1024 * 1024:
        raise InvalidInput(
            f"'{path.name}' is {size / 1024 / 1024:.1f} MB; the limit is {max_mb} MB (STEWARD_UPLOAD_MAX_MB)."
        )
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"'{path.name}' is not UTF-8 text; OpenLineage events are JSON lines.") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read '{path}': {exc.strerror or exc}.") from None
    return parse_lines(text, name=path.name)


def parse_lines(text: str, *, name: str) -> list[OLEvent]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"'{name}' line {number} is not JSON ({exc.msg}, column {exc.colno}); "
                "OpenLineage events are one JSON object per line."
            ) from None
        found.append(parse_event(payload, line=number, name=name))
    if not found:
        raise InvalidInput(f"'{name}' holds no OpenLineage events.")
    return found


def parse_event(payload: Any, *, line: int, name: str) -> OLEvent:
    """One run event (or job event, which has no run) checked for the fields Steward maps."""
    where = f"'{name}' line {line}"
    if not isinstance(payload, dict):
        raise InvalidInput(f"{where} is not a JSON object.")
    job = payload.get("job")
    if not isinstance(job, dict) or not _text(job.get("name")) or not isinstance(job.get("namespace"), str):
        what = "a dataset event" if "dataset" in payload else "not an OpenLineage run event"
        raise InvalidInput(f"{where} is {what}: it needs job.namespace and job.name.")
    run = payload.get("run")
    if run is not None and (not isinstance(run, dict) or not _text(run.get("runId"))):
        raise InvalidInput(f"{where}: run.runId is missing.")
    return OLEvent(
        line=line,
        payload=payload,
        event_type=str(payload.get("eventType") or ("JOB" if run is None else ""))[:20],
        event_time=_time(payload.get("eventTime"), where),
        run_id=str(run.get("runId")) if isinstance(run, dict) else "",
        job_namespace=str(job["namespace"]),
        job_name=str(job["name"]),
        producer=str(payload.get("producer") or "")[:1000],
        inputs=_datasets(payload.get("inputs"), where, "inputs"),
        outputs=_datasets(payload.get("outputs"), where, "outputs"),
    )


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: eventTime must be an ISO 8601 timestamp.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where}: eventTime '{value}' is not an ISO 8601 timestamp.") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _datasets(value: Any, where: str, key: str) -> tuple[OLDataset, ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: {key} must be a list of datasets.")
    found = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, dict) or not _text(item.get("name")) or not _text(item.get("namespace")):
            raise InvalidInput(f"{where}: {key} item {i} needs a namespace and a name.")
        facets: dict[str, Any] = item["facets"] if isinstance(item.get("facets"), dict) else {}
        found.append(OLDataset(str(item["namespace"]).strip(), str(item["name"]).strip(), facets))
    return tuple(found)


# --- mapping -------------------------------------------------------------------------------------


def ingest(session: Session, *, actor: Actor, events_: list[OLEvent], source_name: str = "") -> IngestReport:
    """Map ``events_`` onto data sources, datasets and edges (creating only what is missing) and
    keep each new event whole; one audit event for the ingest when anything changed."""
    require(session, actor, "lineage.write")
    report = IngestReport(events=len(events_))
    datasets: dict[str, int] = {}
    for event in events_:
        ids = {}
        for item in (*event.inputs, *event.outputs):
            if item.qualified not in datasets:
                datasets[item.qualified] = _dataset(session, actor, item, report)
            ids[item.qualified] = datasets[item.qualified]
        for source in event.inputs:
            for target in event.outputs:
                if source.qualified != target.qualified:
                    report.edges_created += _edge(
                        session, ids[source.qualified], ids[target.qualified], event
                    )
        if event.job not in report.jobs:
            report.jobs.append(event.job)
        report.events_new += _keep(session, actor, event)
    if report.changed:
        audit.record(
            session,
            actor=actor,
            action=events.LINEAGE_INGESTED,
            object_id=source_name[:200] or "openlineage",
            after=report.as_dict(),
        )
    return report


def _source(session: Session, actor: Actor, item: OLDataset, report: IngestReport) -> int:
    row = session.exec(select(DataSource).where(col(DataSource.name) == item.namespace[:200])).first()
    if row is not None:
        return saved_id(row)
    scheme = urlparse(item.namespace).scheme or item.namespace.split(":", 1)[0]
    owners = (item.facets.get("ownership") or {}).get("owners") or []
    team = ", ".join(str(o.get("name", "")) for o in owners if isinstance(o, dict))[:200]
    report.sources_created.append(item.namespace)
    return services.create_data_source(
        session,
        actor=actor,
        name=item.namespace[:200],
        kind=KINDS.get(scheme.lower(), "database"),
        location=item.namespace,
        owner_team=team,
        description="From OpenLineage events.",
    )


def _dataset(session: Session, actor: Actor, item: OLDataset, report: IngestReport) -> int:
    version = str((item.facets.get("version") or {}).get("datasetVersion") or DEFAULT_VERSION)[:60]
    name = item.qualified[:200]
    found = (
        session.exec(
            select(Dataset).where(col(Dataset.name) == name, col(Dataset.version) == version)
        ).first()
        or session.exec(
            select(Dataset).where(col(Dataset.uri) == item.qualified).order_by(col(Dataset.id).desc())
        ).first()
    )
    if found is not None:
        return saved_id(found)
    source_id = _source(session, actor, item, report)
    fields = (item.facets.get("schema") or {}).get("fields") or []
    schema = {
        str(f["name"]): str(f.get("type") or "") for f in fields if isinstance(f, dict) and f.get("name")
    }
    report.datasets_created.append(f"{name} {version}")
    return services.create_dataset(
        session,
        actor=actor,
        name=name,
        version=version,
        data_source_id=source_id,
        data_schema=schema,
        uri=item.qualified,
    )


def _edge(session: Session, src: int, dst: int, event: OLEvent) -> int:
    if session.exec(
        select(LineageEdge).where(
            col(LineageEdge.src_type) == "dataset",
            col(LineageEdge.src_id) == src,
            col(LineageEdge.dst_type) == "dataset",
            col(LineageEdge.dst_id) == dst,
        )
    ).first():
        return 0
    services.add_edge(session, "dataset", src, "dataset", dst, event.job_name[:40])
    return 1


def _keep(session: Session, actor: Actor, event: OLEvent) -> int:
    digest = event.digest
    if session.exec(select(LineageEvent).where(col(LineageEvent.event_hash) == digest)).first():
        return 0
    session.add(
        LineageEvent(
            event_hash=digest,
            event_type=event.event_type,
            event_time=event.event_time,
            run_id=event.run_id[:100],
            job_namespace=event.job_namespace[:500],
            job_name=event.job_name[:500],
            producer=event.producer,
            payload=event.payload,
            ingested_by_id=actor.id,
        )
    )
    session.flush()
    return 1
