"""app/cache.py: a write clears exactly the cached reads of the kinds of data it names (and the
audit log, which every write appends to); other readers keep their cached values until their
TTL. Run outside a page (Streamlit caches work without a script run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import streamlit as st

from app import cache
from core.config import reset_settings_cache
from core.db.engine import make_engine, write_session
from core.registry import services


@pytest.fixture
def registry(portfolio_registry, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple]:
    url, portfolio = portfolio_registry
    monkeypatch.setenv("STEWARD_DATABASE_URL", url)
    reset_settings_cache()
    st.cache_data.clear()
    st.cache_resource.clear()
    engine = make_engine(url)
    yield engine, portfolio
    engine.dispose()
    st.cache_data.clear()
    st.cache_resource.clear()
    reset_settings_cache()


def _register(engine, portfolio, name: str) -> None:
    """A model registered behind the app's back (another process, the CLI)."""
    with write_session(engine) as s:
        services.register_model(s, actor=portfolio.world.owner, name=name, business_unit="Retail")


def _names() -> set[str]:
    return {c.name for c in cache.model_choices()}


def test_a_write_clears_only_the_readers_of_what_it_changed(registry) -> None:
    engine, portfolio = registry
    before = _names()
    events = cache.audit_event_count(model_id=None, actor_id=None, actions=(), date_from=None, date_to=None)
    _register(engine, portfolio, "Fresh model")
    assert _names() == before  # cached

    cache.clear((cache.RISK,))  # a risk assessment changes no model list...
    assert _names() == before
    after = cache.audit_event_count(model_id=None, actor_id=None, actions=(), date_from=None, date_to=None)
    assert after > events  # ...but every write appends to the audit log

    cache.clear((cache.MODELS,))
    assert _names() == before | {"Fresh model"}


def test_readers_are_cached_per_argument_and_declared_once() -> None:
    tags = {t for reader in cache._READERS for t in reader.tags}
    declared = {v for k, v in vars(cache).items() if k.isupper() and isinstance(v, str) and k != "ANY"}
    assert tags - {cache.ANY} <= declared
    assert cache.ANY in cache.audit_events.tags and cache.ANY not in cache.model_choices.tags
    names = [reader._load.__qualname__ for reader in cache._READERS]
    assert len(names) == len(set(names)), "two readers would share one cache"
