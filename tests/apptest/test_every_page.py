"""Every page of st.navigation (app/navigation.py) opened as every kind of person on the demo
registry: a viewer, a labeller, a model owner, an approver, an admin, and a person who holds no
role. Each page renders without an exception, under its own title, with its own content.

The registry is one copy of the demo per module, only read, so the cached reads stay warm from
one page to the next (they are keyed by the registry's URL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.navigation import every_page
from core.config import reset_settings_cache
from core.db.engine import make_engine, read_session, write_session
from core.demo.catalogue import ANNA, EVA, LISA, NOAH, PRIYA
from core.identity import personas
from core.registry import services
from tests.apptest.conftest import MAIN

NOBODY = "no.role@demo.steward"
PEOPLE = {
    "viewer": NOAH,
    "labeller": LISA,
    "model owner": ANNA,
    "approver": PRIYA,
    "admin": EVA,
    "no role": NOBODY,
}
# A widget each page shows to everyone (its main picker or filter), proof that the page got past
# its empty state; None: the page is a table first (checked below).
PICKER = {
    "inventory.py": "inventory.search",
    "model.py": "model.select",
    "owners.py": "owners.filter.person",
    "drift.py": "drift.model",
    "performance.py": "performance.model",
    "labelling.py": "labelling.review",
    "promotions.py": "promotions.filter.status",
    "audit.py": "audit.filter.model",
    "admin.py": None,
    "risk.py": "risk.filter.unit",
    "meetings.py": "meetings.select",
    "documentation.py": "documentation.model",
    "explanations.py": "explanations.version",
    "lineage.py": "lineage.filter.unit",
    "costs.py": "costs.scope",
}


# What each page says once its content is drawn (a heading, a figure's label, a verdict).
CONTENT = {
    "inventory.py": "Select a row to open the model's page",
    "model.py": "Purpose and use",
    "owners.py": "Knowledge-loss risks",
    "drift.py": "Drifted features",
    "performance.py": "Labelled predictions",
    "labelling.py": "Agreement between labellers",
    "promotions.py": "All requests",
    "audit.py": "Audit chain intact",
    "admin.py": "Role grants",
    "risk.py": "Portfolio risk matrix",
    "meetings.py": "Agenda (",
    "documentation.py": "Documentation pack",
    "explanations.py": "What drives the model overall",  # after one decision explained (or refused)
    "lineage.py": "objects in",
    "costs.py": "Budgets at risk",
}


def _texts(at: AppTest) -> str:
    """Everything the page says in words: headings, text, captions, messages, metric and widget labels."""
    kinds = ("subheader", "header", "markdown", "caption", "success", "info", "warning", "error")
    said = [e.value for kind in kinds for e in at.get(kind)]
    said += [m.label for m in at.metric] + [e.label for e in at.expander]
    said += [w.label for kind in ("selectbox", "multiselect", "radio", "text_input") for w in at.get(kind)]
    return "\n".join(str(t) for t in said)


@pytest.fixture(scope="module")
def registry(demo_template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A copy of the demo with one more person, who holds no role; the app pointed at it."""
    path = tmp_path_factory.mktemp("every_page") / "demo.db"
    shutil.copyfile(demo_template.db, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            admin = next(p.actor for p in personas(session) if p.email == EVA)
        with write_session(engine) as session:
            services.create_person(
                session, actor=admin, name="Nora Nobody", email=NOBODY, team="Finance", roles=[]
            )
    finally:
        engine.dispose()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STEWARD_DATABASE_URL", url)
        mp.setenv("STEWARD_AUTH_MODE", "local")
        reset_settings_cache()
        st.cache_data.clear()
        st.cache_resource.clear()
        yield url
        st.cache_data.clear()
        st.cache_resource.clear()
    reset_settings_cache()


@pytest.fixture(autouse=True)
def _demo_artifacts(demo_template, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's artifact store, for every test (tests/conftest.py gives each test an empty one)."""
    monkeypatch.setenv("STEWARD_ARTIFACT_DIR", str(demo_template.artifact_dir))
    reset_settings_cache()


def test_every_page_is_listed_with_a_content_check() -> None:
    files = [p.file for p in every_page()]
    assert sorted(files) == sorted(PICKER) == sorted(CONTENT), (
        "a page was added or removed: update PICKER, CONTENT"
    )
    assert all((Path(MAIN).parents[1] / "pages" / f).exists() for f in files)


@pytest.mark.parametrize("role", list(PEOPLE))
@pytest.mark.parametrize("page", every_page(), ids=lambda p: p.url_path)
def test_page_renders_for_role(registry: str, page, role: str) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["as"] = PEOPLE[role]
    at.run()
    at.switch_page(f"../pages/{page.file}").run()

    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["steward.actor"].email == PEOPLE[role]
    titles = [t.value for t in at.title]
    assert titles and all(titles), f"{page.file} has no title"
    if page.file != "model.py":  # the Model page is titled with the model's name
        assert titles[0] == {"inventory.py": "Model inventory"}.get(page.file, page.title)
    # The only red boxes the demo calls for: a budget projected to overrun, and concept drift.
    expected = (":material/savings:", ":material/trending_down:")
    assert not [e.value for e in at.error if e.icon not in expected]
    if PICKER[page.file] is None:
        assert at.dataframe, f"{page.file} shows no table"
    else:
        assert PICKER[page.file] in at.session_state, f"{page.file} did not draw {PICKER[page.file]}"
    assert CONTENT[page.file] in _texts(at), f"{page.file} did not draw its content for {role}"
