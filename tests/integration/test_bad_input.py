"""Every file in the malformed-input corpus, through every file entry point, and bad text
through forms' core services and the CLI: one clear message, nothing written, no traceback."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.backup import row_counts
from core.cli import app
from core.config import reset_settings_cache
from core.db.engine import read_session, write_session
from core.db.models import Model
from core.errors import InvalidInput
from core.registry import services
from core.registry.files import read_table_bytes
from tests.cli_auth import TokenRunner
from tests.corpus.cases import BAD_NAMES, EXPECTED, FILES
from tests.factories import make_model, make_world

runner = TokenRunner()


def test_corpus_is_complete():
    on_disk = {p.name for p in FILES.iterdir()}
    assert on_disk == set(EXPECTED), (
        "regenerate with `python -m tests.corpus.make_corpus` and list every file"
    )
    assert len(on_disk) + len(BAD_NAMES) >= 40


def _registry(engine, monkeypatch):
    world = make_world(engine)
    make_model(engine, world.owner)  # "Credit scoring" v1 with features income, age
    monkeypatch.setenv("STEWARD_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    reset_settings_cache()
    return engine, world


@pytest.fixture
def registry(engine, monkeypatch):
    """On every backend (SQLite, and PostgreSQL when configured)."""
    return _registry(engine, monkeypatch)


@pytest.fixture
def sqlite_registry(sqlite_engine, monkeypatch):
    """File checks happen before any database work, so SQLite is enough for the file corpus."""
    return _registry(sqlite_engine, monkeypatch)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_import_refuses_malformed_file(sqlite_registry, name):
    engine, world = sqlite_registry
    runner.ready(world.owner.email)  # the pipeline's token exists before the command runs
    before = row_counts(engine)
    path = FILES / name
    if name.startswith("costs_"):
        args = ["log-costs", str(path), "--as", world.owner.email]
    else:
        args = [
            "log-predictions",
            "--model",
            "Credit scoring",
            "--version",
            "1",
            str(path),
            "--as",
            world.owner.email,
        ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert re.search(EXPECTED[name], lines[0]), lines[0]
    assert row_counts(engine) == before


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not n.startswith("costs_")))
def test_upload_reader_refuses_or_passes_to_validation(name):
    """Page uploads go through read_table_bytes: a file it accepts must then fail validation."""
    data = (FILES / name).read_bytes()
    try:
        frame = read_table_bytes(data, name=name, max_mb=50)
    except InvalidInput as exc:
        assert str(exc)
        return
    assert len(frame.columns) >= 1  # readable; the schema checks of the entry point refuse it


def test_upload_size_limit_names_the_limit():
    with pytest.raises(InvalidInput, match=r"the limit is 1 MB"):
        read_table_bytes(b"a,b\n" + b"1,2\n" * 600_000, name="big.csv", max_mb=1)


@pytest.mark.parametrize("upload_name", ["../../etc/passwd.csv", "..\\..\\boot.ini.csv", "/etc/shadow.csv"])
def test_upload_names_are_never_paths(upload_name):
    frame = read_table_bytes(b"a,b\n1,2\n", name=upload_name, max_mb=1)
    assert list(frame.columns) == ["a", "b"]  # the name is only used in messages, never opened


@pytest.mark.parametrize("bad", sorted(BAD_NAMES, key=repr))
def test_bad_model_names_through_core_and_cli(registry, bad):
    engine, world = registry
    expected = BAD_NAMES[bad]
    runner.ready(world.owner.email)  # the pipeline's token exists before the command runs
    before = row_counts(engine)
    if expected is None:
        with write_session(engine) as s:
            model_id = services.register_model(s, actor=world.owner, name=bad, business_unit="Credit risk")
        with read_session(engine) as s:
            assert s.get(Model, model_id).name == bad
            assert s.exec(select(Model)).all()  # the table is still there
        return
    with pytest.raises(InvalidInput, match=expected):
        with write_session(engine) as s:
            services.register_model(s, actor=world.owner, name=bad, business_unit="Credit risk")
    if "\x00" not in bad:  # a NUL cannot be passed as a command-line argument
        result = runner.invoke(
            app, ["register-model", bad, "--business-unit", "Credit risk", "--as", world.owner.email]
        )
        assert result.exit_code != 0
        assert "Traceback" not in result.output
    assert row_counts(engine) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("purpose", "x" * 30_000, r"purpose is 30000 characters long; at most 20000"),
        ("intended_use", "nul \x00 inside", r"intended use contains a NUL character"),
    ],
)
def test_bad_free_text_is_refused(registry, field, value, message):
    engine, world = registry
    before = row_counts(engine)
    with pytest.raises(InvalidInput, match=message):
        with write_session(engine) as s:
            services.register_model(
                s, actor=world.owner, name="Text test", business_unit="Credit risk", **{field: value}
            )
    assert row_counts(engine) == before
