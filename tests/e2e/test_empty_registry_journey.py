"""From an empty registry to a documented, approved, monitored model, in a real browser (issue 13).

Nothing comes from the demo builder or from a database edit: only what a user has. The operator
runs `steward init` and mints the first token for the system account, adds the first human admin
with it (README, "A fresh install"); from then on everything happens on the pages, as the right
person, except what a pipeline does with its own token: the README example
(docs/examples/train_and_register.py) trains and registers the model, and the pipeline logs
labelled outcomes and costs with `steward`.

The journey is driven up to linking the data source on the Lineage page so far (the rest is listed at
its end). Every step saves a screenshot; the directory is printed (and copied to /tmp/journey-shots).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.app_driver import check, choose, go_to_page, open_app, rerun, settle, shot
from tests.e2e.conftest import REPO, DemoRegistry, FreshApp, _require_browser, _serve

pytestmark = pytest.mark.e2e

STEWARD = str(Path(sys.executable).with_name("steward"))
REVIEW_DIR = Path("/tmp/journey-shots")
MODEL = "Consumer credit default"  # the README example's model
UNIT = "Credit risk"

ADMIN = ("Ada Admin", "ada.admin@bank.example")
OWNER = ("Olivia Owner", "olivia.owner@bank.example")  # accountable business owner, requests
TECH = ("Tomas Tech", "tomas.tech@bank.example")  # technical owner (developer)
VALIDATOR = ("Vera Validator", "vera.validator@bank.example")  # independent validator, approves
PIPELINE = ("Credit pipeline", "credit-pipeline@bank.example")  # the pipeline's service account


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[FreshApp]:
    """A new registry made by `steward init` (no demo), its first admin added with the system
    account's bootstrap token, served by its own `streamlit run`."""
    _require_browser()
    url = f"sqlite:///{tmp_path / 'steward.db'}"
    env = {
        **os.environ,
        "STEWARD_DATABASE_URL": url,
        "STEWARD_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "STEWARD_LOG_STORE": str(tmp_path / "logs"),
        "STEWARD_REPORT_DIR": str(tmp_path / "reports"),
        "STEWARD_AUTH_MODE": "local",
    }
    for key in ("STEWARD_TOKEN", "STEWARD_TOKEN_FILE"):
        env.pop(key, None)
    registry = DemoRegistry(url=url, artifact_dir=tmp_path / "artifacts", env=env)
    system_token = tmp_path / "system.token"
    steward(env, "init")
    steward(
        env,
        "token",
        "bootstrap",
        "--person",
        "system@steward.local",
        "--name",
        "first setup",
        "--out",
        str(system_token),
    )
    steward(
        env,
        "--token-file",
        str(system_token),
        "add-person",
        "--name",
        ADMIN[0],
        "--email",
        ADMIN[1],
        "--role",
        "admin",
    )
    with _serve(registry, tmp_path) as base_url:
        yield FreshApp(url=base_url, registry=registry)


