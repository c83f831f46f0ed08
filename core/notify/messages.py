"""What a notification says: the e-mail (plain text and HTML), the signed webhook body, and the
Slack and Teams payloads, each with an absolute link to the page that holds the evidence.

Text people wrote (an alert message, a justification, a comment) is always shown literally:
escaped in HTML, in Slack's and Teams' plain-text elements, never as Markdown.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from core.outbox import SCHEMA_VERSION

SUBJECT_PREFIX = "[Steward] "
KIND_WORDS = {
    "drift": "data drift",
    "performance": "performance",
    "outage": "outage",
    "label_coverage": "label coverage",
    "fairness": "fairness",
    "segment": "segment accuracy",
}


@dataclass(frozen=True)
class EventView:
    """An outbox event detached from its session."""

    id: int
    event_id: str
    type: str
    occurred_at: datetime
    model_id: int | None
    urgent: bool
    data: dict[str, Any]
    actor: str = ""


@dataclass(frozen=True)
class Message:
    subject: str  # without the prefix
    lines: list[str]
    link: str
    link_label: str
    urgent: bool = False
    facts: list[tuple[str, str]] = field(default_factory=list)


def page_url(base_url: str, path: str, **params: Any) -> str:
    """The absolute URL of an app page, e.g. page_url(base, "model", model=3)."""
    query = urlencode({k: str(v) for k, v in params.items() if v is not None})
    return f"{base_url.rstrip('/')}/{path}" + (f"?{query}" if query else "")


def compose(event: EventView, base_url: str) -> Message:
    """The notification of one event, with the link to the page where one acts on it."""
    d = event.data
    model = (d.get("model") or {}).get("name", "a model")
    model_id = event.model_id
    version = d.get("version") or {}
    number = f"v{version['number']}" if version.get("number") is not None else "a version"
    model_link = page_url(base_url, "model", model=model_id)
    kind = event.type
    if kind.startswith("alert."):
        alert = d.get("alert") or {}
        what = KIND_WORDS.get(alert.get("kind", ""), alert.get("kind", "monitoring"))
        level = alert.get("level", "alert")
        link = page_url(base_url, "model", model=model_id, alert=alert.get("id"))
        facts = [("Model", model), ("Signal", what), ("Level", level)]
        if kind == "alert.opened":
            head = f"{level.capitalize()} on {model}: {what}"
            return Message(head, [alert.get("message", "")], link, "Open the model", event.urgent, facts)
        if kind == "alert.escalated":
            head = f"Escalated to alert on {model}: {what}"
            return Message(head, [alert.get("message", "")], link, "Open the model", event.urgent, facts)
        head = f"Resolved on {model}: {what}"
        lines = ["The condition no longer holds.", f"It was: {alert.get('message', '')}"]
        return Message(head, lines, link, "Open the model", event.urgent, facts)
    if kind.startswith("promotion."):
        request = d.get("request") or {}
        target = request.get("target_stage", "")
        link = page_url(base_url, "promotions", request=request.get("id"))
        facts = [("Model", model), ("Version", number), ("To", target), ("Request", f"#{request.get('id')}")]
        requester = (request.get("requested_by") or {}).get("name", "")
        if kind == "promotion.requested":
            lines = [
                f"{requester} asks to move {model} {number} to {target}.",
                f"Justification: {request.get('justification', '')}",
                f"Evidence when requested: {request.get('evidence_status', '')}; "
                f"approvals needed: {request.get('required_approvals', 1)}.",
            ]
            return Message(
                f"Decision needed: {model} {number} to {target}",
                lines,
                link,
                "Review the request",
                False,
                facts,
            )
        status = request.get("status", "")
        decider = (request.get("decided_by") or {}).get("name", "")
        lines = [f"Request #{request.get('id')} ({model} {number} to {target}) was {status} by {decider}."]
        if request.get("comment"):
            lines.append(f"Comment: {request['comment']}")
        if request.get("override_reason"):
            lines.append(f"Failing gates overridden: {request['override_reason']}")
        return Message(
            f"{model} {number} to {target}: {status}", lines, link, "Open the request", False, facts
        )
    if kind == "stage.changed":
        lines = [f"{model} {number} moved from {d.get('from_stage', '')} to {d.get('to_stage', '')}."]
        if d.get("reason"):
            lines.append(f"Reason: {d['reason']}")
        facts = [("Model", model), ("Version", number), ("Stage", d.get("to_stage", ""))]
        return Message(
            f"{model} {number} is now in {d.get('to_stage', '')}",
            lines,
            model_link,
            "Open the model",
            False,
            facts,
        )
    if kind == "version.registered":
        metrics = ", ".join(f"{k} {v}" for k, v in sorted((version.get("metrics") or {}).items()))
        lines = [f"{event.actor or 'Someone'} registered {model} {number}."]
        if metrics:
            lines.append(f"Validation metrics: {metrics}")
        if version.get("git_commit"):
            lines.append(f"Git commit: {version['git_commit']}")
        return Message(
            f"{model} {number} registered",
            lines,
            model_link,
            "Open the model",
            False,
            [("Model", model), ("Version", number)],
        )
    if kind.startswith("rule."):
        rule = d.get("rule") or {}
        name = rule.get("name", "")
        lines = [
            f"Rule: {rule.get('condition', '')} -> {rule.get('outcome', '')} (version {rule.get('version', '')})."
        ]
        if d.get("comment"):
            lines.append(f"Comment: {d['comment']}")
        facts = [("Model", model), ("Rule", name)]
        if kind == "rule.proposed":
            return Message(
                f"Decision needed: rule '{name}' of {model}",
                lines,
                model_link,
                "Review the rule",
                False,
                facts,
            )
        verdict = "approved" if kind == "rule.approved" else "rejected"
        return Message(
            f"Rule '{name}' of {model} {verdict}", lines, model_link, "Open the model", False, facts
        )
    if kind.startswith("retraining."):
        request = d.get("retraining") or {}
        rid = request.get("id")
        owner = (request.get("owner") or {}).get("name", "")
        link = page_url(base_url, "model", model=model_id, retraining=rid)
        facts = [
            ("Model", model),
            ("Request", f"#{rid}"),
            ("Owner", owner),
            ("Due", request.get("due_on", "")),
        ]
        if kind == "retraining.requested":
            lines = [
                f"{event.actor or 'Someone'} asks for {model} to be retrained (from {request.get('source', '')}).",
                f"Why: {request.get('reason', '')}",
                f"Owner: {owner}; due {request.get('due_on', '')}.",
            ]
            return Message(f"Retraining requested for {model}", lines, link, "Open the request", False, facts)
        if kind == "retraining.answered":
            lines = [
                f"{model} {number} was registered as the answer to retraining request #{rid}.",
                "The request closes when this version reaches production.",
            ]
            return Message(
                f"{model} {number} answers retraining request #{rid}",
                lines,
                link,
                "Open the model",
                False,
                facts,
            )
        if kind == "retraining.closed":
            lines = [f"{model} {number} reached production, so retraining request #{rid} is closed."]
            return Message(
                f"Retraining of {model} done: {number} in production",
                lines,
                link,
                "Open the model",
                False,
                facts,
            )
        return Message(
            f"Retraining request #{rid} for {model} cancelled",
            [request.get("reason", "")],
            link,
            "Open the model",
            False,
            facts,
        )
    return Message(f"{kind} on {model}", [], model_link, "Open the model", event.urgent)


# --- e-mail ------------------------------------------------------------------------------------------


def email_text(message: Message, *, why: str, settings_link: str, event: EventView) -> str:
    body = [
        message.subject,
        "",
        *[line for line in message.lines if line],
        "",
        f"{message.link_label}: {message.link}",
    ]
    body += [
        "",
        "-- ",
        f"You receive this as {why}." if why else "",
        f"Choose what you receive: {settings_link}",
        f"Event {event.type} {event.event_id} at {event.occurred_at:%Y-%m-%d %H:%M} UTC.",
    ]
    return "\n".join(body).replace("\n\n\n", "\n\n") + "\n"


def email_html(message: Message, *, why: str, settings_link: str, event: EventView) -> str:
    e = html.escape
    paragraphs = "".join(f"<p style='white-space:pre-wrap'>{e(line)}</p>" for line in message.lines if line)
    return (
        "<!doctype html><html><body style='font-family:sans-serif'>"
        f"<h2>{e(message.subject)}</h2>{paragraphs}"
        f"<p><a href='{e(message.link, quote=True)}'>{e(message.link_label)}</a></p>"
        "<hr><p style='color:#666;font-size:small'>"
        + (f"You receive this as {e(why)}. " if why else "")
        + f"<a href='{e(settings_link, quote=True)}'>Choose what you receive</a>. "
        f"Event {e(event.type)} {e(event.event_id)} at {event.occurred_at:%Y-%m-%d %H:%M} UTC.</p>"
        "</body></html>"
    )


def digest_text(items: list[tuple[EventView, Message]], *, why: str, settings_link: str) -> tuple[str, str]:
    """(subject, text) of one e-mail holding several non-urgent notifications, oldest first."""
    subject = f"{len(items)} updates" if len(items) != 1 else items[0][1].subject
    lines = [f"{len(items)} updates from Steward since your last message:", ""]
    for event, message in sorted(items, key=lambda pair: pair[0].occurred_at):
        lines.append(f"- {event.occurred_at:%Y-%m-%d %H:%M} UTC  {message.subject}")
        lines.extend(f"  {line}" for line in message.lines if line)
        lines.append(f"  {message.link_label}: {message.link}")
        lines.append("")
    lines += [
        "-- ",
        f"You receive this as {why}." if why else "",
        f"Choose what you receive: {settings_link}",
    ]
    return subject, "\n".join(lines) + "\n"


# --- webhooks ----------------------------------------------------------------------------------------


def envelope(event: EventView, message: Message, base_url: str) -> dict[str, Any]:
    """The documented body of a generic webhook (docs/events.schema.json)."""
    return {
        "id": event.event_id,
        "type": event.type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": event.occurred_at.isoformat(),
        "urgent": event.urgent,
        "actor": event.actor or None,
        "summary": message.subject,
        "url": message.link,
        "steward": base_url.rstrip("/"),
        "data": event.data,
    }


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``: binds the time, so a captured request
    cannot be replayed later under a new timestamp."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str, timestamp: str, body: bytes, header: str, *, now: int, tolerance_s: int = 300
) -> bool:
    """What a receiver does (documented in the README): recompute, compare in constant time, and
    refuse timestamps more than ``tolerance_s`` away from its clock."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


