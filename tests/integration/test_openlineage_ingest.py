"""`steward lineage ingest` on SQLite and PostgreSQL: OpenLineage run events written by the
openlineage-python client become data sources, datasets and edges; ingesting again changes
nothing; facets Steward does not map are kept; a bad file writes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import attr
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import DatasetFacet, schema_dataset
from openlineage.client.serde import Serde
from sqlalchemy import Engine, func, select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session
from core.db.models import AuditEvent, Dataset, DataSource, LineageEdge, LineageEvent
from tests.cli_auth import TokenRunner
from tests.factories import World, make_world

runner = TokenRunner()
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/airflow"
RUN_ID = "0195d9a0-7b7e-7c2e-9a55-1b8a3e0f0c01"


@attr.define
class RowCountFacet(DatasetFacet):
    """A producer's own facet, which Steward does not know."""

    rowCount: int = 0  # noqa: N815 (OpenLineage's own field style)


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def world(registry: Engine) -> World:
    return make_world(registry)


def _schema(*names: str) -> schema_dataset.SchemaDatasetFacet:
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type="numeric") for n in names]
    )


def events_file(tmp_path: Path) -> Path:
    """A START and a COMPLETE event of one Airflow run, and a dbt run reading its output."""
    applications = InputDataset(
        namespace="postgres://core-banking:5432",
        name="public.applications",
        facets={"schema": _schema("income", "age"), "rowCount": RowCountFacet(rowCount=4000)},
    )
    features = OutputDataset(
        namespace="s3://features",
        name="credit/applications_features.parquet",
        facets={"schema": _schema("income", "age", "debt_ratio")},
    )
    lines = [
        RunEvent(
            eventType=state,
            eventTime=f"2026-11-30T02:0{i}:00+00:00",
            run=Run(runId=RUN_ID),
            job=Job(namespace="airflow", name="build_credit_features"),
            producer=PRODUCER,
            inputs=[applications],
            outputs=[features],
        )
        for i, state in enumerate((RunState.START, RunState.COMPLETE))
    ]
    lines.append(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime="2026-11-30T03:00:00+00:00",
            run=Run(runId="0195d9a0-7b7e-7c2e-9a55-1b8a3e0f0c02"),
            job=Job(namespace="dbt", name="training_snapshot"),
            producer=PRODUCER,
            inputs=[InputDataset(namespace="s3://features", name="credit/applications_features.parquet")],
            outputs=[OutputDataset(namespace="s3://features", name="credit/training_snapshot.parquet")],
        )
    )
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(Serde.to_json(e) for e in lines) + "\n", encoding="utf-8")
    return path


def _counts(engine: Engine) -> dict[str, int]:
    with read_session(engine) as s:
        return {
            t.__name__: int(s.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (DataSource, Dataset, LineageEdge, LineageEvent, AuditEvent)
        }


def ingest(path: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["lineage", "ingest", str(path), "--as", "owner@example.com", *args])


def test_run_events_become_sources_datasets_and_edges_once(
    registry: Engine, world: World, tmp_path: Path
) -> None:
    path = events_file(tmp_path)
    runner.ready("owner@example.com")
    before = _counts(registry)
    first = ingest(path, "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["events"] == 3 and report["events_new"] == 3 and report["edges_created"] == 2
    assert sorted(report["sources_created"]) == ["postgres://core-banking:5432", "s3://features"]
    assert report["jobs"] == ["airflow/build_credit_features", "dbt/training_snapshot"]
    with read_session(registry) as s:
        sources = {d.name: d.kind for d in s.execute(select(DataSource)).scalars()}
        assert sources == {"postgres://core-banking:5432": "database", "s3://features": "file"}
        datasets = {d.name: d for d in s.execute(select(Dataset)).scalars()}
        applications = datasets["postgres://core-banking:5432/public.applications"]
        assert applications.data_schema == {"income": "numeric", "age": "numeric"}
        assert applications.version == "openlineage"
        edges = {
            (e.src_type, e.src_id, e.dst_type, e.dst_id, e.relation)
            for e in s.execute(select(LineageEdge)).scalars()
        }
        features = datasets["s3://features/credit/applications_features.parquet"]
        snapshot = datasets["s3://features/credit/training_snapshot.parquet"]
        assert ("dataset", applications.id, "dataset", features.id, "build_credit_features") in edges
        assert ("dataset", features.id, "dataset", snapshot.id, "training_snapshot") in edges
        # The producer's own facet is kept, as it came.
        kept = s.execute(select(LineageEvent).order_by(LineageEvent.id)).scalars().all()
        assert [k.event_type for k in kept] == ["START", "COMPLETE", "COMPLETE"]
        facet = kept[0].payload["inputs"][0]["facets"]["rowCount"]
        assert facet["rowCount"] == 4000 and facet["_producer"]
    after = _counts(registry)
    assert after["LineageEvent"] == before["LineageEvent"] + 3
    assert after["AuditEvent"] > before["AuditEvent"]

    again = ingest(path)
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.stdout
    assert _counts(registry) == after

    with read_session(registry) as s:
        downstream = runner.invoke(app, ["lineage", "--downstream", "postgres://core-banking:5432", "--all"])
    assert downstream.exit_code == 0, downstream.output
    assert "training_snapshot" in downstream.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "line 2 is not JSON"),
        ('{"eventType": "COMPLETE", "run": {"runId": "r"}}', "line 2 is not an OpenLineage run event"),
        ('{"dataset": {"namespace": "a", "name": "b"}}', "line 2 is a dataset event"),
        (
            '{"eventType": "COMPLETE", "eventTime": "yesterday", "run": {"runId": "r"}, '
            '"job": {"namespace": "a", "name": "b"}}',
            "line 2: eventTime 'yesterday' is not an ISO 8601 timestamp",
        ),
        (
            '{"run": {"runId": "r"}, "job": {"namespace": "a", "name": "b"}, "inputs": [{"name": "x"}]}',
            "line 2: inputs item 1 needs a namespace and a name",
        ),
    ],
)
def test_a_bad_line_refuses_the_whole_file(
    registry: Engine, world: World, tmp_path: Path, content: str, message: str
) -> None:
    good = events_file(tmp_path).read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + content + "\n", encoding="utf-8")
    runner.ready("owner@example.com")
    before = _counts(registry)
    result = ingest(path)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert _counts(registry) == before


def test_a_viewer_may_not_ingest(registry: Engine, world: World, tmp_path: Path) -> None:
    path = events_file(tmp_path)
    runner.ready("viewer@example.com")
    before = _counts(registry)
    result = runner.invoke(app, ["lineage", "ingest", str(path), "--as", "viewer@example.com"])
    assert result.exit_code == 1 and "may not lineage write" in result.stderr, result.output
    assert _counts(registry) == before
