"""`steward apply FILE` (governance as code), on SQLite and PostgreSQL: the file's facts are made
through the same services as the forms, as the token's person; applying it again writes nothing;
a changed file writes exactly the change; a bad file names the key and line and writes nothing;
and the end state equals the one the individual commands reach."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sqlalchemy import Engine, func
from sqlmodel import select

from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.db.models import (
    AuditEvent,
    BusinessProcess,
    Dataset,
    DataSource,
    Deployment,
    Feature,
    LineageEdge,
    Model,
    ModelCardRevision,
    ModelVersion,
    Ownership,
    OwnershipPeriod,
    Person,
)
from core.registry import services
from core.registry.apply_schema import json_schema, load_text, schema_text
from tests.cli_auth import TokenRunner
from tests.conftest import _drop_pg, _fresh_pg
from tests.factories import make_model, make_world

runner = TokenRunner()
OWNER = "owner@example.com"
REPO = Path(__file__).resolve().parents[2]

GOVERNANCE = """\
reason: Quarterly governance review
model:
  name: Credit scoring
  business_unit: Credit risk
  purpose: Score loan applications for default risk.
  intended_use: Retail loan applications up to EUR 50k.
  out_of_scope_uses: Corporate lending; employment decisions.
  kpi: default rate
  methodology: gradient boosted trees
  status: validation
  business_process: Loan approval
  metric_thresholds:
    roc_auc: {min: 0.7}
owners:
  business_owner: {person: owner@example.com, since: 2025-01-06}
  technical_owner: {person: tom@example.com, since: 2025-01-06, reason: Built it}
  validator:
    - person: uma@example.com
  backup:
    - person: admin@example.com
business_processes:
  - name: Loan approval
    business_unit: Credit risk
    kpi: approval rate
    kpi_unit: "%"
data_sources:
  - name: Core banking
    kind: database
    location: db://core
    owner_team: IT core
datasets:
  - name: applications
    version: "2024-06"
    file: applications.csv
    role: training
    source: Core banking
    features:
      - {name: income, dtype: float}
      - {name: age, dtype: int}
  - name: applications-eval
    version: "2024-07"
    uri: s3://bank/applications/2024-07.parquet
    rows: 5000
    role: evaluation
versions:
  - version: 1
    card:
      training_data: Loan applications 2021-2023.
      limitations: Not validated for applicants under 21.
    datasets:
      training: applications@2024-06
      evaluation: applications-eval@2024-07
deployments:
  - version: 1
    environment: production
    endpoint: https://scoring.bank.example/v1
    business_process: Loan approval
    since: 2025-02-03
lineage:
  - from: feature:income@applications@2024-06
    to: model_version:Credit scoring@1
    relation: input to