def webhook_headers(
    event: EventView, *, delivery_id: int, timestamp: int, secret: str, body: bytes
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Steward-Webhooks/1",
        "X-Steward-Event": event.type,
        "X-Steward-Event-Id": event.event_id,
        "X-Steward-Delivery": str(delivery_id),
        "X-Steward-Timestamp": str(timestamp),
    }
    if secret:
        headers["X-Steward-Signature"] = signature(secret, timestamp, body)
    return headers


def slack_payload(message: Message) -> dict[str, Any]:
    """Slack incoming-webhook body: plain-text blocks (no mrkdwn for people's text) and a button."""
    icon = ":rotating_light: " if message.urgent else ""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": (icon + message.subject)[:150], "emoji": True},
        },
    ]
    if message.lines:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "plain_text", "text": "\n".join(message.lines)[:2900], "emoji": False},
            }
        )
    if message.facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "plain_text", "text": f"{k}: {v}"[:1900], "emoji": False}
                    for k, v in message.facts[:10]
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": message.link_label},
                    "url": message.link,
                }
            ],
        }
    )
    return {"text": _slack_escape(f"{message.subject}: {message.link}"), "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_payload(message: Message) -> dict[str, Any]:
    """Teams (Workflows or incoming webhook) body: an Adaptive Card. People's text goes in TextRun
    elements, which Teams never renders as Markdown."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.subject.replace("*", "\\*").replace("_", "\\_"),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": "Attention" if message.urgent else "Default",
        }
    ]
    for line in message.lines:
        if line:
            body.append({"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": line}]})
    if message.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": k, "value": str(v).replace("*", "\\*").replace("_", "\\_")}
                    for k, v in message.facts
                ],
            }
        )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": message.link_label, "url": message.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