def steward(env: dict[str, str], *args: str) -> str:
    """Run the `steward` command as a user would; fail the test with its output if it fails."""
    done = subprocess.run([STEWARD, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"steward {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Shots:
    """Screenshots of the journey, numbered in order, kept under tmp_path and copied for review."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "journey-shots"
        self.dir.mkdir()
        self.count = 0
        self.last: Page | None = None
        shutil.rmtree(REVIEW_DIR, ignore_errors=True)
        REVIEW_DIR.mkdir(parents=True)
        print(f"\nscreenshots of the empty-registry journey: {self.dir} (copied to {REVIEW_DIR})")

    def __call__(self, page: Page, name: str) -> None:
        self.count += 1
        self.last = page
        taken = check(page, f"empty_{self.count:02d}_{name}")
        for target in (self.dir, REVIEW_DIR):
            shutil.copyfile(taken, target / taken.name)


def as_person(page: Page, url: str, path: str, email: str, **params: str) -> None:
    open_app(page, url, path, **params, **{"as": email})


def form_with(page: Page, text: str):
    """The form showing ``text`` (a text, not a role query: an open list hides the rest of the page
    from role queries)."""
    return page.get_by_test_id("stForm").filter(has_text=text)


def flash(page: Page, text: str) -> None:
    """The success message on top of the page (its text, whatever links Markdown made in it)."""
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text=text).first).to_be_visible()


def submit(page: Page, form, button: str) -> None:
    rerun(page, form.get_by_role("button", name=button).click)
    settle(page)


def add_person(page: Page, name: str, email: str, team: str, role: str, unit: str = "") -> None:
    """Admin page, "Add a person" tab: name, email, team, first role (for one unit or all)."""
    page.get_by_role("tab", name="Add a person").click()
    form = form_with(page, "First role")
    form.get_by_role("textbox", name="Name").fill(name)
    form.get_by_role("textbox", name="Email").fill(email)
    form.get_by_role("textbox", name="Team").fill(team)
    choose(page, form.get_by_role("combobox", name="First role"), re.compile(rf"^{role} —"), in_form=True)
    if unit:
        pick_unit(page, form.get_by_role("combobox", name="For business unit"), unit)
    submit(page, form, "Add person")
    flash(page, f"Added {name}.")


def test_from_an_empty_registry_to_a_documented_monitored_model(
    empty_app: FreshApp, new_page, tmp_path: Path
) -> None:
    shots = Shots(tmp_path)
    try:
        _journey(empty_app, new_page, tmp_path, shots)
    except BaseException:
        if shots.last is not None:  # what the page showed when the journey stopped
            taken = shot(shots.last, "empty_failed")
            shutil.copyfile(taken, REVIEW_DIR / taken.name)
        raise


def _journey(empty_app: FreshApp, new_page, tmp_path: Path, shots: Shots) -> None:
    url, env = empty_app.url, empty_app.registry.env

    # 1. The first admin opens the app on the empty registry and adds the people and their roles.
    admin = new_page()
    as_person(admin, url, "", ADMIN[1])
    shots(admin, "admin_first_look")
    as_person(admin, url, "admin", ADMIN[1])
    expect(admin.get_by_role("heading", name="People and roles")).to_be_visible()
    shots(admin, "admin_page_empty")
    add_person(admin, *OWNER, "Retail lending", "Model owner", UNIT)
    add_person(admin, *TECH, "Credit analytics", "Model owner", UNIT)
    add_person(admin, *VALIDATOR, "Model validation", "Approver")
    shots(admin, "admin_people_added")

    # The pipeline's service account and its token, on the same page (the token is shown once).
    service = admin.get_by_test_id("stExpander").filter(has_text="Add a service account")
    service.get_by_text("Add a service account").click()
    form = form_with(admin, "Add service account")
    form.get_by_role("textbox", name="Name").fill(PIPELINE[0])
    form.get_by_role("textbox", name="Email").fill(PIPELINE[1])
    submit(admin, form, "Add service account")
    flash(admin, "Service account")
    form = form_with(admin, "Create a token")
    choose(
        admin, form.get_by_role("combobox", name="Acts as"), re.compile(re.escape(PIPELINE[0])), in_form=True
    )
    form.get_by_role("textbox", name="What it is for").fill("credit retraining pipeline")
    submit(admin, form, "Create token")
    secret = admin.get_by_test_id("stCode").filter(has_text="stw_").inner_text().strip()
    shots(admin, "admin_pipeline_token")
    pipeline_token = tmp_path / "pipeline.token"
    pipeline_token.write_text(secret + "\n")
    pipeline_token.chmod(0o600)

    # 2. The pipeline (the README example) trains and registers the model with its own token.
    work = tmp_path / "pipeline"
    pipeline_env = {**env, "STEWARD_TOKEN_FILE": str(pipeline_token)}
    pipeline_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / "examples" / "train_and_register.py"), "--workdir", str(work)],
        cwd=REPO,
        env=pipeline_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{MODEL} version 1" in done.stdout, done.stdout

    owner = new_page()
    as_person(owner, url, "", OWNER[1])
    expect(owner.get_by_text("Showing 1 of 1 models")).to_be_visible()
    shots(owner, "owner_inventory_after_pipeline")
    go_to_page(owner, "Documentation")
    expect(owner.get_by_role("heading", name="Documentation", exact=True)).to_be_visible()
    shots(owner, "owner_documentation_before")

    # 3. Where the data comes from and the process the model serves (Lineage page). Data sources
    #    are shared by every unit: a unit's model owner is told an admin records them.
    go_to_page(owner, "Lineage")
    expect(
        owner.get_by_text("Recording lineage (data sources, business processes, links) needs")
    ).to_be_visible()
    owner = admin
    as_person(owner, url, "lineage", ADMIN[1])
    expander(owner, "Add or change a data source")
    form = form_with(owner, "Add data source")
    form.get_by_role("textbox", name="Name").fill("Loan origination system")
    choose(owner, form.get_by_role("combobox", name="Kind"), re.compile("database"), in_form=True)
    form.get_by_role("textbox", name="Owner team").fill("Retail lending IT")
    form.get_by_role("textbox", name="Location").fill("postgresql://los.bank.example/applications")
    form.get_by_role("textbox", name="Description").fill("Every consumer loan application and its outcome")
    submit(owner, form, "Add data source")
    expect(owner.get_by_text("Loan origination system").first).to_be_visible()
    expander(owner, "Add or change a business process")
    form = form_with(owner, "KPI it is steered on")
    form.get_by_role("textbox", name="Name").fill("Consumer lending")
    pick_unit(owner, form.get_by_role("combobox", name="Business unit"), UNIT)
    form.get_by_role("textbox", name="KPI it is steered on").fill("Default rate of approved loans")
    form.get_by_role("textbox", name="KPI unit").fill("%")
    form.get_by_role("textbox", name="Description").fill("Consumer loans up to EUR 50k")
    submit(owner, form, "business process")
    shots(owner, "admin_lineage_source_and_process")
    expect(owner.get_by_text("Consumer lending").first).to_be_visible()
    expander(owner, "Link two objects")
    # (the choice runs the page again, which folds the expander: open it again)
    choose(owner, owner.get_by_role("combobox", name="From (type)"), "Data source")
    expander(owner, "Link two objects")
    to_type = owner.get_by_role("combobox", name="To (type)")
    if to_type.input_value() != "Dataset":
        choose(owner, to_type, "Dataset")
        expander(owner, "Link two objects")
    form = form_with(owner, "Relation")
    choose(
        owner,
        form.get_by_role("combobox", name="From", exact=True),
        re.compile("^Loan origination system"),
        in_form=True,
    )
    choose(
        owner,
        form.get_by_role("combobox", name="To", exact=True),
        re.compile("^loan_applications "),
        in_form=True,
    )
    submit(owner, form, "Link")
    flash(owner, "loan_applications")
    shots(owner, "admin_lineage_linked")
    # Not yet driven from here on (see the report of issue 13's journey): the model details, card,
    # deployment and dataset uploads, owners, risk assessment, four-eyes promotion, labelled outcomes and costs, drift, explanations,
    # performance, costs and the 100% documentation check.


def pick_unit(page: Page, box, unit: str) -> None:
    """Choose ``unit`` in a form's business-unit box that also takes new units (typing the value
    already chosen lists nothing, so only when it is not)."""
    if box.input_value() != unit:
        choose(page, box, re.compile(rf"^(Add: )?{re.escape(unit)}$"), typed=unit, in_form=True)


def expander(page: Page, title: str) -> None:
    """Open the expander whose summary shows ``title`` (opening runs no script)."""
    box = page.get_by_test_id("stExpander").filter(has_text=title).first
    is_open = "e => (e.tagName === 'DETAILS' ? e : e.querySelector('details')).open"
    if not box.evaluate(is_open):
        box.locator("summary").first.click()
    expect(box.locator("summary").first).to_be_visible()
