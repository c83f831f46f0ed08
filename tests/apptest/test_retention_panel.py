"""The log-retention panel of the Model page: what the log store holds, and the owners' form."""

from __future__ import annotations

from sqlmodel import select

from core.db.engine import make_engine, read_session
from core.db.models import LogRetention


def _open(app, url, model_id, person):
    at = app(url)
    at.query_params["as"] = person
    at.query_params["model"] = str(model_id)
    at.run()
    return at.switch_page("../pages/model.py").run()


def test_owners_set_how_long_raw_rows_are_kept(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.credit, "owner@example.com")  # a model owner
    assert not at.exception
    panel = " ".join(m.value for m in at.metric)
    assert "for ever" in panel
    at.radio(key="model.retention.keep").set_value("days")
    at.number_input(key="model.retention.days").set_value(90)
    at.button(key="model.retention.save").click().run()
    assert not at.exception
    engine = make_engine(url)
    with read_session(engine) as s:
        (policy,) = s.exec(select(LogRetention)).all()
    engine.dispose()
    assert (policy.model_id, policy.raw_days) == (p.credit, 90)
    assert "90 days" in " ".join(m.value for m in at.metric)


def test_viewers_see_the_policy_without_the_form(app, portfolio_registry):
    url, p = portfolio_registry
    at = _open(app, url, p.credit, "viewer@example.com")
    assert not at.exception
    assert "Raw rows kept" in " ".join(m.label for m in at.metric)
    assert not [r for r in at.radio if r.key == "model.retention.keep"]
