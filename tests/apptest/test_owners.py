"""The Owners page through AppTest: roles per model and knowledge-loss flags."""

from __future__ import annotations


def _open(app, url):
    return app(url).run().switch_page("../pages/owners.py").run()


def _table(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_owners_page_shows_roles_and_knowledge_loss_flags(app, portfolio_url):
    at = _open(app, portfolio_url)
    assert not at.exception
    assert at.title[0].value == "Owners"
    flags = _table(at, "risk")
    assert {("Credit scoring", "Owner has left"), ("Churn propensity", "No backup")} <= set(
        zip(flags["model"], flags["risk"], strict=True)
    )
    matrix = _table(at, "Accountable owner").set_index("model")
    assert matrix.loc["Credit scoring", "Technical owner"] == "Tom Tech (left)"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Models with an owner who left"] == "3"  # credit, churn, fraud: Tom left
    assert metrics["Models without a backup"] == "2"  # churn, demand forecast
    assert metrics["Models missing an owner"] == "1"  # demand forecast


def test_filter_by_person_and_by_team(app, portfolio_url):
    at = _open(app, portfolio_url)
    person = at.selectbox(key="owners.filter.person")
    olivia = next(o for o in person.options if o != "Everyone" and "Olivia" in o)
    person.select(olivia).run()
    assert _table(at, "Accountable owner")["model"].tolist() == ["Churn propensity"]
    assert _table(at, "owns_many")["person"].tolist() == ["Olivia Owner"]
    at.selectbox(key="owners.filter.person").select("Everyone").run()
    at.selectbox(key="owners.filter.team").select("Credit").run()
    assert _table(at, "Accountable owner")["model"].tolist() == ["Credit scoring", "Fraud detection"]
    assert not at.exception


def test_owners_page_on_an_empty_registry(app, empty_url):
    at = _open(app, empty_url)
    assert not at.exception
    assert "No models registered yet" in " ".join(m.value for m in at.markdown)


def test_owners_page_on_the_demo_registry(app, demo_db_url):
    at = _open(app, demo_db_url)
    assert not at.exception
    risks = set(_table(at, "risk")["risk"])
    assert {
        "Owner has left",
        "No backup",
    } <= risks  # the demo has a departed technical owner and a model without backup
