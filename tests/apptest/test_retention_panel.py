"""The log-retention panel of the Model page: what the log store holds, and the owners' form."""

from __future__ import annotations

from sqlmodel import select

from core.db.engine import make_engine, read_session, write_session
from core.db.models import LogRetention, LogSource, ModelVersion


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


def test_versions_reading_their_logs_in_place_are_named(app, portfolio_registry):
    url, p = portfolio_registry
    engine = make_engine(url)
    with write_session(engine) as s:
        version = s.exec(select(ModelVersion).where(ModelVersion.model_id == p.credit)).first()
        s.add(
            LogSource(
                model_version_id=version.id,
                location="/lake/credit/day=*/*.parquet",
                mapping={"ts": "t", "request_id": "r", "prediction": "p"},
                synced_rows=1234,
            )
        )
        number = version.version
    engine.dispose()
    at = _open(app, url, p.credit, "viewer@example.com")
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert f"Version {number} reads its logs where they live" in captions
    assert "1,234 rows" in captions and "Retention never deletes those files" in captions