"""


@pytest.fixture
def registry(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("STEWARD_DATABASE_URL", db_url)
    reset_settings_cache()
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _prepare(engine: Engine) -> None:
    """People, and the model with its first version as its pipeline registered it."""
    world = make_world(engine)
    with write_session(engine) as s:
        for name, email in (("Tom Tech", "tom@example.com"), ("Uma Valid", "uma@example.com")):
            services.create_person(s, actor=world.admin, name=name, email=email)
    make_model(engine, world.owner)
    for email in (OWNER, "viewer@example.com"):
        runner.ready(email)  # tokens minted before the tests count audit events


@pytest.fixture
def prepared(registry: Engine) -> Engine:
    _prepare(registry)
    return registry


def _files(folder: Path, text: str = GOVERNANCE) -> Path:
    (folder / "applications.csv").write_text("income,age,default\n52000.5,34,0\n31000.0,51,1\n")
    path = folder / "governance.yaml"
    path.write_text(text)
    return path


def steward(*args: Any):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def _events(engine: Engine) -> int:
    with read_session(engine) as s:
        return s.exec(select(func.count()).select_from(AuditEvent)).one()


def _state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table apply writes, with ids replaced by natural names, sorted: comparable across registries."""
    with read_session(engine) as s:
        models = {m.id: m for m in s.exec(select(Model)).all()}
        versions = {v.id: v for v in s.exec(select(ModelVersion)).all()}
        people = {p.id: p.email for p in s.exec(select(Person)).all()}
        processes = {p.id: p for p in s.exec(select(BusinessProcess)).all()}
        sources = {d.id: d for d in s.exec(select(DataSource)).all()}
        data = {d.id: d for d in s.exec(select(Dataset)).all()}
        features = {f.id: f for f in s.exec(select(Feature)).all()}
        deployments = {d.id: d for d in s.exec(select(Deployment)).all()}

        def vref(vid: int | None) -> str | None:
            return None if vid is None else f"{models[versions[vid].model_id].name}@{versions[vid].version}"

        def dref(did: int | None) -> str | None:
            return None if did is None else f"{data[did].name}@{data[did].version}"

        def pname(pid: int | None) -> str | None:
            return None if pid is None else processes[pid].name

        def node(kind: str, nid: int) -> str:
            names = {
                "data_source": lambda: sources[nid].name,
                "dataset": lambda: dref(nid),
                "feature": lambda: f"{features[nid].name}@{dref(features[nid].dataset_id)}",
                "model_version": lambda: vref(nid),
                "deployment": lambda: (
                    f"{vref(deployments[nid].model_version_id)}/{deployments[nid].environment}"
                ),
                "business_process": lambda: pname(nid),
            }
            return f"{kind}:{names[kind]()}"

        return {
            "models": sorted(
                (
                    m.name,
                    m.business_unit,
                    m.purpose,
                    m.intended_use,
                    m.out_of_scope_uses,
                    m.kpi,
                    m.methodology,
                    m.target,
                    m.status,
                    pname(m.business_process_id),
                    json.dumps(m.metric_thresholds, sort_keys=True),
                    m.vendor_name,
                    m.is_vendor,
                )
                for m in models.values()
            ),
            "owners": sorted(
                (models[o.model_id].name, people[o.person_id], o.role, o.since.isoformat()[:10], o.reason)
                for o in s.exec(select(Ownership)).all()
            ),
            "former owners": sorted(
                (models[o.model_id].name, people[o.person_id], o.role, o.until.date().isoformat())
                for o in s.exec(select(OwnershipPeriod)).all()
            ),
            "card revisions": sorted(
                (
                    vref(r.model_version_id),
                    r.revision,
                    json.dumps(r.sections, sort_keys=True),
                    people[r.created_by_id],
                    r.reason,
                )
                for r in s.exec(select(ModelCardRevision)).all()
            ),
            "version data": sorted(
                (
                    vref(v.id),
                    dref(v.training_dataset_id),
                    dref(v.evaluation_dataset_id),
                    dref(v.reference_dataset_id),
                    dref(v.background_dataset_id),
                    v.row_version,
                )
                for v in versions.values()
            ),
            "datasets": sorted(
                (
                    d.name,
                    d.version,
                    d.uri,
                    d.content_hash,
                    d.row_count,
                    d.role,
                    d.storage,
                    sources[d.data_source_id].name if d.data_source_id else None,
                    json.dumps(d.data_schema, sort_keys=True),
                )
                for d in data.values()
            ),
            "sources": sorted(
                (d.name, d.kind, d.location, d.owner_team, d.description) for d in sources.values()
            ),
            "features": sorted(
                (dref(f.dataset_id), f.name, f.dtype, f.description) for f in features.values()
            ),
            "processes": sorted(
                (p.name, p.business_unit, p.description, p.kpi, p.kpi_unit) for p in processes.values()
            ),
            "deployments": sorted(
                (
                    vref(d.model_version_id),
                    d.environment,
                    d.endpoint,
                    pname(d.business_process_id),
                    d.since.isoformat()[:10],
                    d.until.isoformat()[:10] if d.until else None,
                )
                for d in deployments.values()
            ),
            "lineage edges": sorted(
                (node(e.src_type, e.src_id), node(e.dst_type, e.dst_id), e.relation)
                for e in s.exec(select(LineageEdge)).all()
            ),
        }


# --- first apply, second apply, changed file, dry run -----------------------------------------------


