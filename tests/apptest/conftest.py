"""AppTest fixtures: the app pointed at a real registry file, with Streamlit's caches cleared.

``app(url)`` returns an AppTest of app/main.py reading the registry at ``url``. Registries:
``portfolio_url`` (tests/inventory_factories.py, four models), ``empty_url`` (migrated, no
models) and ``demo_db_url`` (core.demo's portfolio, from tests/conftest.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core.config import reset_settings_cache
from core.db.engine import make_engine
from tests.inventory_factories import Portfolio, make_portfolio

MAIN = Path(__file__).resolve().parents[2] / "app" / "main.py"
TIMEOUT = 60  # seconds; the first run imports pandas, SQLAlchemy and Streamlit's runtime


def _clear_streamlit_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., AppTest]]:
    """Factory: ``app(url, auth_mode="local")`` -> a fresh AppTest (not yet run) on that registry."""

    def make(url: str, *, auth_mode: str = "local") -> AppTest:
        monkeypatch.setenv("STEWARD_DATABASE_URL", url)
        monkeypatch.setenv("STEWARD_AUTH_MODE", auth_mode)
        reset_settings_cache()
        _clear_streamlit_caches()
        return AppTest.from_file(MAIN, default_timeout=TIMEOUT)

    yield make
    _clear_streamlit_caches()
    reset_settings_cache()


@pytest.fixture
def empty_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "empty.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def portfolio_registry(sqlite_template: Path, tmp_path: Path) -> tuple[str, Portfolio]:
    path = tmp_path / "portfolio.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        portfolio = make_portfolio(engine)
    finally:
        engine.dispose()
    return url, portfolio


@pytest.fixture
def portfolio_url(portfolio_registry: tuple[str, Portfolio]) -> str:
    return portfolio_registry[0]


@pytest.fixture
def demo_url(demo_db_url: str) -> str:
    """The demo registry (an alias of ``demo_db_url``, which other page tests use by this name)."""
    return demo_db_url


def rows(at: AppTest, key: str) -> list[str]:
    """Model names shown in the keyed table."""
    table = next(d for d in at.dataframe if d.key == key)
    return table.value["name" if "name" in table.value.columns else "model"].tolist()
