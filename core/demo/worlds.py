"""Synthetic business data for the demo models, generated with numpy from a seed.

A ``World`` describes the inputs of one kind of decision (loan applications, card
transactions, claims...) as columns with a distribution each, and the outcome as a function
of those inputs. Two knobs per row make the history interesting:

* ``drift`` (0..1) moves the input distributions (covariate drift), as listed in
  ``World.covariate_drift``: ``("scale", f)`` multiplies a numeric column by up to ``f``,
  ``("add", a)`` adds up to ``a``, ``("probs", p)`` moves a categorical column's level
  probabilities towards ``p``.
* ``concept`` (0..1) is handed to the outcome function, which may change the relation
  between inputs and outcome (concept drift) while the inputs stay as they were.

Classifier worlds return a logit (the label is drawn from its sigmoid); regression worlds
return the expected value, and the label adds multiplicative or additive noise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Num:
    """A numeric column. ``dist`` names a numpy generator method; ``args`` are its parameters."""

    name: str
    dist: str
    args: tuple[float, ...]
    lo: float | None = None
    hi: float | None = None
    decimals: int = 2  # 0 = integer column
    offset: float = 0.0


@dataclass(frozen=True)
class Cat:
    """A categorical (string) column."""

    name: str
    levels: tuple[str, ...]
    probs: tuple[float, ...]


Column = Num | Cat
Outcome = Callable[[pd.DataFrame, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class World:
    columns: tuple[Column, ...]
    outcome: Outcome
    task: str  # binary_classification or regression
    entity: str  # what one row is, in words ("loan applications")
    label: str  # what the label means, in words
    noise: float = 0.0  # regressors: sd of the noise
    noise_kind: str = "multiplicative"  # or "additive"
    covariate_drift: dict[str, tuple[str, Any]] = field(default_factory=dict)
    label_decimals: int = 2

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def categorical(self, names: list[str]) -> list[str]:
        return [c.name for c in self.columns if isinstance(c, Cat) and c.name in names]

    def numeric(self, names: list[str]) -> list[str]:
        return [c.name for c in self.columns if isinstance(c, Num) and c.name in names]


# --- generation ----------------------------------------------------------------------------


def sample_inputs(world: World, rng: np.random.Generator, drift: np.ndarray) -> pd.DataFrame:
    """``len(drift)`` rows of inputs; row i shifted by ``drift[i]`` of the world's covariate drift."""
    n = len(drift)
    data: dict[str, Any] = {}
    for col in world.columns:
        shift = world.covariate_drift.get(col.name)
        if isinstance(col, Cat):
            data[col.name] = _sample_cat(col, rng, drift, shift)
        else:
            data[col.name] = _sample_num(col, rng, n, drift, shift)
    return pd.DataFrame(data)


def _sample_num(col: Num, rng: np.random.Generator, n: int, drift: np.ndarray, shift: Any) -> np.ndarray:
    if col.dist == "choice":
        values = np.asarray(col.args, dtype=float)
        x = rng.choice(values, size=n)
    elif col.dist == "lognormal":
        x = rng.lognormal(np.log(col.args[0]), col.args[1], size=n)
    else:
        x = getattr(rng, col.dist)(*col.args, size=n).astype(float)
    x = x + col.offset
    if shift is not None:
        kind, amount = shift
        x = x * (1.0 + (amount - 1.0) * drift) if kind == "scale" else x + amount * drift
    if col.lo is not None or col.hi is not None:
        x = np.clip(x, col.lo, col.hi)
    if col.decimals == 0:
        return np.rint(x).astype(np.int64)
    return np.round(x, col.decimals)


def _sample_cat(col: Cat, rng: np.random.Generator, drift: np.ndarray, shift: Any) -> np.ndarray:
    base = np.asarray(col.probs, dtype=float)
    base = base / base.sum()
    if shift is None:
        probs = np.broadcast_to(base, (len(drift), len(base)))
    else:
        target = np.asarray(shift[1], dtype=float)
        target = target / target.sum()
        probs = base[None, :] * (1 - drift[:, None]) + target[None, :] * drift[:, None]
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(drift))[:, None]
    index = np.minimum((u > cumulative).sum(axis=1), len(col.levels) - 1)
    return np.asarray(col.levels, dtype=object)[index]


def expected_outcome(world: World, inputs: pd.DataFrame, concept: np.ndarray) -> np.ndarray:
    """Logit (classifiers) or expected value (regressors) of each row."""
    return np.asarray(world.outcome(inputs, concept), dtype=float)