def test_apply_creates_the_facts_then_changes_nothing(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path)
    before = _events(prepared)
    done = steward("apply", path, "--as", OWNER)
    assert done.exit_code == 0, done.output
    assert "Applied" in done.output and "+ create business process 'Loan approval'" in done.output
    written = _events(prepared) - before
    assert written > 0
    state = _state(prepared)
    assert state["models"][0][2:9] == (
        "Score loan applications for default risk.",
        "Retail loan applications up to EUR 50k.",
        "Corporate lending; employment decisions.",
        "default rate",
        "gradient boosted trees",
        "",
        "validation",
    )
    assert state["owners"] == [
        (
            "Credit scoring",
            "admin@example.com",
            "backup",
            state["owners"][0][3],
            "Quarterly governance review",
        ),
        ("Credit scoring", OWNER, "business_owner", "2025-01-06", "Quarterly governance review"),
        ("Credit scoring", "tom@example.com", "technical_owner", "2025-01-06", "Built it"),
        (
            "Credit scoring",
            "uma@example.com",
            "validator",
            state["owners"][3][3],
            "Quarterly governance review",
        ),
    ]
    assert [r[1] for r in state["card revisions"]] == [1, 2]
    assert state["version data"][0][1:3] == ("applications@2024-06", "applications-eval@2024-07")
    assert state["datasets"][0][-2] == "Core banking"
    assert [f[1] for f in state["features"]] == ["age", "income"]
    assert state["deployments"] == [
        (
            "Credit scoring@1",
            "production",
            "https://scoring.bank.example/v1",
            "Loan approval",
            "2025-02-03",
            None,
        )
    ]
    assert (
        "feature:income@applications@2024-06",
        "model_version:Credit scoring@1",
        "input to",
    ) in state["lineage edges"]

    again = steward("apply", path, "--as", OWNER)
    assert again.exit_code == 0, again.output
    assert "nothing to change" in again.output
    assert _events(prepared) - before == written  # the second run wrote no audit event
    assert _state(prepared) == state


