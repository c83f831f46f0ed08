"""The plain-language sentence: top features, right signs, readable numbers, the rule in force."""

from __future__ import annotations

import pytest

from core.explain.sentence import (
    Contribution,
    additivity_line,
    explain_in_words,
    readable_name,
    readable_value,
    signed,
)
from tests.factories import rule_view

APPROVE = rule_view(name="decision", operator=">", threshold=0.69, outcome="approve", version=1)
ITEMS = [
    Contribution("income", 23000.0, 0.21),
    Contribution("late_payments", 3, 0.15),
    Contribution("years_customer", 12.0, -0.08),
    Contribution("region", "North", 0.01),
    Contribution("age", 41, -0.002),
]


def test_sentence_names_top_features_with_their_signs_and_the_rule() -> None:
    sentence = explain_in_words(
        score=0.82,
        base_score=0.31,
        contributions=ITEMS,
        task="binary_classification",
        rule=APPROVE,
        space="probability",
    )
    assert sentence == (
        "Scored 0.82 (approve above 0.69) mainly because income = 23,000 (+0.21), "
        "late payments = 3 (+0.15) and region = North (+0.01); "
        "against: years customer = 12 (-0.08) and age = 41 (-0.002)."
    )


def test_when_the_rule_is_not_met_the_reasons_are_those_pulling_the_score_down() -> None:
    items = [
        Contribution("income", 9000.0, -0.30),
        Contribution("late_payments", 0, 0.05),
        Contribution("employment", "unemployed", -0.12),
    ]
    sentence = explain_in_words(
        score=0.24,
        base_score=0.41,
        contributions=items,
        task="binary_classification",
        rule=APPROVE,
        space="probability",
    )
    assert sentence.startswith(
        'Scored 0.24 (rule "approve above 0.69" not met) mainly because income = 9,000 (-0.30) '
        "and employment = unemployed (-0.12); against: late payments = 0 (+0.05)."
    )


def test_a_below_threshold_rule_reads_the_other_way_round() -> None:
    reject = rule_view(name="fraud", operator="<", threshold=0.2, outcome="release payment", version=2)
    items = [Contribution("amount", 120.5, -0.05), Contribution("country", "NL", 0.02)]
    sentence = explain_in_words(
        score=0.07,
        base_score=0.10,
        contributions=items,
        task="binary_classification",
        rule=reject,
        space="probability",
    )
    assert sentence == (
        "Scored 0.07 (release payment below 0.2) mainly because amount = 120.5 (-0.05); "
        "against: country = NL (+0.02)."
    )


def test_regression_without_rule_and_log_odds_are_said_so() -> None:
    items = [Contribution("surface_m2", 85, 12500.0), Contribution("age_years", 40, -3200.0)]
    sentence = explain_in_words(
        score=312000.0,
        base_score=290000.0,
        contributions=items,
        task="regression",
        rule=None,
        space="prediction",
    )
    assert sentence == (
        "Predicted 312,000 (average 290,000) mainly because surface (m²) = 85 (+12,500); "
        "against: age (years) = 40 (-3,200)."
    )
    logodds = explain_in_words(
        score=0.82,
        base_score=0.5,
        contributions=ITEMS[:2],
        task="binary_classification",
        rule=None,
        space="log-odds",
    )
    assert logodds.startswith("Scored 0.82 (baseline 0.50) mainly because") and logodds.endswith(
        "Contributions are in log-odds, the model's internal scale: positive ones raise the score."
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (23000, "23,000"),
        (23000.0, "23,000"),
        (12.0, "12"),
        (0.125, "0.125"),
        (1234.56, "1,235"),
        (45.25, "45.2"),
        ("North", "North"),
        (None, "missing"),
        (float("nan"), "missing"),
        (True, "yes"),
    ],
)
def test_readable_values(value: object, text: str) -> None:
    assert readable_value(value) == text


def test_rates_and_shares_read_as_percentages_other_fractions_do_not() -> None:
    assert readable_value(0.0123, "chargeback_rate") == "1.23%"
    assert readable_value(0.35, "self_checkout_share") == "35%"
    assert readable_value(1.0, "supplier_on_time_rate") == "100%"
    # Outside 0..1 it is not a fraction; other names keep the number; missing stays missing.
    assert readable_value(3.5, "contract_rate") == "3.5"
    assert readable_value(0.35, "current_ratio") == "0.35"
    assert readable_value(None, "refund_rate", missing="—") == "—"


def test_signed_contributions_and_the_additivity_check() -> None:
    assert [signed(0.21), signed(-0.08), signed(0.004), signed(1338.2), signed(-12.34)] == [
        "+0.21",
        "-0.08",
        "+0.004",
        "+1,338",
        "-12.3",
    ]
    assert additivity_line(base_value=0.31, total=0.51, output=0.82, space="probability") == (
        "check (probability): base 0.31 + contributions +0.51 = 0.82; model output 0.82 ✓"
    )
    assert additivity_line(base_value=0.31, total=0.51, output=0.9, space="probability").endswith(
        "✗ (off by 0.08)"
    )


@pytest.mark.parametrize(
    ("column", "words"),
    [
        ("late_payments_12m", "late payments in the last 12 months"),
        ("failed_logins_24h", "failed logins in the last 24 hours"),
        ("loan_amount_k", "loan amount (thousands)"),
        ("contract_rate_pct", "contract rate (%)"),
        ("claim_amount_eur", "claim amount (EUR)"),
        ("debt_to_income", "debt to income"),
        ("age", "age"),
        ("days_since_last_login", "days since last login"),
        ("session_duration_s", "session duration (seconds)"),
        ("mcc_group", "MCC group"),
        ("prior_claims_5y", "prior claims in the last 5 years"),
        ("policy_age_years", "policy age (years)"),
    ],
)
def test_column_names_read_as_words_with_their_units(column: str, words: str) -> None:
    assert readable_name(column) == words
    late = explain_in_words(
        score=0.4,
        base_score=0.2,
        contributions=[Contribution("late_payments_12m", 3, 0.2)],
        task="binary_classification",
        rule=None,
        space="probability",
    )
    assert "late payments in the last 12 months = 3 (+0.20)" in late
