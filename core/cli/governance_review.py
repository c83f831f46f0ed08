"""Risk and review commands: assess a model, list re-assessment flags, propose and decide business
rules, export meeting minutes and documentation packs.

    steward risk assess --model M --materiality high --ai-act high --annex 5(b) --rationale "..." \\
        --score unavailability=3,4 --score decay=4,4,2,3 --mitigation decay="monthly monitoring" ...
    steward risk flags [--json]
    steward rule propose --model M --name "Automatic decline" --operator ">" --threshold 0.33 --outcome decline
    steward rule decide ID --approve|--reject --comment "..."
    steward report review --meeting ID --out minutes.pdf     (.html or .pdf)
    steward report model --model M --out pack.html            (.html or .pdf)

Every command acts as ``--as EMAIL`` through the same core functions as the app.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from core.cli.app import app
from core.cli.common import AS_OPTION, JSON_OPTION, actor, emit, engine, run
from core.db.engine import read_session, write_session
from core.db.types import saved_id
from core.errors import InvalidInput
from core.governance import documentation, minutes, risk, rules
from core.registry import services

risk_app = typer.Typer(help="Risk assessments and re-assessment flags.", no_args_is_help=True)
rule_app = typer.Typer(
    help="Business rules: propose a change, decide it (four-eyes), show the history.", no_args_is_help=True
)
report_app = typer.Typer(
    help="Reports as self-contained HTML or PDF: meeting minutes, documentation packs.", no_args_is_help=True
)
app.add_typer(risk_app, name="risk")
app.add_typer(rule_app, name="rule")
app.add_typer(report_app, name="report")

MODEL_OPTION = typer.Option(..., "--model", "-m", help="Model name.")
OUT_OPTION = typer.Option(..., "--out", "-o", help="File to write: .html or .pdf.")


# --- risk -----------------------------------------------------------------------------------------


def parse_scores(scores: list[str], mitigations: list[str]) -> list[risk.ScoreInput]:
    """``category=L,I`` or ``category=L,I,RL,RI`` per risk, and ``category=text`` mitigations."""
    texts: dict[str, str] = {}
    for entry in mitigations:
        category, sep, text = entry.partition("=")
        if not sep:
            raise InvalidInput(f"--mitigation '{entry}' must be CATEGORY=TEXT.")
        texts[category.strip()] = text.strip()
    parsed = []
    for entry in scores:
        category, sep, numbers = entry.partition("=")
        parts = [p.strip() for p in numbers.split(",")] if sep else []
        if len(parts) not in (2, 4) or not all(p.isdigit() for p in parts):
            raise InvalidInput(
                f"--score '{entry}' must be CATEGORY=LIKELIHOOD,IMPACT or "
                "CATEGORY=LIKELIHOOD,IMPACT,RESIDUAL_LIKELIHOOD,RESIDUAL_IMPACT (whole numbers 1-5)."
            )
        values = [int(p) for p in parts]
        residual = values[2:] if len(values) == 4 else [None, None]
        parsed.append(
            risk.ScoreInput(
                category.strip(),
                values[0],
                values[1],
                texts.pop(category.strip(), ""),
                residual[0],
                residual[1],
            )
        )
    if texts:
        raise InvalidInput(f"--mitigation given for '{next(iter(texts))}', which has no --score.")
    return parsed


@risk_app.command("assess")
def assess_command(
    model: str = MODEL_OPTION,
    materiality: str = typer.Option(..., "--materiality", help="low, medium or high."),
    ai_act: str = typer.Option(
        ..., "--ai-act", help="EU AI Act class: prohibited, high, limited or minimal."
    ),
    rationale: str = typer.Option(..., "--rationale", help="Why these scores and this class."),
    score: list[str] = typer.Option(
        ..., "--score", help="CATEGORY=L,I[,RL,RI] for each of: " + ", ".join(risk.RISK_LABELS) + "."
    ),
    mitigation: list[str] = typer.Option([], "--mitigation", help="CATEGORY=TEXT: mitigations of a risk."),
    annex: str = typer.Option("", "--annex", help="Annex III area of a high-risk system, e.g. 5(b)."),
    oversight: str = typer.Option("", "--oversight", help="Human oversight measures (AI Act Art. 14)."),
    exposure: float | None = typer.Option(None, "--exposure", help="Money at stake per year."),
    currency: str = typer.Option("EUR", "--currency"),
    as_email: str | None = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a new risk assessment of a model; prints its tier and next review date."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.model_by_name(session, model)
            risk.assess_model(
                session,
                actor=who,
                model_id=saved_id(row),
                scores=parse_scores(score, mitigation),
                materiality=materiality,
                ai_act_class=ai_act,
                annex_iii_area=annex,
                rationale=rationale,
                human_oversight=oversight,
                exposure_amount=exposure,
                exposure_currency=currency,
            )
        with read_session(eng) as session:
            view = risk.current_assessment(session, saved_id(row))
        assert view is not None
        if as_json:
            emit(
                {
                    "model": model,
                    "assessment": view.version,
                    "tier": view.tier,
                    "because": view.tier_reason,
                    "next_review_due": view.next_review_due.isoformat(),
                },
                as_json=True,
            )
        else:
            emit(
                f"Assessment {view.version} of '{model}': tier {view.tier} ({view.tier_reason}); "
                f"next review due {view.next_review_due:%Y-%m-%d}.",
                as_json=False,
            )

    run(body)


@risk_app.command("flags")
def flags_command(as_json: bool = JSON_OPTION) -> None:
    """List every re-assessment flag the registry's evidence raises, with its reason."""

    def body() -> None:
        with read_session(engine()) as session:
            flags = risk.reassessment_flags(session)
        frame = pd.DataFrame(
            [f.as_dict() for f in flags], columns=["model", "risk", "trigger", "reason", "since"]
        )
        emit(frame if as_json else frame[["model", "risk", "reason"]], as_json=as_json)

    run(body)


