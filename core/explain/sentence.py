"""One prediction in one sentence a business owner can follow.

"Scored 0.82 (approve above 0.69) mainly because income = 23,000 (+0.21) and late payments = 3
(+0.15); against: years as customer = 12 (-0.08)."

"mainly because" lists the largest contributions pushing the score towards where it landed
(towards the rule's outcome when the rule is met, away from it when not; without a rule, above
or below the average score, which the sentence then names); "against" the largest pushing the
other way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.registry.rules import RuleInForce

MAIN_REASONS = 3
AGAINST_REASONS = 2


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: Any
    contribution: float


# Unit suffixes of column names, said in words: loan_amount_k -> "loan amount (thousands)".
_UNITS = {
    "k": "thousands",
    "eur": "EUR",
    "usd": "USD",
    "gbp": "GBP",
    "pct": "%",
    "days": "days",
    "months": "months",
    "years": "years",
    "km": "km",
    "s": "seconds",
    "kg": "kg",
    "c": "°C",
    "m2": "m²",
}
_WINDOWS = {"h": "hours", "d": "days", "m": "months", "y": "years"}
_WINDOW = re.compile(r"^(.+)_(\d+)([hdmy])$")
LOG_ODDS_NOTE = " Contributions are in log-odds, the model's internal scale: positive ones raise the score."


# Abbreviations said as capitals: mcc_group -> "MCC group".
ACRONYMS = {"id", "mcc", "ip", "kyc", "sme", "ltv", "dti", "gdp", "sku", "vat", "iban", "nps"}


def _words(text: str) -> str:
    return " ".join(w.upper() if w.lower() in ACRONYMS else w for w in text.split("_") if w)


def readable_name(feature: str) -> str:
    """A column name in words: late_payments_12m -> "late payments in the last 12 months",
    loan_amount_k -> "loan amount (thousands)", contract_rate_pct -> "contract rate (%)"."""
    name = feature.strip()
    window = _WINDOW.match(name)
    if window:
        base, count, unit = window.groups()
        return f"{_words(base)} in the last {count} {_WINDOWS[unit]}"
    base, _, suffix = name.rpartition("_")
    if base and suffix.lower() in _UNITS:
        return f"{_words(base)} ({_UNITS[suffix.lower()]})"
    return _words(name)


# Columns holding a fraction that people read as a percentage: chargeback_rate 0.0123 -> "1.23%".
_FRACTION = re.compile(r"_(rate|share)$")


def readable_value(value: Any, feature: str = "", *, missing: str = "missing") -> str:
    """23000 -> '23,000'; 0.125 -> '0.125'; 12.0 -> '12'; strings unchanged; missing -> 'missing'.

    With the column's name, a fraction in a *_rate or *_share column reads as a percentage."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        number = float(value)
        if _FRACTION.search(feature.strip().lower()) and 0 <= number <= 1:
            return f"{number * 100:.3g}%"
        if number.is_integer():
            return f"{int(number):,}"
        if abs(number) >= 1000:
            return f"{number:,.0f}"
        if abs(number) >= 10:
            return f"{number:,.1f}"
        return f"{number:.3g}"
    return str(value)


def signed(amount: float, *, large: bool = False) -> str:
    """A contribution with its sign: +0.21, -0.08, +1,338 (for outputs in hundreds)."""
    if large or abs(amount) >= 100:
        return f"{amount:+,.0f}"
    if abs(amount) >= 10:
        return f"{amount:+.1f}"
    if abs(amount) >= 0.01 or amount == 0:
        return f"{amount:+.2f}"
    return f"{amount:+.3f}"


def score_text(score: float, task: str) -> str:
    if task == "binary_classification":
        return f"{score:.2f}"
    return readable_value(round(score, 2))


def _reason(item: Contribution) -> str:
    return f"{readable_name(item.feature)} = {readable_value(item.value, item.feature)} ({signed(item.contribution)})"


def _joined(items: Sequence[Contribution]) -> str:
    parts = [_reason(i) for i in items]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def toward_sign(score: float, base_score: float, rule: RuleInForce | None) -> int:
    """+1 if the reasons to name are the positive contributions, -1 if the negative ones."""
    if rule is None:
        return 1 if score >= base_score else -1
    raises_outcome = rule.operator in (">", ">=")
    return 1 if rule.holds(score) == raises_outcome else -1


def explain_in_words(
    *,
    score: float,
    base_score: float,
    contributions: Sequence[Contribution],
    task: str,
    rule: RuleInForce | None,
    space: str,
) -> str:
    """The sentence. ``score`` is what the business sees (probability or prediction); the
    contributions are in ``space`` (the page says which)."""
    sign = toward_sign(score, base_score, rule)
    ordered = sorted(contributions, key=lambda c: abs(c.contribution), reverse=True)
    main = [c for c in ordered if c.contribution * sign > 0][:MAIN_REASONS]
    against = [c for c in ordered if c.contribution * sign < 0][:AGAINST_REASONS]
    verb = "Scored" if task == "binary_classification" else "Predicted"
    sentence = f"{verb} {score_text(score, task)}"
    if rule is not None:
        sentence += f" ({rule.text()})" if rule.holds(score) else f' (rule "{rule.text()}" not met)'
    else:  # log-odds: the base is the mean log-odds, whose probability is not the average score
        sentence += f" ({'baseline' if space == 'log-odds' else 'average'} {score_text(base_score, task)})"
    if main:
        sentence += f" mainly because {_joined(main)}"
    else:
        sentence += " with no feature pushing it this way"
    if against:
        sentence += f"; against: {_joined(against)}"
    sentence += "."
    if space == "log-odds":
        sentence += LOG_ODDS_NOTE
    return sentence


def additivity_line(
    *, base_value: float, total: float, output: float, space: str, tolerance: float = 1e-6
) -> str:
    """ "check: base 0.31 + contributions 0.51 = 0.82 ✓" (in the explained space)."""
    ok = abs(base_value + total - output) <= tolerance
    digits = 2 if abs(output) < 100 else 0
    return (
        f"check ({space}): base {base_value:,.{digits}f} + contributions {total:+,.{digits}f} = "
        f"{base_value + total:,.{digits}f}; model output {output:,.{digits}f} "
        + ("✓" if ok else f"✗ (off by {abs(base_value + total - output):.2g})")
    )