def test_changed_file_writes_exactly_the_change(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path)
    assert steward("apply", path, "--as", OWNER).exit_code == 0
    state = _state(prepared)
    before = _events(prepared)
    changed = (
        GOVERNANCE.replace("kpi: default rate", "kpi: loss rate")
        .replace("    - person: admin@example.com\n", "    - person: tom@example.com\n")
        .replace("limitations: Not validated", "limitations: Never validated")
    )
    path.write_text(changed)
    dry = steward("apply", path, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] is True
    assert [(c["action"], c["key"]) for c in planned["changes"]] == [
        ("update", "model"),
        ("assign", "owners.backup[0]"),
        ("remove", "owners.backup"),
        ("revise", "versions[0].card"),
    ]
    assert planned["changes"][0]["details"] == ["kpi: 'default rate' -> 'loss rate'"]
    assert _events(prepared) == before and _state(prepared) == state  # the dry run wrote nothing

    done = steward("apply", path, "--as", OWNER, "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["applied"] == 4
    assert _events(prepared) - before == 4  # one audited change each
    after = _state(prepared)
    assert after["models"][0][5] == "loss rate"
    assert {o[1] for o in after["owners"] if o[2] == "backup"} == {"tom@example.com"}
    assert [o[:3] for o in after["former owners"]] == [("Credit scoring", "admin@example.com", "backup")]
    assert [r[1] for r in after["card revisions"]] == [1, 2, 3]
    for table in ("datasets", "sources", "features", "processes", "deployments", "lineage edges"):
        assert after[table] == state[table], table


def test_dry_run_prints_the_diff_and_writes_nothing(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path)
    state, before = _state(prepared), _events(prepared)
    done = steward("apply", path, "--dry-run")
    assert done.exit_code == 0, done.output
    assert "~ update model 'Credit scoring'  (model, line 2)" in done.output
    assert "    purpose: 'Score applications' -> 'Score loan applications for default risk.'" in done.output
    assert "+ create dataset applications@2024-06  (datasets[0], line 32)" in done.output
    assert "+ link feature:income@applications@2024-06 -> model_version:Credit scoring@1" in done.output
    assert _events(prepared) == before and _state(prepared) == state
    assert not list(tmp_path.glob("artifacts/**/*.csv"))


def test_apply_creates_a_new_model(prepared: Engine, tmp_path: Path) -> None:
    path = tmp_path / "churn.yaml"
    path.write_text(
        "reason: new model\nmodel:\n  name: Churn\n  business_unit: Retail\n  task: regression\n"
        "  purpose: Predict churn\n  vendor_name: Acme\n  outcome_horizon_days: 30\n"
        "owners:\n  business_owner:\n    person: owner@example.com\n"
    )
    assert steward("apply", path, "--as", OWNER).exit_code == 0
    with read_session(prepared) as s:
        churn = s.exec(select(Model).where(Model.name == "Churn")).one()
        assert (churn.task, churn.is_vendor, churn.outcome_horizon_days) == ("regression", True, 30)
        assert s.exec(select(Ownership).where(Ownership.model_id == churn.id)).one().role == "business_owner"
    before = _events(prepared)
    assert "nothing to change" in steward("apply", path, "--as", OWNER).output
    assert _events(prepared) == before


def test_a_running_deployment_given_an_end_is_ended(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path)
    assert steward("apply", path, "--as", OWNER).exit_code == 0
    path.write_text(GOVERNANCE.replace("since: 2025-02-03", "since: 2025-02-03\n    until: 2025-06-30"))
    before = _events(prepared)
    done = steward("apply", path, "--as", OWNER)
    assert done.exit_code == 0, done.output
    assert "- end deployment of 'Credit scoring' v1 in production" in done.output
    assert _events(prepared) - before == 1
    assert _state(prepared)["deployments"][0][-2:] == ("2025-02-03", "2025-06-30")
    assert "nothing to change" in steward("apply", path, "--as", OWNER).output
    assert _events(prepared) - before == 1


def test_a_recorded_start_of_an_owner_is_not_rewritten(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path)
    assert steward("apply", path, "--as", OWNER).exit_code == 0
    path.write_text(
        GOVERNANCE.replace("tom@example.com, since: 2025-01-06", "tom@example.com, since: 2025-01-07")
    )
    before = _events(prepared)
    done = steward("apply", path, "--as", OWNER)
    assert done.exit_code == 1, done.output
    assert (
        "owners.technical_owner.since (line 16): Tom Tech is technical owner since 2025-01-06" in done.output
    )
    assert _events(prepared) == before


# --- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            ("  kpi: default rate\n", "  kpi: default rate\n  colour: blue\n"),
            "model.colour (line 9): unknown key 'colour'",
        ),
        (
            ("    rows: 5000\n", "    rows: many\n"),
            "datasets[1].rows (line 43): must be a whole number, not 'many'",
        ),
        (
            ("person: uma@example.com", "person: nobody@example.com"),
            "owners.validator[0].person (line 18): no person with email 'nobody@example.com'",
        ),
        (("file: applications.csv", "file: missing.csv"), "datasets[0].file (line 34): cannot read"),
        (
            ("  - version: 1\n    card:", "  - version: 7\n    card:"),
            "versions[0].version (line 46): 'Credit scoring' has no version 7",
        ),
        (
            (
                "    relation: input to\n",
                "    relation: input to\n  - from: dataset:nope@1\n    to: data_source:Core banking\n",
            ),
            "lineage[1].from (line 63): No dataset 'nope'",
        ),
        (("status: validation", "status: [validation]"), "model.status (line 10): must be text"),
        (("  - name: applications\n", "  - name:\n"), "datasets[0].name (line 32): is empty"),
        (
            ("training: applications@2024-06", "training: applications@2099-01"),
            "versions[0].datasets.training (line 51): no dataset applications@2099-01",
        ),
        (("reason: Quarterly governance review\n", ""), "(top) (line 1): 'reason' is missing"),
    ],
)
def test_bad_file_names_key_and_line_and_writes_nothing(
    prepared: Engine, tmp_path: Path, edit: tuple[str, str], match: str
) -> None:
    assert edit[0] in GOVERNANCE
    path = _files(tmp_path, GOVERNANCE.replace(edit[0], edit[1]))
    state, before = _state(prepared), _events(prepared)
    for args in (("--dry-run",), ("--as", OWNER)):
        done = steward("apply", path, *args)
        assert done.exit_code == 1, done.output
        assert done.output.startswith("Error: ") and match in done.output, done.output
        assert "Nothing was applied" in done.output
    assert _events(prepared) == before and _state(prepared) == state


