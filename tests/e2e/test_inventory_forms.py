"""The inventory forms in a real browser: a model owner fills a model's details and card, names an
owner and links a data source to the training data; an admin marks someone as left and hands
their roles over. Each step is checked in the registry and kept as a screenshot
(tests/e2e/screenshots/forms-*.png)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import Dataset, Model, ModelCardRevision, Ownership, Person
from core.registry import services
from tests.e2e.app_driver import check, choose, open_app, rerun, settle
from tests.e2e.conftest import DemoRegistry, _require_browser, _serve
from tests.inventory_factories import make_portfolio

OWNER = "olivia@example.com"


@pytest.fixture
def forms_app(sqlite_template, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The small inventory portfolio (four models, owners, one who left) plus a training dataset
    without a source, served by its own `streamlit run`. Yields (base URL, registry URL)."""
    _require_browser()
    shutil.copyfile(sqlite_template, tmp_path / "steward.db")
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    engine = make_engine(url)
    try:
        portfolio = make_portfolio(engine)
        with write_session(engine) as s:
            services.create_dataset(s, actor=portfolio.world.owner, name="applications", version="2024-06")
    finally:
        engine.dispose()
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": url,
        "STEWARD_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "STEWARD_REPORT_DIR": str(tmp_path / "reports"),
        "STEWARD_AUTH_MODE": "local",
    }
    with _serve(DemoRegistry(url=url, artifact_dir=tmp_path / "artifacts", env=env), tmp_path) as base_url:
        yield base_url, url


def _model_id(url: str, name: str) -> int:
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            return int(s.exec(select(Model.id).where(Model.name == name)).one())
    finally:
        engine.dispose()


def _read(url: str, fn):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    try:
        with read_session(engine) as s:
            return fn(s)
    finally:
        engine.dispose()


def test_owner_fills_details_card_owners_and_lineage(forms_app, page):
    base, url = forms_app
    model = _model_id(url, "Churn propensity")

    open_app(page, base, "model", model=str(model), form="details", **{"as": "owner@example.com"})
    check(page, "forms-model-details")
    page.get_by_role("textbox", name="Business KPI").fill("Monthly churn rate of retail customers")
    page.get_by_label("Why (kept in the audit log)").fill("quarterly review")
    rerun(page, page.get_by_role("button", name="Save details").click)
    expect(page.get_by_text("Details of Churn propensity saved.")).to_be_visible()
    settle(page)
    assert _read(url, lambda s: s.get(Model, model).kpi) == "Monthly churn rate of retail customers"

    open_app(page, base, "model", model=str(model), form="card", **{"as": "owner@example.com"})
    page.get_by_label("Limitations").fill("Not validated for business customers.")
    page.get_by_label("Why this revision").fill("validation findings")
    check(page, "forms-model-card")
    rerun(page, page.get_by_role("button", name="Save as a new revision").click)
    expect(page.get_by_text("revision 2 saved")).to_be_visible()
    settle(page)
    assert _read(url, lambda s: len(s.exec(select(ModelCardRevision)).all())) > 1

    open_app(page, base, "owners", model=str(model), form="owners", **{"as": "owner@example.com"})
    check(page, "forms-owners-open")
    form = page.get_by_test_id("stForm").filter(has_text="Name owner")
    choose(page, form.get_by_role("combobox", name="Role"), "Backup", in_form=True)
    choose(page, form.get_by_role("combobox", name="Person"), "Pia Backup (pia@example.com)", in_form=True)
    form.get_by_label("Why").fill("covers Tom's holidays")
    check(page, "forms-owners-name")
    rerun(page, form.get_by_role("button", name="Name owner").click)
    expect(page.get_by_text("Pia Backup named backup.")).to_be_visible()
    settle(page)
    check(page, "forms-owners-after")
    pia = _read(url, lambda s: s.exec(select(Person).where(Person.email == "pia@example.com")).one().id)
    assert _read(url, lambda s: s.exec(select(Ownership).where(Ownership.model_id == model, Ownership.person_id == pia, Ownership.role == "backup")).first()) is not None  # fmt: skip

    open_app(page, base, "lineage", form="source", **{"as": "owner@example.com"})
    page.get_by_label("Name").first.fill("CRM warehouse")
    check(page, "forms-lineage-source")
    rerun(page, page.get_by_role("button", name="Add data source").click)
    expect(page.get_by_text("Data source CRM warehouse added.")).to_be_visible()
    settle(page)
    open_app(page, base, "lineage", form="link", **{"as": "owner@example.com"})
    form = page.get_by_test_id("stForm").filter(has_text="Relation")
    choose(page, form.get_by_role("combobox", name="From"), "CRM warehouse (database)", in_form=True)
    choose(page, form.get_by_role("combobox", name="To"), "applications 2024-06", in_form=True)
    check(page, "forms-lineage-link")
    rerun(page, form.get_by_role("button", name="Link").click)
    expect(page.get_by_text("Linked CRM warehouse (database) → applications 2024-06.")).to_be_visible()
    settle(page)
    check(page, "forms-lineage-linked")
    source = _read(
        url, lambda s: s.exec(select(Dataset).where(Dataset.name == "applications")).one().data_source_id
    )
    assert source is not None


def test_admin_marks_someone_left_and_hands_over(forms_app, page):
    base, url = forms_app
    open_app(page, base, "owners", form="left", **{"as": "admin@example.com"})
    choose(page, page.get_by_role("combobox", name="Who left"), "Bianca Business (bianca@example.com)")
    form = page.get_by_test_id("stForm").filter(has_text="Hand their roles to")
    choose(
        page,
        form.get_by_role("combobox", name="Hand their roles to"),
        "Pia Backup (pia@example.com)",
        in_form=True,
    )
    form.get_by_label("Why (kept with the hand-over)").fill("moved to Treasury")
    check(page, "forms-people-left")
    rerun(page, form.get_by_role("button", name="Mark as left").click)
    expect(page.get_by_text("Bianca Business marked as left")).to_be_visible()
    settle(page)
    check(page, "forms-people-after")
    bianca = _read(url, lambda s: s.exec(select(Person).where(Person.email == "bianca@example.com")).one())
    assert not bianca.active
    assert _read(url, lambda s: s.exec(select(Ownership).where(Ownership.person_id == bianca.id)).all()) == []