def draw_labels(
    world: World, rng: np.random.Generator, inputs: pd.DataFrame, concept: np.ndarray
) -> np.ndarray:
    """Realised outcomes: 0/1 for classifiers, noisy values for regressors."""
    eta = expected_outcome(world, inputs, concept)
    if world.task == "binary_classification":
        return (rng.random(len(eta)) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    noise = rng.normal(0.0, world.noise, size=len(eta))
    value = eta * np.exp(noise - world.noise**2 / 2) if world.noise_kind == "multiplicative" else eta + noise
    return np.round(np.maximum(value, 0.0), world.label_decimals)


# --- small helpers for outcome functions -----------------------------------------------------


def _f(x: pd.DataFrame, col: str) -> np.ndarray:
    return x[col].to_numpy(dtype=float)


def _z(values: np.ndarray, mean: float, sd: float) -> np.ndarray:
    return (values - mean) / sd


def _logz(x: pd.DataFrame, col: str, median: float, sigma: float) -> np.ndarray:
    return (np.log(np.maximum(_f(x, col), 1e-6)) - np.log(median)) / sigma


def _is(x: pd.DataFrame, col: str, *levels: str) -> np.ndarray:
    return x[col].isin(levels).to_numpy(dtype=float)


# --- credit risk -----------------------------------------------------------------------------

EMPLOYMENT = Cat(
    "employment_type", ("permanent", "temporary", "self_employed", "retired"), (0.60, 0.15, 0.13, 0.12)
)
HOUSING = Cat("housing", ("owner", "tenant", "with_parents"), (0.45, 0.43, 0.12))


def _retail_default(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    dti = _f(x, "debt_to_income")
    late = _f(x, "late_payments_12m")
    burden = _f(x, "loan_amount_k") / np.maximum(_f(x, "income_k"), 1.0)
    return (
        -2.5
        + 0.9 * _z(dti, 0.29, 0.16)
        + 0.55 * late
        + 0.45 * _z(burden, 0.4, 0.35)
        - 0.45 * _z(_f(x, "credit_history_years"), 8.7, 5.5)
        - 0.2 * _z(_f(x, "age"), 42, 12)
        + 0.5 * _is(x, "employment_type", "temporary")
        + 0.35 * _is(x, "employment_type", "self_employed")
        - 0.3 * _is(x, "housing", "owner")
        + 0.4 * (dti > 0.45) * (late > 0)
        + 0.15 * (_f(x, "loan_term_months") >= 60)
    )


RETAIL_CREDIT = World(
    columns=(
        Num("age", "normal", (42, 12), lo=18, hi=80, decimals=0),
        Num("income_k", "lognormal", (38, 0.45), lo=8, hi=400, decimals=1),
        Num("loan_amount_k", "lognormal", (12, 0.7), lo=1, hi=80, decimals=1),
        Num("loan_term_months", "choice", (12, 24, 36, 48, 60, 84), decimals=0),
        Num("debt_to_income", "beta", (2, 5), decimals=3),
        Num("credit_history_years", "gamma", (2.5, 3.5), hi=45, decimals=1),
        Num("late_payments_12m", "poisson", (0.4,), decimals=0),
        EMPLOYMENT,
        HOUSING,
        Cat("region", ("north", "south", "east", "west"), (0.28, 0.24, 0.22, 0.26)),
    ),
    outcome=_retail_default,
    task="binary_classification",
    entity="consumer loan applications",
    label="default (90+ days past due) within 12 months of origination",
)


def _sme_default(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -2.3
        + 1.0 * _z(_f(x, "leverage"), 0.4, 0.2)
        - 0.7 * _logz(x, "current_ratio", 1.4, 0.35)
        - 0.4 * _logz(x, "years_in_business", 8, 0.8)
        + 0.5 * _f(x, "late_payments_12m")
        - 0.2 * _logz(x, "annual_revenue_k", 900, 0.9)
        + 0.5 * _is(x, "sector", "construction")
        + 0.6 * _is(x, "sector", "hospitality")
        - 0.4 * _is(x, "collateral", "yes")
    )


SME_CREDIT = World(
    columns=(
        Num("annual_revenue_k", "lognormal", (900, 0.9), lo=30, decimals=0),
        Num("years_in_business", "gamma", (2.0, 5.0), lo=0.5, hi=80, decimals=1),
        Num("employees", "lognormal", (12, 0.8), lo=1, decimals=0),
        Num("current_ratio", "lognormal", (1.4, 0.35), decimals=2),
        Num("leverage", "beta", (2, 3), decimals=3),
        Num("late_payments_12m", "poisson", (0.5,), decimals=0),
        Cat(
            "sector",
            ("retail", "manufacturing", "construction", "services", "hospitality", "agriculture"),
            (0.2, 0.18, 0.14, 0.28, 0.1, 0.1),
        ),
        Cat("collateral", ("yes", "no"), (0.45, 0.55)),
    ),
    outcome=_sme_default,
    task="binary_classification",
    entity="SME credit applications and annual reviews",
    label="default within 12 months",
)


def _credit_limit(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    income = _f(x, "income_k")
    factor = (1 - 0.6 * _f(x, "current_utilisation")) * (
        1 + 0.02 * np.minimum(_f(x, "credit_history_years"), 25)
    )
    factor *= np.exp(-0.3 * _f(x, "late_payments_12m")) * (1 + 0.08 * _f(x, "existing_products"))
    factor *= np.where(_is(x, "employment_type", "temporary") > 0, 0.75, 1.0)
    factor *= np.where(_is(x, "housing", "owner") > 0, 1.15, 1.0)
    return 0.22 * income * factor


CREDIT_LINES = World(
    columns=(
        Num("income_k", "lognormal", (38, 0.45), lo=8, hi=400, decimals=1),
        Num("age", "normal", (44, 13), lo=18, hi=85, decimals=0),
        Num("credit_history_years", "gamma", (2.5, 3.8), hi=50, decimals=1),
        Num("late_payments_12m", "poisson", (0.35,), decimals=0),
        Num("current_utilisation", "beta", (2, 3), lo=0, hi=1, decimals=3),
        Num("existing_products", "poisson", (1.5,), decimals=0),
        EMPLOYMENT,
        HOUSING,
    ),
    outcome=_credit_limit,
    task="regression",
    entity="credit card and overdraft limit reviews",
    label="credit limit set by the credit committee (k EUR)",
    noise=0.15,
    covariate_drift={
        "income_k": ("scale", 1.3),
        "current_utilisation": ("add", 0.18),
        "employment_type": ("probs", (0.45, 0.30, 0.17, 0.08)),
    },
)


def _mortgage_prepay(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    gap = _f(x, "rate_gap_pct")
    return (
        -2.1
        + 1.4 * np.maximum(gap, 0)
        + 0.35 * _logz(x, "income_k", 55, 0.4)
        - 0.5 * _z(_f(x, "loan_to_value"), 0.62, 0.16)
        - 0.3 * _z(_f(x, "loan_age_years"), 6, 4)
        + 0.3 * _is(x, "channel", "broker")
        + 0.2 * _is(x, "property_type", "apartment")
    )


MORTGAGES = World(
    columns=(
        Num("loan_to_value", "beta", (5, 3), lo=0.05, hi=1.0, decimals=3),
        Num("contract_rate_pct", "uniform", (1.0, 5.0), decimals=2),
        Num("rate_gap_pct", "normal", (0.3, 0.9), decimals=2),
        Num("loan_age_years", "gamma", (2.0, 3.0), hi=30, decimals=1),
        Num("borrower_age", "normal", (45, 10), lo=21, hi=80, decimals=0),
        Num("income_k", "lognormal", (55, 0.4), lo=12, decimals=1),
        Cat("property_type", ("apartment", "house", "townhouse"), (0.4, 0.42, 0.18)),
        Cat("channel", ("branch", "broker", "online"), (0.35, 0.4, 0.25)),
    ),
    outcome=_mortgage_prepay,
    task="binary_classification",
    entity="mortgage loans in the monthly portfolio snapshot",
    label="full early repayment within 12 months",
)

# --- customer retention ------------------------------------------------------------------------


def _churn(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -1.3
        - 0.6 * _z(_f(x, "tenure_months"), 36, 25)
        + 0.5 * _z(_f(x, "monthly_fee_eur"), 35, 12)
        - 0.45 * (_f(x, "products_held") - 2)
        - 0.7 * _z(np.log1p(_f(x, "logins_30d")), 2.3, 0.8)
        + 0.45 * _f(x, "support_tickets_90d")
        + 0.9 * _is(x, "contract", "monthly")
        - 0.7 * _is(x, "contract", "two_year")
        + 0.3 * _is(x, "payment_method", "invoice")
        + 0.3 * _is(x, "segment", "youth")
    )


CHURN = World(
    columns=(
        Num("tenure_months", "gamma", (2.0, 18.0), lo=1, hi=360, decimals=0),
        Num("monthly_fee_eur", "normal", (35, 12), lo=5, hi=120, decimals=2),
        Num("products_held", "poisson", (1.2,), offset=1, decimals=0),
        Num("logins_30d", "lognormal", (10, 0.8), hi=200, decimals=0),
        Num("support_tickets_90d", "poisson", (0.7,), decimals=0),
        Num("age", "normal", (44, 14), lo=18, hi=95, decimals=0),
        Cat("contract", ("monthly", "annual", "two_year"), (0.45, 0.38, 0.17)),
        Cat("payment_method", ("direct_debit", "card", "invoice"), (0.6, 0.3, 0.1)),
        Cat("segment", ("mass", "affluent", "youth"), (0.6, 0.22, 0.18)),
    ),
    outcome=_churn,
    task="binary_classification",
    entity="active retail customers (monthly snapshot)",
    label="customer closes all products within 90 days",
    covariate_drift={
        "logins_30d": ("scale", 0.45),
        "monthly_fee_eur": ("add", 11.0),
        "support_tickets_90d": ("scale", 1.8),
        "contract": ("probs", (0.65, 0.27, 0.08)),
    },
)


def _clv(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    base = 90 + 10.5 * _f(x, "monthly_fee_eur") * (1 + 0.12 * _f(x, "products_held"))
    base += 16 * _f(x, "avg_balance_k") + 1.2 * np.minimum(_f(x, "tenure_months"), 120)
    return (
        base
        * np.where(_is(x, "segment", "affluent") > 0, 1.5, 1.0)
        * np.where(_is(x, "channel", "app") > 0, 1.1, 1.0)
    )


CLV = World(
    columns=(
        Num("tenure_months", "gamma", (2.0, 18.0), lo=1, hi=360, decimals=0),
        Num("products_held", "poisson", (1.2,), offset=1, decimals=0),
        Num("avg_balance_k", "lognormal", (6, 1.0), hi=500, decimals=2),
        Num("monthly_fee_eur", "normal", (35, 12), lo=5, hi=120, decimals=2),
        Num("age", "normal", (44, 14), lo=18, hi=95, decimals=0),
        Cat("segment", ("mass", "affluent", "youth"), (0.6, 0.22, 0.18)),
        Cat("channel", ("branch", "app", "web"), (0.3, 0.45, 0.25)),
    ),
    outcome=_clv,
    task="regression",
    entity="active retail customers (quarterly snapshot)",
    label="net revenue from the customer over the next 12 months (EUR)",
    noise=0.3,
    label_decimals=2,
)


def _next_best_offer(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    # A weak signal on purpose: offer response is hard to predict.
    return (
        -1.7
        + 0.35 * _f(x, "offer_clicks_90d")
        + 0.5 * _is(x, "segment", "affluent") * _is(x, "offer_type", "investment")
        + 0.25 * _is(x, "channel", "app")
        - 0.15 * _z(_f(x, "age"), 44, 14)
    )


NEXT_BEST_OFFER = World(
    columns=(
        Num("age", "normal", (44, 14), lo=18, hi=95, decimals=0),
        Num("products_held", "poisson", (1.2,), offset=1, decimals=0),
        Num("offer_clicks_90d", "poisson", (1.2,), decimals=0),
        Num("avg_balance_k", "lognormal", (6, 1.0), hi=500, decimals=2),
        Cat("segment", ("mass", "affluent", "youth"), (0.6, 0.22, 0.18)),
        Cat("channel", ("branch", "app", "web"), (0.3, 0.45, 0.25)),
        Cat("offer_type", ("savings", "credit_card", "insurance", "investment"), (0.3, 0.25, 0.25, 0.2)),
    ),
    outcome=_next_best_offer,
    task="binary_classification",
    entity="offers shown to customers in app and branch",
    label="customer accepts the offer within 30 days",
)

# --- fraud detection ----------------------------------------------------------------------------


def _card_fraud(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    hour = _f(x, "hour")
    present = _is(x, "card_present", "yes")
    original = (
        -4.6
        + 1.2 * _logz(x, "amount_eur", 45, 1.1)
        + 1.5 * (hour < 6)
        + 1.8 * (1 - present)
        + 1.4 * _is(x, "foreign", "yes")
        + 0.45 * (_f(x, "txn_count_24h") - 2.5)
        + 0.7 * _logz(x, "distance_from_home_km", 8, 1.3)
        + 1.0 * _is(x, "merchant_category", "electronics", "travel")
        - 0.7 * _logz(x, "account_age_days", 1200, 0.7)
    )
    # New pattern (skimmed cards): small card-present purchases in quick succession at grocers
    # and petrol stations; online fraud falls off as 3-D Secure is rolled out.
    skimming = (
        -2.0
        + 2.8 * present * _is(x, "merchant_category", "grocery", "fuel")
        + 0.7 * (_f(x, "txn_count_24h") - 2.5)
        - 1.0 * _logz(x, "amount_eur", 45, 1.1)
    )
    return original * (1 - c) + c * skimming


CARD_FRAUD = World(
    columns=(
        Num("amount_eur", "lognormal", (45, 1.1), lo=0.5, hi=15000, decimals=2),
        Num("hour", "choice", tuple(range(24)), decimals=0),
        Num("distance_from_home_km", "lognormal", (8, 1.3), hi=20000, decimals=1),
        Num("txn_count_24h", "poisson", (2.5,), decimals=0),
        Num("account_age_days", "gamma", (2.0, 600.0), lo=1, decimals=0),
        Cat(
            "merchant_category",
            ("grocery", "restaurants", "fuel", "travel", "electronics", "online_services", "cash_withdrawal"),
            (0.3, 0.15, 0.1, 0.07, 0.08, 0.2, 0.1),
        ),
        Cat("card_present", ("yes", "no"), (0.62, 0.38)),
        Cat("foreign", ("no", "yes"), (0.93, 0.07)),
    ),
    outcome=_card_fraud,
    task="binary_classification",
    entity="card authorisation requests",
    label="transaction confirmed as fraud (chargeback or cardholder report)",
)


def _account_takeover(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -4.0
        + 1.2 * _f(x, "failed_logins_24h")
        + 1.8 * _is(x, "new_device", "yes")
        + 2.2 * _is(x, "country_change", "yes")
        + 1.5 * _is(x, "password_reset_7d", "yes")
        - 0.6 * _logz(x, "session_duration_s", 240, 0.9)
        + 0.4 * _logz(x, "days_since_last_login", 7, 1.0)
        + 0.6 * (_f(x, "login_hour") < 5)
    )


ACCOUNT_TAKEOVER = World(
    columns=(
        Num("login_hour", "choice", tuple(range(24)), decimals=0),
        Num("failed_logins_24h", "poisson", (0.3,), decimals=0),
        Num("session_duration_s", "lognormal", (240, 0.9), lo=1, decimals=0),
        Num("days_since_last_login", "gamma", (1.2, 6.0), decimals=1),
        Cat("new_device", ("no", "yes"), (0.85, 0.15)),
        Cat("country_change", ("no", "yes"), (0.95, 0.05)),
        Cat("password_reset_7d", ("no", "yes"), (0.93, 0.07)),
        Cat("platform", ("ios", "android", "web"), (0.35, 0.4, 0.25)),
    ),
    outcome=_account_takeover,
    task="binary_classification",
    entity="online banking log-ins",
    label="log-in confirmed as account takeover",
)


def _merchant_risk(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -2.2
        + 1.3 * _z(_f(x, "chargeback_rate"), 0.01, 0.009)
        + 0.8 * _z(_f(x, "refund_rate"), 0.036, 0.028)
        - 0.5 * _logz(x, "months_active", 24, 0.8)
        + 1.0 * _is(x, "mcc_group", "digital_goods", "gambling")
        + 0.8 * _is(x, "country", "non_eu")
    )


MERCHANTS = World(
    columns=(
        Num("monthly_volume_k", "lognormal", (40, 1.2), decimals=1),
        Num("chargeback_rate", "beta", (1.2, 120), decimals=4),
        Num("refund_rate", "beta", (1.5, 40), decimals=4),
        Num("months_active", "gamma", (2.0, 14.0), lo=1, decimals=0),
        Num("avg_ticket_eur", "lognormal", (35, 0.8), decimals=2),
        Cat(
            "mcc_group",
            ("retail", "digital_goods", "travel", "gambling", "services"),
            (0.38, 0.17, 0.12, 0.05, 0.28),
        ),
        Cat("country", ("domestic", "eu", "non_eu"), (0.75, 0.2, 0.05)),
    ),
    outcome=_merchant_risk,
    task="binary_classification",
    entity="acquiring merchants (monthly review)",
    label="merchant terminated for fraud or excessive chargebacks within 6 months",
)

# --- supply chain ------------------------------------------------------------------------------


def _weekly_demand(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    week = _f(x, "week_of_year")
    season = 1 + 0.18 * np.sin(2 * np.pi * (week - 10) / 52)
    beverages = _is(x, "product_category", "beverages")
    price_effect = np.exp(-1.1 * (np.log(_f(x, "price_eur")) - np.log(4.5)))
    units = _f(x, "baseline_units") * price_effect * season
    units *= np.where(_is(x, "promo", "yes") > 0, 1.4, 1.0) * np.where(
        _is(x, "holiday_week", "yes") > 0, 1.25, 1.0
    )
    units *= 1 + beverages * 0.02 * (_f(x, "temperature_c") - 12)
    return units * np.where(
        _is(x, "store_type", "hyper") > 0, 1.6, np.where(_is(x, "store_type", "convenience") > 0, 0.6, 1.0)
    )


DEMAND = World(
    columns=(
        Num("week_of_year", "integers", (1, 53), decimals=0),
        Num("price_eur", "lognormal", (4.5, 0.5), lo=0.3, decimals=2),
        Num("baseline_units", "lognormal", (120, 0.6), decimals=0),
        Num("temperature_c", "normal", (12, 8), decimals=1),
        Cat("promo", ("no", "yes"), (0.8, 0.2)),
        Cat("holiday_week", ("no", "yes"), (0.9, 0.1)),
        Cat("store_type", ("hyper", "super", "convenience"), (0.2, 0.5, 0.3)),
        Cat(
            "product_category",
            ("fresh", "dairy", "bakery", "household", "beverages"),
            (0.25, 0.2, 0.15, 0.2, 0.2),
        ),
    ),
    outcome=_weekly_demand,
    task="regression",
    entity="store x product x week combinations",
    label="units sold in the week",
    noise=0.18,
    label_decimals=0,
    covariate_drift={
        "price_eur": ("scale", 1.35),
        "baseline_units": ("scale", 0.8),
        "promo": ("probs", (0.6, 0.4)),
    },
)


def _supplier_delay(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    month = _f(x, "order_month")
    return (
        -1.2
        - 1.8 * _z(_f(x, "supplier_on_time_rate"), 0.857, 0.075)
        + 0.6 * _is(x, "transport_mode", "sea")
        + 0.45 * _is(x, "supplier_region", "asia")
        + 0.4 * _logz(x, "distance_km", 800, 0.9)
        + 0.35 * np.isin(month, (11, 12, 1))
        + 0.2 * _logz(x, "order_qty", 500, 1.0)
        - 0.3 * _z(_f(x, "lead_time_days"), 15, 8.7)
    )


SUPPLIERS = World(
    columns=(
        Num("lead_time_days", "gamma", (3.0, 5.0), lo=1, decimals=0),
        Num("order_qty", "lognormal", (500, 1.0), lo=1, decimals=0),
        Num("supplier_on_time_rate", "beta", (18, 3), decimals=3),
        Num("distance_km", "lognormal", (800, 0.9), decimals=0),
        Num("order_month", "integers", (1, 13), decimals=0),
        Cat("transport_mode", ("road", "sea", "air", "rail"), (0.55, 0.25, 0.1, 0.1)),
        Cat("supplier_region", ("domestic", "eu", "asia", "americas"), (0.4, 0.35, 0.2, 0.05)),
    ),
    outcome=_supplier_delay,
    task="binary_classification",
    entity="purchase order lines",
    label="delivery arrives more than 2 days after the promised date",
)


def _shrinkage(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        1.4
        + 0.9 * _f(x, "self_checkout_share")
        - 0.35 * _is(x, "security_level", "enhanced")
        + 0.25 * _is(x, "security_level", "basic")
        + 0.002 * (_f(x, "sales_volume_k") - 250)
        - 0.01 * (_f(x, "staff_count") - 25)
        + 0.2 * _is(x, "store_type", "convenience")
    )


SHRINKAGE = World(
    columns=(
        Num("sales_volume_k", "lognormal", (250, 0.6), decimals=1),
        Num("staff_count", "poisson", (25,), lo=3, decimals=0),
        Num("self_checkout_share", "beta", (2, 5), decimals=3),
        Cat("store_type", ("hyper", "super", "convenience"), (0.2, 0.5, 0.3)),
        Cat("security_level", ("basic", "standard", "enhanced"), (0.3, 0.5, 0.2)),
        Cat("region", ("north", "south", "east", "west"), (0.28, 0.24, 0.22, 0.26)),
    ),
    outcome=_shrinkage,
    task="regression",
    entity="store x month inventory counts",
    label="inventory shrinkage as % of sales",
    noise=0.25,
    noise_kind="additive",
    label_decimals=3,
)

# --- claims ------------------------------------------------------------------------------------

CLAIM_TYPE = Cat("claim_type", ("motor", "property", "liability", "travel"), (0.45, 0.3, 0.1, 0.15))
CLAIM_CHANNEL = Cat("channel", ("phone", "web", "broker"), (0.4, 0.4, 0.2))


def _claim_complexity(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -1.7
        + 0.9 * _logz(x, "claim_amount_eur", 2500, 1.1)
        + 1.6 * _is(x, "injury", "yes")
        + 0.9 * _is(x, "claim_type", "liability")
        + 0.3 * _f(x, "prior_claims_5y")
        + 0.3 * _logz(x, "days_to_report", 6, 0.8)
        + 0.3 * _is(x, "channel", "broker")
    )


CLAIMS_TRIAGE = World(
    columns=(
        Num("claim_amount_eur", "lognormal", (2500, 1.1), lo=50, decimals=2),
        Num("policy_age_years", "gamma", (2.0, 3.0), decimals=1),
        Num("claimant_age", "normal", (46, 15), lo=18, hi=95, decimals=0),
        Num("prior_claims_5y", "poisson", (0.6,), decimals=0),
        Num("days_to_report", "gamma", (1.5, 4.0), lo=0, decimals=0),
        CLAIM_TYPE,
        Cat("injury", ("no", "yes"), (0.85, 0.15)),
        CLAIM_CHANNEL,
    ),
    outcome=_claim_complexity,
    task="binary_classification",
    entity="first notifications of loss",
    label="claim needed a senior handler (complex)",
)


def _claim_severity(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    base = np.exp(
        7.2
        + 0.9 * _is(x, "injury", "yes")
        + 0.5 * _is(x, "claim_type", "property")
        + 0.7 * _is(x, "claim_type", "liability")
        - 0.6 * _is(x, "claim_type", "travel")
        + 0.35 * _logz(x, "sum_insured_k", 60, 0.8)
        + 0.012 * np.minimum(_f(x, "days_to_report"), 60)
        + 0.01 * (_f(x, "vehicle_age_years") - 8)
    )
    # Repair-cost inflation: motor and property claims cost more, the inputs look the same.
    inflation = 1 + 0.6 * c * _is(x, "claim_type", "motor", "property")
    return base * inflation


CLAIM_SEVERITY = World(
    columns=(
        Num("sum_insured_k", "lognormal", (60, 0.8), decimals=1),
        Num("policy_age_years", "gamma", (2.0, 3.0), decimals=1),
        Num("claimant_age", "normal", (46, 15), lo=18, hi=95, decimals=0),
        Num("vehicle_age_years", "gamma", (2.0, 4.0), hi=40, decimals=0),
        Num("days_to_report", "gamma", (1.5, 4.0), lo=0, decimals=0),
        CLAIM_TYPE,
        Cat("injury", ("no", "yes"), (0.85, 0.15)),
        CLAIM_CHANNEL,
    ),
    outcome=_claim_severity,
    task="regression",
    entity="closed claims",
    label="total claim cost at settlement (EUR)",
    noise=0.35,
)


def _claims_fraud(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -3.0
        + 0.9 * _logz(x, "claim_amount_eur", 2500, 1.1)
        + 0.9 * _f(x, "prior_claims_5y")
        - 0.9 * _logz(x, "policy_age_years", 6, 0.8)
        + 0.7 * _logz(x, "days_to_report", 6, 0.8)
        + 1.3 * _is(x, "witness", "no") * _is(x, "police_report", "no")
        + 0.5 * _is(x, "claim_type", "travel")
    )


CLAIMS_FRAUD = World(
    columns=(
        Num("claim_amount_eur", "lognormal", (2500, 1.1), lo=50, decimals=2),
        Num("policy_age_years", "gamma", (2.0, 3.0), lo=0.1, decimals=1),
        Num("prior_claims_5y", "poisson", (0.6,), decimals=0),
        Num("days_to_report", "gamma", (1.5, 4.0), lo=0, decimals=0),
        Num("claimant_age", "normal", (46, 15), lo=18, hi=95, decimals=0),
        CLAIM_TYPE,
        Cat("witness", ("yes", "no"), (0.4, 0.6)),
        Cat("police_report", ("yes", "no"), (0.35, 0.65)),
    ),
    outcome=_claims_fraud,
    task="binary_classification",
    entity="claims referred to the special investigations unit",
    label="claim confirmed fraudulent by investigators",
)

# --- marketing ---------------------------------------------------------------------------------


def _campaign_response(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    return (
        -2.5
        + 0.8 * _f(x, "past_responses_12m")
        + 0.18 * (_f(x, "email_opens_30d") - 3)
        - 0.7 * _logz(x, "days_since_last_purchase", 45, 0.8)
        + 0.5 * _is(x, "channel", "app_push")
        - 0.6 * _is(x, "channel", "post")
        + 0.35 * _is(x, "segment", "affluent")
        + 0.2 * _logz(x, "income_k", 38, 0.45)
    )


CAMPAIGNS = World(
    columns=(
        Num("age", "normal", (44, 14), lo=18, hi=95, decimals=0),
        Num("income_k", "lognormal", (38, 0.45), lo=8, decimals=1),
        Num("past_responses_12m", "poisson", (0.5,), decimals=0),
        Num("days_since_last_purchase", "gamma", (1.5, 30.0), lo=0, decimals=0),
        Num("email_opens_30d", "poisson", (3.0,), decimals=0),
        Cat("segment", ("mass", "affluent", "youth"), (0.6, 0.22, 0.18)),
        Cat("channel", ("email", "sms", "app_push", "post"), (0.45, 0.15, 0.3, 0.1)),
    ),
    outcome=_campaign_response,
    task="binary_classification",
    entity="customers targeted in direct campaigns",
    label="customer buys the promoted product within 14 days",
)


def _marketing_mix(x: pd.DataFrame, c: np.ndarray) -> np.ndarray:
    season = {"q1": -60.0, "q2": 0.0, "q3": -30.0, "q4": 140.0}
    quarter = x["quarter"].map(season).to_numpy(dtype=float)
    return (
        900
        + 2.1 * _f(x, "tv_spend_k")
        + 3.0 * _f(x, "online_spend_k")
        + 1.2 * _f(x, "print_spend_k")
        - 6.0 * (_f(x, "price_index") - 100)
        + quarter
        + 50 * _is(x, "region", "south")
    )


MARKETING_MIX = World(
    columns=(
        Num("tv_spend_k", "gamma", (2.0, 30.0), decimals=1),
        Num("online_spend_k", "gamma", (2.5, 20.0), decimals=1),
        Num("print_spend_k", "gamma", (1.5, 8.0), decimals=1),
        Num("price_index", "normal", (100, 5), decimals=1),
        Cat("quarter", ("q1", "q2", "q3", "q4"), (0.25, 0.25, 0.25, 0.25)),
        Cat("region", ("north", "south", "east", "west"), (0.28, 0.24, 0.22, 0.26)),
    ),
    outcome=_marketing_mix,
    task="regression",
    entity="region x week marketing plans",
    label="weekly sales (k EUR)",
    noise=60.0,
    noise_kind="additive",
    label_decimals=1,
)

WORLDS: dict[str, World] = {
    "retail_credit": RETAIL_CREDIT,
    "sme_credit": SME_CREDIT,
    "credit_lines": CREDIT_LINES,
    "mortgages": MORTGAGES,
    "churn": CHURN,
    "clv": CLV,
    "next_best_offer": NEXT_BEST_OFFER,
    "card_fraud": CARD_FRAUD,
    "account_takeover": ACCOUNT_TAKEOVER,
    "merchants": MERCHANTS,
    "demand": DEMAND,
    "suppliers": SUPPLIERS,
    "shrinkage": SHRINKAGE,
    "claims_triage": CLAIMS_TRIAGE,
    "claim_severity": CLAIM_SEVERITY,
    "claims_fraud": CLAIMS_FRAUD,
    "campaigns": CAMPAIGNS,
    "marketing_mix": MARKETING_MIX,
}