def test_invalid_yaml_names_the_line(prepared: Engine, tmp_path: Path) -> None:
    path = _files(tmp_path, "reason: x\nmodel:\n  name: [unclosed\n")
    done = steward("apply", path, "--dry-run")
    assert done.exit_code == 1 and "not valid YAML at line" in done.output, done.output


def test_refusal_by_a_service_writes_nothing(prepared: Engine, tmp_path: Path) -> None:
    """A viewer may not make the changes: the first refusal names its key and line, nothing is kept."""
    path = _files(tmp_path)
    state, before = _state(prepared), _events(prepared)
    done = steward("apply", path, "--as", "viewer@example.com")
    assert done.exit_code == 1, done.output
    assert "business_processes[0] (line 22)" in done.output and "may not" in done.output, done.output
    assert _events(prepared) == before and _state(prepared) == state
    assert not list(tmp_path.glob("artifacts/**/*.csv"))  # the stored copy went with the transaction
    no_token = runner.invoke(app, ["apply", str(path)])
    assert no_token.exit_code == 1 and "personal access token" in no_token.output


def test_a_later_refusal_undoes_the_earlier_changes(prepared: Engine, tmp_path: Path) -> None:
    """The file is made in one transaction: a refusal by the last service (a link that would close
    a cycle) undoes the changes before it, and the dataset file it kept in the store."""
    cycle = "  - from: model_version:Credit scoring@1\n    to: dataset:applications@2024-06\n"
    path = _files(tmp_path, GOVERNANCE + cycle)
    state, before = _state(prepared), _events(prepared)
    done = steward("apply", path, "--as", OWNER)
    assert done.exit_code == 1, done.output
    assert "lineage[1] (line 63)" in done.output and "close a cycle" in done.output, done.output
    assert _events(prepared) == before and _state(prepared) == state
    assert not list(tmp_path.glob("artifacts/**/*.csv"))


# --- the same end state as the individual commands ------------------------------------------------


@pytest.fixture
def second_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second fresh registry on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "second.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        name, url = _fresh_pg(request.getfixturevalue("pg_template"))
        yield url
        _drop_pg(name)


def _by_commands(csv: Path) -> None:
    reason = "Quarterly governance review"
    model = "Credit scoring"
    commands = [
        ("add-process", "Loan approval", "--unit", "Credit risk", "--kpi", "approval rate", "--kpi-unit", "%"),
        ("add-source", "Core banking", "--kind", "database", "--location", "db://core", "--owner-team", "IT core"),
        ("update-model", model, "--purpose", "Score loan applications for default risk.",
         "--intended-use", "Retail loan applications up to EUR 50k.",
         "--out-of-scope", "Corporate lending; employment decisions.", "--kpi", "default rate",
         "--methodology", "gradient boosted trees", "--status", "validation",
         "--process", "Loan approval", "--reason", reason),
        ("assign-owner", model, "--person", OWNER, "--role", "business_owner", "--since", "2025-01-06",
         "--reason", reason),
        ("assign-owner", model, "--person", "tom@example.com", "--role", "technical_owner",
         "--since", "2025-01-06", "--reason", "Built it"),
        ("assign-owner", model, "--person", "uma@example.com", "--role", "validator", "--reason", reason),
        ("assign-owner", model, "--person", "admin@example.com", "--role", "backup", "--reason", reason),
        ("register-dataset", "applications", "--version", "2024-06", "--file", csv, "--role", "training",
         "--model", model, "--model-version", "1"),
        ("link-lineage", "--from", "data_source:Core banking", "--to", "dataset:applications@2024-06",
         "--relation", "extracts"),
        ("add-feature", "--dataset", "applications@2024-06", "--name", "income", "--dtype", "float"),
        ("add-feature", "--dataset", "applications@2024-06", "--name", "age", "--dtype", "int"),
        ("register-dataset", "applications-eval", "--version", "2024-07", "--uri",
         "s3://bank/applications/2024-07.parquet", "--location-only", "--rows", "5000",
         "--role", "evaluation", "--model", model, "--model-version", "1"),
        ("revise-card", model, "--version", "1", "--training-data", "Loan applications 2021-2023.",
         "--limitations", "Not validated for applicants under 21.", "--reason", reason),
        ("add-deployment", model, "--version", "1", "--environment", "production",
         "--endpoint", "https://scoring.bank.example/v1", "--process", "Loan approval", "--since", "2025-02-03"),
        ("link-lineage", "--from", "feature:income@applications@2024-06",
         "--to", "model_version:Credit scoring@1", "--relation", "input to"),
    ]  # fmt: skip
    for command in commands:
        done = steward(*command, "--as", OWNER)
        assert done.exit_code == 0, (command, done.output)