# --- business rules -----------------------------------------------------------------------------------


@rule_app.command("propose")
def propose_command(
    model: str = MODEL_OPTION,
    name: str = typer.Option(..., "--name", help="Rule name; a new version if it exists."),
    operator: str = typer.Option(..., "--operator", help="One of >, >=, <, <=."),
    threshold: float = typer.Option(..., "--threshold", help="Score threshold."),
    outcome: str = typer.Option(..., "--outcome", help="What happens when the condition holds."),
    description: str = typer.Option("", "--description"),
    as_email: str | None = AS_OPTION,
) -> None:
    """Propose a new version of a business rule; an approver must decide it."""

    def body() -> None:
        eng = engine()
        who = actor(eng, as_email)
        with write_session(eng) as session:
            row = services.model_by_name(session, model)
            rule_id = rules.propose_rule(
                session,
                actor=who,
                model_id=saved_id(row),
                name=name,
                operator=operator,
                threshold=threshold,
                outcome=outcome,
                description=description,
            )
        emit(
            f"Rule proposal #{rule_id} recorded; it applies once another person, an approver, approves it.",
            as_json=False,
        )

    run(body)


@rule_app.command("decide")
def decide_command(
    rule_id: int = typer.Argument(..., help="Proposal number (see `steward rule history`)."),
    approve: bool = typer.Option(..., "--approve/--reject", help="Approve or reject the proposal."),
    comment: str = typer.Option("", "--comment", "-c", help="Why (required to reject)."),
    as_email: str | None = AS_OPTION,
) -> None:
    """Approve or reject a proposed rule (the proposer cannot)."""

    def body() -> None:
        eng = engine()
        with write_session(eng) as session:
            rules.decide_rule(
                session, actor=actor(eng, as_email), rule_id=rule_id, approve=approve, comment=comment
            )
        emit(f"Rule proposal #{rule_id} {'approved' if approve else 'rejected'}.", as_json=False)

    run(body)


@rule_app.command("history")
def history_command(model: str = MODEL_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Every version of every business rule of a model, with its state."""

    def body() -> None:
        with read_session(engine()) as session:
            frame = rules.rule_history(session, model_id=saved_id(services.model_by_name(session, model)))
        emit(
            frame,
            as_json=as_json,
            table=frame[["id", "rule", "version", "condition", "state", "proposed_by", "decided_by"]],
        )

    run(body)


# --- reports --------------------------------------------------------------------------------------------


@report_app.command("review")
def review_report_command(
    meeting: int = typer.Option(..., "--meeting", help="Meeting id."), out: Path = OUT_OPTION
) -> None:
    """Write a review meeting's agenda and minutes, with the evidence as it was frozen."""

    def body() -> None:
        with read_session(engine()) as session:
            path = minutes.export_minutes(session, meeting_id=meeting, out=_writable(out))
        emit(f"Wrote {path}.", as_json=False)

    run(body)


@report_app.command("model")
def model_report_command(model: str = MODEL_OPTION, out: Path = OUT_OPTION) -> None:
    """Write a model's documentation pack (model card, risk, validation, monitoring, lineage, history)."""

    def body() -> None:
        with read_session(engine()) as session:
            model_id = saved_id(services.model_by_name(session, model))
            path = documentation.export_pack(session, model_id=model_id, out=_writable(out))
        emit(f"Wrote {path}.", as_json=False)

    run(body)


def _writable(out: Path) -> Path:
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise InvalidInput(f"output file '{out.name}' must end in .html or .pdf.")
    if not out.parent.exists():
        raise InvalidInput(f"directory '{out.parent}' does not exist.")
    if out.is_dir():
        raise InvalidInput(f"'{out}' is a directory; give a file name.")
    return out
