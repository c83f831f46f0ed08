"""The app's layers, as the README's architecture section draws them: pages render and hand
writes to panels; components only draw; panels read through app/cache.py and write through
app/actions.py; nothing but actions and sign-in opens a write transaction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "pages").glob("*.py"))
COMPONENTS = sorted((ROOT / "app" / "components").glob("*.py"))
PANELS = sorted((ROOT / "app" / "panels").glob("*.py"))


def _imports(path: Path) -> set[str]:
    """Every module (and ``module.name``) the file imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _offending(path: Path, banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in _imports(path) if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_neither_touch_the_database_nor_read_a_clock(page: Path) -> None:
    banned = ("core.db", "core.clock", "app.actions", "datetime.date.today", "datetime.datetime.now")
    assert not _offending(page, banned)
    text = page.read_text(encoding="utf-8")
    assert "utcnow" not in text and "date.today()" not in text and "datetime.now(" not in text
    assert "write_session" not in text and "cache_data" not in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_stay_short(page: Path) -> None:
    assert len(page.read_text(encoding="utf-8").splitlines()) <= 120


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda p: p.name)
def test_components_only_draw(component: Path) -> None:
    banned = ("app.cache", "app.actions", "app.panels", "app.identity", "app.bootstrap", "core.db")
    assert not _offending(component, banned)


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: p.name)
def test_panels_write_only_through_actions(panel: Path) -> None:
    assert not _offending(panel, ("core.db.engine", "app.bootstrap"))
    assert "write_session" not in panel.read_text(encoding="utf-8")


def test_one_module_opens_write_transactions() -> None:
    writers = [
        p.relative_to(ROOT).as_posix()
        for p in [*PAGES, *(ROOT / "app").rglob("*.py")]
        if "write_session" in p.read_text(encoding="utf-8")
    ]
    assert writers == ["app/actions.py"]


def test_the_cache_depends_on_no_ui_piece() -> None:
    assert not _offending(ROOT / "app" / "cache.py", ("app.components", "app.panels", "app.actions"))