def test_apply_reaches_the_state_of_the_individual_commands(
    db_url: str, second_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _files(tmp_path)
    states = []
    for url, how in ((db_url, "commands"), (second_url, "apply")):
        monkeypatch.setenv("STEWARD_DATABASE_URL", url)
        reset_settings_cache()
        engine = make_engine(url)
        try:
            _prepare(engine)
            if how == "commands":
                _by_commands(tmp_path / "applications.csv")
            else:
                done = steward("apply", path, "--as", OWNER)
                assert done.exit_code == 0, done.output
            states.append(_state(engine))
        finally:
            engine.dispose()
    by_commands, by_apply = states
    for table in by_commands:
        assert by_apply[table] == by_commands[table], table
    assert by_apply == by_commands


# --- the published schema ---------------------------------------------------------------------------


def test_schema_is_published_and_up_to_date() -> None:
    done = steward("apply", "--schema")
    assert done.exit_code == 0, done.output
    assert json.loads(done.output) == json_schema()
    published = REPO / "docs" / "steward-apply.schema.json"
    assert published.read_text() == schema_text(), (
        "docs/steward-apply.schema.json is stale: regenerate it with "
        "`steward apply --schema > docs/steward-apply.schema.json`"
    )


def test_readme_example_follows_the_schema(tmp_path: Path) -> None:
    """The README's example file passes the loader and JSON Schema validation alike."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("```yaml\n", readme.index("## Governance as code")) + len("```yaml\n")
    example = readme[start : readme.index("```", start)]
    load_text(example, source="README", folder=tmp_path)
    jsonschema.validate(json.loads(json.dumps(yaml.safe_load(example), default=str)), json_schema())


def test_dry_run_with_a_token_rehearses_each_change_as_its_person(prepared: Engine, tmp_path: Path) -> None:
    """With a token the dry run makes every change as that person and rolls it back: a role
    refusal shows before anything is applied, and nothing is written either way."""
    path = _files(tmp_path)
    runner.ready("viewer@example.com")
    runner.ready(OWNER)
    state, before = _state(prepared), _events(prepared)
    refused = steward("apply", path, "--dry-run", "--as", "viewer@example.com")
    assert refused.exit_code == 1, refused.output
    assert "business_processes[0] (line 22)" in refused.output and "may not" in refused.output, refused.output
    allowed = steward("apply", path, "--dry-run", "--as", OWNER, "--json")
    assert allowed.exit_code == 0, allowed.output
    planned = json.loads(allowed.output)
    assert planned["dry_run"] is True and planned["applied"] == 0
    assert planned["roles_checked_as"].endswith(f"({OWNER})") and planned["changes"]
    text = steward("apply", path, "--dry-run", "--as", OWNER)
    assert "every change is allowed; nothing was written" in text.output, text.output
    without = steward("apply", path, "--dry-run")
    assert "Roles were not checked: no personal access token" in without.output
    assert _events(prepared) == before and _state(prepared) == state
    assert not list(tmp_path.glob("artifacts/**/*.csv"))  # files stored by the rehearsal went with it
