"""Agenda and minutes of a review meeting as a document (HTML and PDF).

The evidence printed is the evidence frozen on each agenda item (as listed) and, for a
decided item, the copy frozen with the decision: the minutes show what the meeting saw,
not today's figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import Session

from core import clock
from core.governance.meetings import FIRST_MEETING_LOOKBACK_DAYS, MeetingView, meeting_view
from core.registry.figures import HEALTH_LABELS, PortfolioFigures, money, portfolio_figures
from core.reports.document import Document, cell_text, write
from core.reports.evidence import figures as evidence_figures

__all__ = ["minutes_document", "meeting_minutes", "export_minutes"]

_TONE = {"approve": "ok", "reject": "bad", "action": "warn", "noted": "info", "close_action": "ok"}


def meeting_minutes(session: Session, meeting_id: int) -> Document:
    """The minutes with the portfolio's headline figures on the meeting's day (core.registry.figures:
    the values the Inventory, Costs and Model pages showed that day)."""
    view = meeting_view(session, meeting_id)
    day = min(view.held_at.date(), clock.today())
    return minutes_document(view, figures=portfolio_figures(session, today=day))


def minutes_document(view: MeetingView, *, figures: PortfolioFigures | None = None) -> Document:
    """The meeting's agenda with frozen evidence, decisions, attendees present and actions; with
    ``figures``, the portfolio's headline figures first."""
    state = (
        "minutes (meeting closed)"
        if view.status == "closed"
        else "agenda and decisions so far (meeting open)"
    )
    doc = Document(
        f"Review meeting: {view.title}", f"{view.scope} · {view.held_at:%Y-%m-%d %H:%M} UTC · {state}"
    )
    previous = (
        f"the registry since the previous meeting, {view.previous[1]} ({view.previous[2]:%Y-%m-%d})"
        if view.previous
        else f"the registry's last {FIRST_MEETING_LOOKBACK_DAYS} days (no earlier meeting)"
    )
    doc.facts(
        [
            ("Date", view.held_at),
            ("Scope", view.scope),
            ("Attendees", ", ".join(name for _, name, _ in view.attendees)),
            ("Organised by", view.created_by),
            ("Agenda covers", previous),
            ("Agenda generated", view.agenda_generated_at),
            ("Closed", view.closed_at or "not yet"),
        ]
    )
    if figures is not None:
        _portfolio(doc, figures)
    doc.heading("Agenda and decisions")
    if not view.items:
        doc.paragraph("Nothing on the agenda: the registry raised no item since the previous meeting.")
    for item in view.items:
        doc.heading(f"{item.position}. {item.title}", level=3)
        doc.paragraph(item.kind_label)
        doc.paragraph(item.reason, link=item.link)
        evidence = item.decisions[-1].evidence if item.decisions else item.evidence
        _evidence(doc, evidence, f"Evidence as listed on {cell_text(item.listed_at)}")
        if not item.decisions:
            doc.paragraph("No decision recorded.")
        for d in item.decisions:
            doc.badge(f"Decision: {d.summary}", _TONE.get(d.outcome, "info"))
            doc.paragraph(
                f"Recorded by {d.recorded_by} on {cell_text(d.recorded_at)}; present: {', '.join(d.present)}."
            )
    doc.heading("Actions agreed")
    if view.actions:
        doc.table(
            ["Action", "Owner", "Due", "Status", "Agenda item"],
            [
                [
                    a.title,
                    a.owner,
                    a.due_on,
                    a.status + (f": {a.closing_note}" if a.closing_note else ""),
                    a.item_position,
                ]
                for a in view.actions
            ],
        )
    else:
        doc.paragraph("No new actions were agreed.")
    return doc


def _evidence(doc: Document, evidence: dict[str, Any], caption: str) -> None:
    simple = [(k, v) for k, v in evidence.items() if not isinstance(v, list | dict)]
    nested = [(k, v) for k, v in evidence.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    if not simple and not nested:
        return
    doc.paragraph(caption + ":")
    if simple:
        doc.facts(evidence_figures(evidence))
    for _, rows in nested:
        columns = list(rows[0])
        doc.table([_label(c) for c in columns], [[r.get(c) for c in columns] for r in rows])


def _portfolio(doc: Document, f: PortfolioFigures) -> None:
    doc.heading(f"The portfolio on {f.today:%-d %B %Y}")
    health = ", ".join(f"{n} {HEALTH_LABELS[s].lower()}" for s, n in f.health.items() if n)
    doc.facts(
        [
            ("Models", f"{f.models} ({f.in_production} in production)"),
            (f"{f.cost_window.name} ({f.cost_window.period})", money(f.cost_last_30_days)),
            (f.month_window.name, money(f.cost_in_month)),
            ("Models assessed", f"{f.assessed.text} ({f.assessed.retired} retired, not counted)"),
            ("Health", health or "no model"),
        ]
    )


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def export_minutes(session: Session, *, meeting_id: int, out: Path) -> Path:
    """Write the meeting's agenda and minutes to ``out`` (.html or .pdf by extension)."""
    return write(meeting_minutes(session, meeting_id), Path(out), generated_at=clock.now())
