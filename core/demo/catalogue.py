"""What the demo portfolio holds: people, data sources, business processes and 18 models.

Dates are given as days before the build's ``today`` so that the same catalogue yields the
same history whenever it is built. The facts other areas test against (which models drift,
which one had an outage, whose owner left...) are derived from these plans in ``DEMO_FACTS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.demo.worlds import WORLDS

# --- people --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    email: str
    name: str
    team: str
    roles: tuple[tuple[str, str], ...]  # (role, business unit or "" for all)


ANNA = "anna.dekker@demo.steward"
TOM = "tom.jansen@demo.steward"
PRIYA = "priya.shah@demo.steward"
MARCO = "marco.rossi@demo.steward"
LISA = "lisa.meyer@demo.steward"
SVEN = "sven.olsen@demo.steward"
EVA = "eva.visser@demo.steward"
NOAH = "noah.berg@demo.steward"
JAN = "jan.devries@demo.steward"
FATIMA = "fatima.ouali@demo.steward"
LUKAS = "lukas.becker@demo.steward"
INES = "ines.moreau@demo.steward"
HENRIK = "henrik.larsen@demo.steward"
SOPHIE = "sophie.laurent@demo.steward"
DANIEL = "daniel.novak@demo.steward"
MEI = "mei.tanaka@demo.steward"
RUTH = "ruth.okafor@demo.steward"
CARLOS = "carlos.mendes@demo.steward"

PERSONAS: tuple[Persona, ...] = (
    Persona(ANNA, "Anna Dekker", "Credit Risk", (("model_owner", "Credit risk"), ("viewer", ""))),
    Persona(TOM, "Tom Jansen", "Data Science", (("model_owner", ""),)),
    Persona(PRIYA, "Priya Shah", "Model Validation", (("approver", ""),)),
    Persona(MARCO, "Marco Rossi", "Risk Management", (("approver", ""),)),
    Persona(LISA, "Lisa Meyer", "Claims", (("labeller", ""),)),
    Persona(SVEN, "Sven Olsen", "Fraud Operations", (("labeller", ""),)),
    Persona(EVA, "Eva Visser", "Platform", (("admin", ""),)),
    Persona(NOAH, "Noah Berg", "Finance", (("viewer", ""),)),
    Persona(JAN, "Jan de Vries", "Data Science", (("model_owner", ""),)),
    Persona(FATIMA, "Fatima Ouali", "Data Science", (("model_owner", ""),)),
    Persona(LUKAS, "Lukas Becker", "Data Science", (("model_owner", ""),)),
    Persona(INES, "Ines Moreau", "Data Science", (("model_owner", ""),)),
    Persona(HENRIK, "Henrik Larsen", "Model Validation", (("approver", ""),)),
    Persona(
        SOPHIE,
        "Sophie Laurent",
        "Customer Retention",
        (("model_owner", "Customer retention"), ("viewer", "")),
    ),
    Persona(DANIEL, "Daniel Novak", "Fraud Operations", (("model_owner", "Fraud detection"), ("viewer", ""))),
    Persona(MEI, "Mei Tanaka", "Supply Chain", (("model_owner", "Supply chain"), ("viewer", ""))),
    Persona(RUTH, "Ruth Okafor", "Claims", (("model_owner", "Claims"), ("viewer", ""))),
    Persona(CARLOS, "Carlos Mendes", "Marketing", (("model_owner", "Marketing"), ("viewer", ""))),
)

LEAVER = JAN
LEAVER_LEFT_DAYS_AGO = 75

# --- data sources and business processes ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    location: str
    owner_team: str
    description: str


SOURCES: tuple[Source, ...] = (
    Source(
        "Core banking DB",
        "database",
        "postgresql://corebank-prod.internal/ledger",
        "Core Banking IT",
        "Accounts, loans, balances and repayment history of all retail and SME customers.",
    ),
    Source(
        "Credit bureau feed",
        "api",
        "https://api.bureau.example/v2/reports",
        "Credit Risk",
        "External credit reports pulled at application and monthly for the loan book.",
    ),
    Source(
        "CRM",
        "database",
        "oracle://crm-prod.internal/customers",
        "Customer Data",
        "Customer master data, products held, contracts, contact history and campaign responses.",
    ),
    Source(
        "Card transactions stream",
        "stream",
        "kafka://payments-prod/card-authorisations",
        "Payments",
        "Every card authorisation request in real time, with merchant and terminal data.",
    ),
    Source(
        "Web analytics",
        "stream",
        "kafka://digital-prod/clickstream",
        "Digital Channels",
        "Log-ins, sessions, devices and clicks from the app and online banking.",
    ),
    Source(
        "Merchant acquiring platform",
        "database",
        "postgresql://acquiring-prod.internal/merchants",
        "Payments",
        "Acquired merchants, monthly volumes, refunds and chargebacks.",
    ),
    Source(
        "ERP",
        "database",
        "sap://erp-prod.internal/MM",
        "Supply Chain IT",
        "Purchase orders, deliveries, stock counts, prices and store master data.",
    ),
    Source(
        "Claims system",
        "database",
        "postgresql://claims-prod.internal/claims",
        "Claims IT",
        "First notifications of loss, claim handling steps, reserves and settlements.",
    ),
    Source(
        "Policy admin system",
        "database",
        "db2://policy-prod.internal/policies",
        "Insurance IT",
        "Insurance policies, sums insured, cover and policy history.",
    ),
    Source(
        "Marketing data warehouse",
        "database",
        "snowflake://marketing.internal/dw",
        "Marketing Analytics",
        "Campaign plans, media spend, contacts and responses.",
    ),
)


@dataclass(frozen=True)
class Process:
    name: str
    unit: str
    description: str
    kpi: str
    kpi_unit: str


PROCESSES: tuple[Process, ...] = (
    Process(
        "Consumer loan origination",
        "Credit risk",
        "Decide on consumer loan applications within minutes.",
        "Default rate of new loans (12 months)",
        "%",
    ),
    Process(
        "SME lending",
        "Credit risk",
        "Credit decisions and annual reviews for small and medium enterprises.",
        "SME portfolio loss rate",
        "%",
    ),
    Process(
        "Credit line management",
        "Credit risk",
        "Set and review credit card and overdraft limits.",
        "Credit line utilisation",
        "%",
    ),
    Process(
        "Mortgage portfolio management",
        "Credit risk",
        "Retain mortgage customers and plan funding.",
        "Early repayment rate",
        "%",
    ),
    Process(
        "Customer retention campaigns",
        "Customer retention",
        "Find customers at risk of leaving and act in time.",
        "Monthly churn rate",
        "%",
    ),
    Process(
        "Card payment authorisation",
        "Fraud detection",
        "Approve, challenge or block card payments in real time.",
        "Fraud losses per 1,000 EUR of card spend",
        "EUR",
    ),
    Process(
        "Online banking security",
        "Fraud detection",
        "Protect online banking log-ins against account takeover.",
        "Account takeover losses",
        "EUR/month",
    ),
    Process(
        "Merchant onboarding and review",
        "Fraud detection",
        "Accept and review acquiring merchants.",
        "Chargeback rate",
        "%",
    ),
    Process(
        "Replenishment planning",
        "Supply chain",
        "Order stock for stores week by week.",
        "Forecast error (WAPE)",
        "%",
    ),
    Process(
        "Inbound logistics",
        "Supply chain",
        "Plan and expedite inbound deliveries from suppliers.",
        "On-time in-full deliveries",
        "%",
    ),
    Process(
        "Claims handling",
        "Claims",
        "Register, route, reserve and settle insurance claims.",
        "Average claim handling time",
        "days",
    ),
    Process(
        "Campaign management",
        "Marketing",
        "Plan direct campaigns and the media budget.",
        "Campaign return on investment",
        "%",
    ),
)

# --- models -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionPlan:
    created: int  # days before today
    estimator: str  # key of core.demo.training.ESTIMATORS
    params: dict[str, Any]
    events: tuple[tuple[int, str], ...] = ()  # (days before today, new stage), oldest first
    note: str = ""
    n_rows: int = 3000  # generated rows; 75% train, 25% out-of-time evaluation
    features: tuple[str, ...] | None = None  # None: every column of the world
    blank_card: tuple[str, ...] = ()  # model-card sections left empty on purpose


@dataclass(frozen=True)
class RulePlan:
    name: str
    operator: str
    outcome: str
    description: str
    history: tuple[tuple[int, float], ...]  # (days before today it took effect, threshold)


@dataclass(frozen=True)
class CostPlan:
    compute: float  # EUR/day
    storage: float
    inference: float
    labelling: float = 0.0
    growth: float = 0.1  # per year
    peak_month: int = 12
    amplitude: float = 0.12


@dataclass(frozen=True)
class ModelPlan:
    name: str
    unit: str
    world: str
    process: str
    status: str
    methodology: str
    purpose: str
    intended_use: str
    out_of_scope_uses: str
    primary_metric: str
    thresholds: dict[str, dict[str, float]]
    sources: tuple[str, ...]  # first one is the training data's own source
    business_owner: str
    technical_owner: str
    validators: tuple[str, ...]
    backups: tuple[str, ...]
    versions: tuple[VersionPlan, ...]
    endpoint: str
    costs: CostPlan
    limitations: str
    ethics: str
    caveats: str
    rules: tuple[RulePlan, ...] = ()
    labeller: str | None = None  # labels come from the pipeline (system) when None
    covariate_drift_days: int | None = None  # covariate drift ramps up over the last N days
    concept_drift_days: int | None = None  # concept drift ramps up over the last N days
    outage_days: int | None = None  # no predictions over the last N days
    retired_days: int | None = None
    # (column, group, N): over the last N days the outcome of that group's cases stops following the
    # model (a growing share of its labels is the opposite of what it predicts); other groups stay as they were.
    segment_drift: tuple[str, str, int] | None = None

    @property
    def task(self) -> str:
        return WORLDS[self.world].task

    @property
    def target(self) -> str:
        return WORLDS[self.world].label


def _v(
    created: int, estimator: str, params: dict[str, Any], *events: tuple[int, str], **kw: Any
) -> VersionPlan:
    return VersionPlan(created=created, estimator=estimator, params=params, events=tuple(events), **kw)


def _promoted(created: int) -> tuple[tuple[int, str], tuple[int, str]]:
    """Staging about 10 days after the build, production about 10 days later."""
    return (created - 10, "staging"), (created - 20, "production")


AUC = "roc_auc"
FAIR_LENDING = (
    "Age and region are inputs; no protected attribute beyond age is used. Approval rates by age band are "
    "reviewed quarterly for unjustified disparities under the consumer credit directive."
)

MODELS: tuple[ModelPlan, ...] = (
    ModelPlan(
        name="Retail credit scoring",
        unit="Credit risk",
        world="retail_credit",
        process="Consumer loan origination",
        status="production",
        methodology="Gradient boosted trees (scorecard logistic regression until v1)",
        purpose="Estimate the probability that a consumer loan applicant defaults within 12 months.",
        intended_use="Automated and assisted decisions on unsecured consumer loans up to 80k EUR in the retail channel.",
        out_of_scope_uses="Mortgages, SME loans, collections strategy, pricing of existing loans, any use outside the EU.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.72}, "brier_score": {"max": 0.15}},
        sources=("Core banking DB", "Credit bureau feed"),
        business_owner=ANNA,
        technical_owner=TOM,
        validators=(PRIYA,),
        backups=(INES,),
        versions=(
            _v(
                720,
                "logreg",
                {"C": 1.0},
                *_promoted(720),
                note="Logistic scorecard replacing the rule-based process.",
                features=(
                    "age",
                    "income_k",
                    "loan_amount_k",
                    "debt_to_income",
                    "credit_history_years",
                    "late_payments_12m",
                    "employment_type",
                    "housing",
                ),
            ),
            _v(
                430,
                "gb_clf",
                {"n_estimators": 120, "max_depth": 3, "learning_rate": 0.08},
                *_promoted(430),
                note="Gradient boosting; adds loan term and region.",
            ),
            _v(
                160,
                "hgb_clf",
                {"max_iter": 200, "max_depth": 3, "learning_rate": 0.06},
                *_promoted(160),
                note="Retrained on 12 more months of outcomes.",
            ),
            _v(
                20,
                "hgb_clf",
                {"max_iter": 250, "max_depth": 3, "learning_rate": 0.05},
                (12, "staging"),
                note="Quarterly retrain, candidate for production.",
            ),
        ),
        endpoint="https://ml.demo.steward/credit/retail-scoring",
        costs=CostPlan(compute=55, storage=9, inference=70, labelling=12, growth=0.15, peak_month=11),
        limitations="Applicants with less than 6 months of credit history are scored on few signals; their scores "
        "are less reliable and are referred to an underwriter.",
        ethics=FAIR_LENDING,
        caveats="Scores assume the application data is verified; income is self-declared below 25k EUR.",
        rules=(
            RulePlan(
                "Automatic decline",
                ">",
                "decline application",
                "Applications above this default probability are declined without manual review.",
                ((690, 0.40), (140, 0.35)),
            ),
            RulePlan(
                "Underwriter referral",
                ">",
                "refer to underwriter",
                "Applications between the referral and decline thresholds go to an underwriter.",
                ((400, 0.18),),
            ),
        ),
    ),
    ModelPlan(
        name="SME default probability",
        unit="Credit risk",
        world="sme_credit",
        process="SME lending",
        status="production",
        methodology="Logistic regression",
        purpose="Probability of default of small and medium enterprises over the next 12 months.",
        intended_use="Credit decisions and annual reviews of SME clients with turnover below 50m EUR.",
        out_of_scope_uses="Large corporates, project finance, start-ups younger than 6 months, regulatory capital (IRB).",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.72}},
        sources=("Core banking DB", "Credit bureau feed"),
        business_owner=ANNA,
        technical_owner=TOM,
        validators=(PRIYA, MARCO),
        backups=(INES,),
        versions=(
            _v(620, "logreg", {"C": 0.5}, *_promoted(620), note="First statistical SME model."),
            _v(
                300,
                "logreg",
                {"C": 1.0},
                *_promoted(300),
                note="Recalibrated after the 2025 annual review.",
                n_rows=3600,
            ),
            _v(40, "logreg", {"C": 2.0}, note="Experiment with weaker regularisation."),
        ),
        endpoint="https://ml.demo.steward/credit/sme-pd",
        costs=CostPlan(
            compute=18, storage=4, inference=12, labelling=6, growth=0.08, peak_month=3, amplitude=0.2
        ),
        limitations="Financial ratios come from the last filed accounts and can be up to 18 months old.",
        ethics="No personal data of business owners is used.",
        caveats="Sector effects are estimated on few defaults in agriculture; treat agriculture scores with care.",
        rules=(
            RulePlan(
                "Credit committee referral",
                ">",
                "refer to credit committee",
                "Cases above this PD need a credit committee decision.",
                ((590, 0.25),),
            ),
        ),
    ),
    ModelPlan(
        name="Credit limit recommendation",
        unit="Credit risk",
        world="credit_lines",
        process="Credit line management",
        status="production",
        methodology="Gradient boosted regression trees",
        purpose="Recommend a credit card or overdraft limit that the customer can carry.",
        intended_use="Limit proposals at card issue and in the semi-annual limit review, confirmed by an officer above 15k EUR.",
        out_of_scope_uses="Limit decreases for customers in arrears, business cards.",
        primary_metric="mae",
        thresholds={"mae": {"max": 2.5}, "r2": {"min": 0.6}},
        sources=("Core banking DB", "CRM"),
        business_owner=ANNA,
        technical_owner=TOM,
        validators=(PRIYA,),
        backups=(LUKAS,),
        versions=(
            _v(
                600,
                "gb_reg",
                {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1},
                *_promoted(600),
                note="First limit model.",
            ),
            _v(
                330,
                "gb_reg",
                {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.08},
                *_promoted(330),
                note="Retrain with utilisation history.",
            ),
            _v(
                25,
                "hgb_reg",
                {"max_iter": 200, "max_depth": 3, "learning_rate": 0.06},
                note="Histogram boosting trial.",
            ),
        ),
        endpoint="https://ml.demo.steward/credit/limit-recommendation",
        costs=CostPlan(compute=22, storage=5, inference=28, growth=0.1),
        limitations="Trained on limits granted under the 2024-2025 credit policy; a policy change invalidates it.",
        ethics=FAIR_LENDING,
        caveats="Income inflation moves the input distribution; limits are not automatically indexed.",
        covariate_drift_days=150,
    ),
    ModelPlan(
        name="Mortgage early repayment",
        unit="Credit risk",
        world="mortgages",
        process="Mortgage portfolio management",
        status="production",
        methodology="Random forest",
        purpose="Predict which mortgages will be repaid in full within 12 months.",
        intended_use="Retention calls before the fixed-rate period ends; funding and hedging plans of Treasury.",
        out_of_scope_uses="Pricing of new mortgages, credit decisions.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.7}},
        sources=("Core banking DB",),
        business_owner=ANNA,
        technical_owner=JAN,
        validators=(MARCO,),
        backups=(TOM,),
        versions=(
            _v(
                700,
                "rf_clf",
                {"n_estimators": 60, "max_depth": 6, "min_samples_leaf": 10},
                *_promoted(700),
                note="First prepayment model.",
            ),
            _v(
                420,
                "rf_clf",
                {"n_estimators": 80, "max_depth": 8, "min_samples_leaf": 5},
                *_promoted(420),
                note="Adds rate gap to market; deeper trees.",
            ),
        ),
        endpoint="batch://airflow/mortgage_prepayment_monthly",
        costs=CostPlan(compute=14, storage=4, inference=6, growth=0.05, peak_month=1),
        limitations="The rate gap assumes today's market rates; sudden rate moves make the scores stale within weeks.",
        ethics="Used only for offers; it never worsens a customer's conditions.",
        caveats="Jan de Vries built both versions; documentation of the feature pipeline is thin.",
        rules=(
            RulePlan(
                "Retention call",
                ">",
                "offer rate review",
                "Customers above this probability get a call from their adviser.",
                ((400, 0.55),),
            ),
        ),
    ),
    ModelPlan(
        name="Retail churn propensity",
        unit="Customer retention",
        world="churn",
        process="Customer retention campaigns",
        status="production",
        methodology="Random forest",
        purpose="Probability that a retail customer closes all products within 90 days.",
        intended_use="Select customers for retention offers and adviser calls each month.",
        out_of_scope_uses="Pricing, credit decisions, any decision that worsens a customer's conditions.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.72}},
        sources=("CRM", "Web analytics", "Core banking DB"),
        business_owner=SOPHIE,
        technical_owner=TOM,
        validators=(PRIYA,),
        backups=(INES,),
        versions=(
            _v(
                650,
                "rf_clf",
                {"n_estimators": 80, "max_depth": 6, "min_samples_leaf": 10},
                *_promoted(650),
                note="First churn model.",
            ),
            _v(
                380,
                "rf_clf",
                {"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 5},
                *_promoted(380),
                note="Adds digital activity (log-ins).",
            ),
            _v(
                30,
                "hgb_clf",
                {"max_iter": 150, "max_depth": 3, "learning_rate": 0.08},
                (10, "staging"),
                note="Retrained on recent months after the app redesign.",
                blank_card=("card_evaluation", "card_caveats"),
            ),
        ),
        endpoint="batch://airflow/churn_scoring_monthly",
        costs=CostPlan(compute=30, storage=7, inference=15, growth=0.12, peak_month=1),
        limitations="Log-in counts changed meaning with the new app (single sign-on); recent scores rely on them.",
        ethics="Retention offers differ by score; offers are reviewed so that no group is systematically excluded.",
        caveats="Customers with a single product churn silently; their scores are the least reliable.",
        rules=(
            RulePlan(
                "Retention offer",
                ">",
                "send retention offer",
                "Customers above this churn probability get a retention offer.",
                ((630, 0.5), (200, 0.45)),
            ),
        ),
        covariate_drift_days=180,
    ),
    ModelPlan(
        name="Customer lifetime value",
        unit="Customer retention",
        world="clv",
        process="Customer retention campaigns",
        status="production",
        methodology="Ridge regression",
        purpose="Expected net revenue of a customer over the next 12 months.",
        intended_use="Prioritise retention spend and adviser capacity.",
        out_of_scope_uses="Credit limits, individual pricing.",
        primary_metric="mae",
        thresholds={"mae": {"max": 320.0}, "r2": {"min": 0.4}},
        sources=("CRM", "Core banking DB"),
        business_owner=SOPHIE,
        technical_owner=TOM,
        validators=(HENRIK,),
        backups=(INES,),
        versions=(
            _v(560, "ridge", {"alpha": 1.0}, *_promoted(560), note="Linear CLV model."),
            _v(250, "ridge", {"alpha": 3.0}, *_promoted(250), note="Refit with the new product margins."),
        ),
        endpoint="batch://airflow/clv_quarterly",
        costs=CostPlan(compute=8, storage=3, inference=5, growth=0.05),
        limitations="Linear in fees and balances; very wealthy customers are under-estimated.",
        ethics="Value estimates are never shown to customers or used to refuse service.",
        caveats="Product margins are taken from the 2025 finance plan.",
    ),
    ModelPlan(
        name="Next best offer response",
        unit="Customer retention",
        world="next_best_offer",
        process="Customer retention campaigns",
        status="validation",
        methodology="Neural network (multi-layer perceptron)",
        purpose="Probability that a customer accepts a given offer, to choose the offer shown in the app.",
        intended_use="Ranking of offers in the app's offer carousel.",
        out_of_scope_uses="Advice on investment products (MiFID suitability), credit decisions.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.7}},
        sources=("CRM", "Web analytics"),
        business_owner=SOPHIE,
        technical_owner=INES,
        validators=(HENRIK,),
        backups=(TOM,),
        versions=(
            _v(480, "mlp_clf", {"hidden_layer_sizes": [16], "alpha": 0.01}, note="Prototype."),
            _v(
                220,
                "mlp_clf",
                {"hidden_layer_sizes": [32, 16], "alpha": 0.3},
                (200, "staging"),
                (90, "archived"),
                note="Rejected in validation: lift too small.",
            ),
            _v(
                50,
                "mlp_clf",
                {"hidden_layer_sizes": [32, 16], "alpha": 1.0},
                (35, "staging"),
                note="More regularisation, more click history.",
                n_rows=4000,
            ),
        ),
        endpoint="https://ml.demo.steward/retention/next-best-offer",
        costs=CostPlan(compute=16, storage=3, inference=0, growth=0.2),
        limitations="Offer acceptance is hard to predict; the lift over a random choice is small.",
        ethics="Investment offers may only be shown after the suitability check, whatever the score.",
        caveats="Trained on offers chosen by the previous rule engine (selection bias).",
    ),
    ModelPlan(
        name="Card fraud detection",
        unit="Fraud detection",
        world="card_fraud",
        process="Card payment authorisation",
        status="production",
        methodology="Histogram gradient boosting",
        purpose="Score each card authorisation for fraud in real time.",
        intended_use="Block, challenge (3-D Secure / SMS) or approve card payments; queue cases for fraud analysts.",
        out_of_scope_uses="Decisions about the cardholder's account or credit; merchant monitoring.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.78}},
        sources=("Card transactions stream", "Core banking DB"),
        business_owner=DANIEL,
        technical_owner=FATIMA,
        validators=(MARCO,),
        backups=(TOM,),
        versions=(
            _v(
                690,
                "gb_clf",
                {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1},
                *_promoted(690),
                note="Replaces the vendor rules.",
            ),
            _v(
                390,
                "hgb_clf",
                {"max_iter": 200, "max_depth": 3, "learning_rate": 0.08},
                *_promoted(390),
                note="Faster scoring, 12 more months of confirmed fraud.",
                n_rows=4000,
            ),
            _v(
                25,
                "hgb_clf",
                {"max_iter": 250, "max_depth": 3, "learning_rate": 0.08},
                (8, "staging"),
                note="Emergency retrain on the skimming pattern.",
                n_rows=4000,
            ),
        ),
        endpoint="https://ml.demo.steward/fraud/card-authorisation",
        costs=CostPlan(
            compute=60, storage=18, inference=160, labelling=45, growth=0.18, peak_month=12, amplitude=0.2
        ),
        limitations="Learns from confirmed fraud only; new fraud patterns are missed until they are confirmed.",
        ethics="Blocked payments can hurt customers abroad; challenge rates by country are monitored.",
        caveats="Labels arrive with delay (chargebacks take up to 2 weeks).",
        rules=(
            RulePlan(
                "Block authorisation",
                ">=",
                "block payment",
                "Payments above this score are declined.",
                ((670, 0.9),),
            ),
            RulePlan(
                "Step-up verification",
                ">=",
                "challenge with 3-D Secure",
                "Payments above this score are challenged.",
                ((670, 0.6), (375, 0.5)),
            ),
        ),
        labeller=SVEN,
        concept_drift_days=120,
    ),
    ModelPlan(
        name="Account takeover detection",
        unit="Fraud detection",
        world="account_takeover",
        process="Online banking security",
        status="production",
        methodology="Logistic regression",
        purpose="Detect online banking log-ins made by someone other than the customer.",
        intended_use="Step-up authentication and session blocking in online banking.",
        out_of_scope_uses="Card payments, branch transactions.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.78}},
        sources=("Web analytics",),
        business_owner=DANIEL,
        technical_owner=FATIMA,
        validators=(MARCO,),
        backups=(INES,),
        versions=(
            _v(540, "logreg", {"C": 1.0}, *_promoted(540), note="First log-in risk model."),
            _v(260, "logreg", {"C": 0.5}, *_promoted(260), note="Adds password reset signal."),
        ),
        endpoint="https://ml.demo.steward/fraud/login-risk",
        costs=CostPlan(compute=12, storage=6, inference=40, labelling=20, growth=0.1),
        limitations="Device fingerprints are missing for about 5% of web log-ins.",
        ethics="Step-up prompts must not lock out customers without a smartphone; an alternative is offered.",
        caveats="Confirmed takeovers are rare; the score is calibrated on few positives.",
        rules=(
            RulePlan(
                "Step-up authentication",
                ">",
                "ask for second factor",
                "Log-ins above this score must confirm with a second factor.",
                ((520, 0.5),),
            ),
        ),
        labeller=SVEN,
        outage_days=21,
    ),
    ModelPlan(
        name="Merchant risk scoring",
        unit="Fraud detection",
        world="merchants",
        process="Merchant onboarding and review",
        status="production",
        methodology="k-nearest neighbours",
        purpose="Rank acquired merchants by the risk of fraud or excessive chargebacks.",
        intended_use="Monthly review queue of the merchant risk team; onboarding checks.",
        out_of_scope_uses="Pricing of merchant fees, decisions on individual payments.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.72}},
        sources=("Merchant acquiring platform", "Card transactions stream"),
        business_owner=DANIEL,
        technical_owner=FATIMA,
        validators=(PRIYA,),
        backups=(TOM,),
        versions=(
            _v(600, "knn_clf", {"n_neighbors": 25}, *_promoted(600), note="Nearest-neighbour analogues."),
            _v(
                410,
                "knn_clf",
                {"n_neighbors": 40, "weights": "distance"},
                *_promoted(410),
                note="More neighbours, distance weighting.",
            ),
        ),
        endpoint="batch://airflow/merchant_review_monthly",
        costs=CostPlan(compute=9, storage=4, inference=7, labelling=15, growth=0.06),
        limitations="Merchants in rare categories have few neighbours; their scores are noisy.",
        ethics="No personal data of merchant owners is used.",
        caveats="Chargeback rates lag by up to 3 months.",
        rules=(
            RulePlan(
                "Enhanced due diligence",
                ">",
                "start enhanced due diligence",
                "Merchants above this score get an enhanced review.",
                ((395, 0.5),),
            ),
        ),
        labeller=SVEN,
    ),
    ModelPlan(
        name="Weekly demand forecast",
        unit="Supply chain",
        world="demand",
        process="Replenishment planning",
        status="production",
        methodology="Histogram gradient boosting regression",
        purpose="Forecast units sold per store, product and week.",
        intended_use="Automatic replenishment orders for fresh and ambient products.",
        out_of_scope_uses="New products without sales history, promotions planning, financial forecasts.",
        primary_metric="mae",
        thresholds={"mae": {"max": 45.0}, "r2": {"min": 0.5}},
        sources=("ERP",),
        business_owner=MEI,
        technical_owner=LUKAS,
        validators=(HENRIK,),
        backups=(FATIMA,),
        versions=(
            _v(700, "ridge", {"alpha": 1.0}, *_promoted(700), note="Linear baseline."),
            _v(
                480,
                "rf_reg",
                {"n_estimators": 60, "max_depth": 8, "min_samples_leaf": 5},
                *_promoted(480),
                note="Random forest with weather.",
            ),
            _v(
                200,
                "hgb_reg",
                {"max_iter": 200, "max_depth": 3, "learning_rate": 0.08},
                *_promoted(200),
                note="Boosting; better on promotions.",
            ),
            _v(
                15,
                "hgb_reg",
                {"max_iter": 300, "max_depth": 3, "learning_rate": 0.06},
                note="Trial with more iterations.",
            ),
        ),
        endpoint="batch://airflow/demand_forecast_weekly",
        costs=CostPlan(compute=45, storage=12, inference=25, growth=0.1, peak_month=12, amplitude=0.25),
        limitations="Prices are taken as given; the forecast does not anticipate price changes.",
        ethics="No personal data.",
        caveats="Inflation moves prices and volumes; the training data predates the 2026 price increases.",
        covariate_drift_days=150,
    ),
    ModelPlan(
        name="Supplier delay risk",
        unit="Supply chain",
        world="suppliers",
        process="Inbound logistics",
        status="production",
        methodology="Random forest",
        purpose="Probability that a purchase order line arrives more than 2 days late.",
        intended_use="Expedite or re-route orders at risk; plan safety stock.",
        out_of_scope_uses="Supplier performance reviews or contract penalties.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.7}},
        sources=("ERP",),
        business_owner=MEI,
        technical_owner=LUKAS,
        validators=(MARCO,),
        backups=(),
        versions=(
            _v(
                520,
                "rf_clf",
                {"n_estimators": 60, "max_depth": 6, "min_samples_leaf": 10},
                *_promoted(520),
                note="First delay model.",
            ),
            _v(
                220,
                "rf_clf",
                {"n_estimators": 80, "max_depth": 8, "min_samples_leaf": 5},
                *_promoted(220),
                note="Adds transport mode and seasonality.",
            ),
        ),
        endpoint="batch://airflow/supplier_delay_daily",
        costs=CostPlan(compute=10, storage=3, inference=6, growth=0.05, peak_month=11),
        limitations="Only the first 30 suppliers by volume have enough history.",
        ethics="No personal data.",
        caveats="Port strikes and other one-off events are not in the training data.",
        rules=(
            RulePlan(
                "Expedite order",
                ">",
                "expedite",
                "Order lines above this probability are expedited.",
                ((500, 0.69),),
            ),
        ),
    ),
    ModelPlan(
        name="Inventory shrinkage estimate",
        unit="Supply chain",
        world="shrinkage",
        process="Replenishment planning",
        status="retired",
        methodology="Linear regression",
        purpose="Estimate monthly inventory shrinkage per store to plan stock counts.",
        intended_use="Prioritise stores for stock counts.",
        out_of_scope_uses="Staff performance evaluation.",
        primary_metric="mae",
        thresholds={"mae": {"max": 0.3}},
        sources=("ERP",),
        business_owner=MEI,
        technical_owner=LUKAS,
        validators=(HENRIK,),
        backups=(INES,),
        versions=(
            _v(900, "linreg", {}, *_promoted(900), note="First estimate."),
            _v(600, "linreg", {}, *_promoted(600), (120, "archived"), note="Adds self-checkout share."),
        ),
        endpoint="batch://airflow/shrinkage_monthly",
        costs=CostPlan(compute=4, storage=2, inference=2, growth=0.0),
        limitations="Store-level only; cannot say which products go missing.",
        ethics="Must not be used to evaluate individual staff.",
        caveats="Replaced by RFID stock counts in 2026; retired.",
        retired_days=120,
    ),
    ModelPlan(
        name="Claims triage",
        unit="Claims",
        world="claims_triage",
        process="Claims handling",
        status="production",
        methodology="Gradient boosted trees",
        purpose="Probability that a new claim is complex and needs a senior handler.",
        intended_use="Route first notifications of loss to the right handling team.",
        out_of_scope_uses="Claim acceptance or rejection, reserves, fraud decisions.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.72}},
        sources=("Claims system", "Policy admin system"),
        business_owner=RUTH,
        technical_owner=TOM,
        validators=(PRIYA,),
        backups=(FATIMA,),
        versions=(
            _v(
                640,
                "gb_clf",
                {"n_estimators": 80, "max_depth": 3, "learning_rate": 0.1},
                *_promoted(640),
                note="First triage model.",
            ),
            _v(
                350,
                "gb_clf",
                {"n_estimators": 120, "max_depth": 3, "learning_rate": 0.08},
                *_promoted(350),
                note="Adds reporting delay and channel.",
            ),
            _v(
                60,
                "rf_clf",
                {"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 5},
                (45, "staging"),
                note="Random forest challenger.",
            ),
        ),
        endpoint="https://ml.demo.steward/claims/triage",
        costs=CostPlan(
            compute=20, storage=5, inference=18, labelling=30, growth=0.08, peak_month=1, amplitude=0.18
        ),
        limitations="Injury is as reported at first notification; it is often updated later.",
        ethics="Routing must not delay claims of vulnerable customers; handlers can override.",
        caveats="Labels come from handlers' reassignment decisions, which vary between teams.",
        # Since the new online claim form, what makes a web claim complex no longer matches the model.
        segment_drift=("channel", "web", 240),
        rules=(
            RulePlan(
                "Senior handler routing",
                ">",
                "route to senior handler",
                "Claims above this probability go to the senior team.",
                ((620, 0.6),),
            ),
        ),
        labeller=LISA,
    ),
    ModelPlan(
        name="Claim severity estimate",
        unit="Claims",
        world="claim_severity",
        process="Claims handling",
        status="production",
        methodology="Random forest regression",
        purpose="Expected total cost of a claim at settlement, for the initial reserve.",
        intended_use="Initial case reserves for motor, property, liability and travel claims.",
        out_of_scope_uses="Settlement offers to customers, IFRS 17 reserving at portfolio level.",
        primary_metric="mae",
        thresholds={"mae": {"max": 1400.0}},
        sources=("Claims system", "Policy admin system"),
        business_owner=RUTH,
        technical_owner=TOM,
        validators=(PRIYA,),
        backups=(LUKAS,),
        versions=(
            _v(
                560,
                "rf_reg",
                {"n_estimators": 60, "max_depth": 6, "min_samples_leaf": 10},
                *_promoted(560),
                note="First severity model.",
            ),
            _v(
                300,
                "rf_reg",
                {"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 5},
                *_promoted(300),
                note="Adds vehicle age.",
            ),
        ),
        endpoint="https://ml.demo.steward/claims/severity",
        costs=CostPlan(compute=14, storage=4, inference=10, labelling=10, growth=0.06),
        limitations="Large losses above 100k EUR are rare in the data and underestimated.",
        ethics="Reserves do not influence what the customer is paid.",
        caveats="Repair costs rose in 2026; the model has not seen that inflation.",
        labeller=LISA,
        concept_drift_days=100,
    ),
    ModelPlan(
        name="Claims fraud flag",
        unit="Claims",
        world="claims_fraud",
        process="Claims handling",
        status="validation",
        methodology="Support vector machine",
        purpose="Flag claims for the special investigations unit.",
        intended_use="Referral of suspicious claims to investigators; never an automatic rejection.",
        out_of_scope_uses="Rejection of claims, premium setting.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.75}},
        sources=("Claims system",),
        business_owner=RUTH,
        technical_owner=FATIMA,
        validators=(MARCO,),
        backups=(TOM,),
        versions=(
            _v(
                330,
                "svc",
                {"C": 1.0, "kernel": "rbf"},
                note="Prototype on investigator outcomes.",
                n_rows=2000,
            ),
            _v(
                45,
                "svc",
                {"C": 2.0, "kernel": "rbf"},
                (30, "staging"),
                note="Candidate for the first release.",
                n_rows=2400,
                blank_card=("card_limitations", "card_ethical_considerations"),
            ),
        ),
        endpoint="https://ml.demo.steward/claims/fraud-flag",
        costs=CostPlan(compute=11, storage=2, inference=0, growth=0.3),
        limitations="Investigator outcomes exist only for referred claims (selection bias).",
        ethics="A flag must never lead to a rejection without an investigator's review.",
        caveats="Support vector machines give no direct feature importance; use SHAP for explanations.",
    ),
    ModelPlan(
        name="Campaign response propensity",
        unit="Marketing",
        world="campaigns",
        process="Campaign management",
        status="production",
        methodology="Logistic regression",
        purpose="Probability that a targeted customer buys the promoted product within 14 days.",
        intended_use="Select customers for direct campaigns (email, app push, SMS, post).",
        out_of_scope_uses="Credit products without an affordability check; customers who opted out.",
        primary_metric=AUC,
        thresholds={AUC: {"min": 0.7}},
        sources=("Marketing data warehouse", "CRM"),
        business_owner=CARLOS,
        technical_owner=TOM,
        validators=(HENRIK,),
        backups=(INES,),
        versions=(
            _v(580, "logreg", {"C": 1.0}, *_promoted(580), note="First response model."),
            _v(270, "logreg", {"C": 0.5}, *_promoted(270), note="Adds app push channel."),
            _v(
                90,
                "rf_clf",
                {"n_estimators": 100, "max_depth": 8, "min_samples_leaf": 10},
                (80, "staging"),
                (50, "archived"),
                note="Random forest challenger, no better than v2 in the A/B test.",
            ),
        ),
        endpoint="batch://airflow/campaign_selection",
        costs=CostPlan(compute=12, storage=4, inference=8, growth=0.1, peak_month=11, amplitude=0.3),
        limitations="Responses of customers not contacted are unknown; the model learns from past targeting.",
        ethics="Opt-outs are removed before scoring; vulnerable customers are excluded from credit offers.",
        caveats="Channel mix changed with the app push launch.",
        rules=(
            RulePlan(
                "Campaign selection",
                ">",
                "include in campaign",
                "Customers above this probability are contacted.",
                ((560, 0.3), (255, 0.25)),
            ),
        ),
    ),
    ModelPlan(
        name="Marketing mix budget model",
        unit="Marketing",
        world="marketing_mix",
        process="Campaign management",
        status="development",
        methodology="Ridge regression",
        purpose="Estimate weekly sales from media spend, to split the marketing budget.",
        intended_use="Scenario planning of the yearly media budget by the marketing team.",
        out_of_scope_uses="Forecasts for finance, individual customer decisions.",
        primary_metric="r2",
        thresholds={"r2": {"min": 0.5}},
        sources=("Marketing data warehouse", "ERP"),
        business_owner=CARLOS,
        technical_owner=LUKAS,
        validators=(),
        backups=(),
        versions=(
            _v(590, "ridge", {"alpha": 1.0}, note="First regression on two years of spend."),
            _v(300, "ridge", {"alpha": 5.0}, note="Adds price index."),
            _v(35, "ridge", {"alpha": 2.0}, note="Regional effects."),
        ),
        endpoint="",
        costs=CostPlan(compute=6, storage=1.5, inference=0, growth=0.1),
        limitations="No carry-over (adstock) effects yet.",
        ethics="No personal data.",
        caveats="Still in development; not for budget decisions.",
    ),
)

MODELS_BY_NAME: dict[str, ModelPlan] = {m.name: m for m in MODELS}


def _facts() -> dict[str, Any]:
    production = [m.name for m in MODELS if m.status == "production"]
    feeds: dict[str, list[str]] = {}
    for m in MODELS:
        for source in m.sources:
            feeds.setdefault(source, []).append(m.name)
    return {
        "models": [m.name for m in MODELS],
        "business_units": sorted({m.unit for m in MODELS}),
        "production_models": production,
        "development_models": [m.name for m in MODELS if m.status in ("development", "validation")],
        "retired_models": [m.name for m in MODELS if m.status == "retired"],
        "covariate_drift": [m.name for m in MODELS if m.covariate_drift_days],
        "concept_drift": [m.name for m in MODELS if m.concept_drift_days],
        "outage": [m.name for m in MODELS if m.outage_days],
        "segment_drift": {
            m.name: {"feature": m.segment_drift[0], "group": m.segment_drift[1], "days": m.segment_drift[2]}
            for m in MODELS
            if m.segment_drift
        },
        "outage_days": {m.name: m.outage_days for m in MODELS if m.outage_days},
        "owner_left": [m.name for m in MODELS if LEAVER in (m.technical_owner, m.business_owner)],
        "leaver": LEAVER,
        "no_backup": [m.name for m in MODELS if not m.backups],
        "no_validator": [m.name for m in MODELS if not m.validators],
        # Weak signal by design: every version misses its primary-metric threshold (ROC AUC ~0.6 < 0.7).
        "below_threshold": ["Next best offer response"],
        "incomplete_model_card": [
            (m.name, i + 1, list(v.blank_card))
            for m in MODELS
            for i, v in enumerate(m.versions)
            if v.blank_card
        ],
        "staging_candidates": [
            (m.name, i + 1)
            for m in MODELS
            for i, v in enumerate(m.versions)
            if v.events and v.events[-1][1] == "staging"
        ],
        "shared_sources": {s: names for s, names in feeds.items() if len(names) >= 3},
        "labelled_by_people": {m.name: m.labeller for m in MODELS if m.labeller},
        "personas": {
            p.email: {"name": p.name, "team": p.team, "roles": [list(r) for r in p.roles]} for p in PERSONAS
        },
    }


DEMO_FACTS: dict[str, Any] = _facts()
"""What the portfolio is built to show, for tests and demos of other areas.

Keys: models, business_units, production_models, development_models, retired_models,
covariate_drift, concept_drift, outage (models whose predictions stopped), outage_days,
segment_drift (model -> feature, group and days of an error rate growing in that group only),
owner_left (models whose technical owner has left), leaver (that person's email), no_backup,
no_validator, below_threshold (models whose versions all miss their primary-metric
threshold), incomplete_model_card ([model, version, blank sections]), staging_candidates
([model, version]), shared_sources (source -> models it feeds, when 3 or more),
labelled_by_people (model -> labeller email), personas (email -> name, team, roles).
"""
