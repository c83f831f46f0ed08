"""The catalogue of audit actions: every kind of event Steward writes to the audit log.

Each entry says what the event is called in the log (``name``, stable: it is stored with every
event and chained into its hash), which kind of object it concerns, what its ``before`` and
``after`` snapshots hold, and the label the Audit page shows. Services pass an entry to
``core.audit.record``, which refuses anything not declared here, so the log only ever holds
names this file explains.

A new kind of change gets a new entry below (and a line in tests/unit/test_events.py's
expectations, if it is a new area). Never rename or remove an entry whose events may already be
in someone's log: ``label`` still turns names no longer declared here into words, but the
catalogue is where an auditor looks them up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventKind:
    """One kind of audit event."""

    name: str  # as stored in audit_event.action, e.g. "model.registered"
    object_types: tuple[str, ...]  # what audit_event.object_type may be; the first is the default
    label: str  # what people read, e.g. "Model registered"
    before: str  # what the before snapshot holds ("" = nothing)
    after: str  # what the after snapshot holds ("" = nothing)

    @property
    def object_type(self) -> str:
        return self.object_types[0]


CATALOGUE: dict[str, EventKind] = {}


def _declare(
    name: str, objects: str | tuple[str, ...], label: str, *, before: str = "", after: str = ""
) -> EventKind:
    if name in CATALOGUE:
        raise ValueError(f"audit action {name!r} is declared twice")
    kind = EventKind(name, (objects,) if isinstance(objects, str) else objects, label, before, after)
    CATALOGUE[name] = kind
    return kind


# --- people and roles ----------------------------------------------------------------------------
PERSON_CREATED = _declare(
    "person.created", "person", "Person added", after="the person's fields, and the roles given with them"
)
PERSON_LEFT = _declare(
    "person.left",
    "person",
    "Person marked as left",
    before="the person's fields",
    after="the person's fields",
)
PERSON_REACTIVATED = _declare(
    "person.reactivated",
    "person",
    "Person reactivated",
    before="the person's fields",
    after="the person's fields",
)
PERSON_IDENTITY_LINKED = _declare(
    "person.identity_linked",
    "person",
    "Sign-in identity linked",
    before="the OIDC issuer and subject held before (empty at the first sign-in)",
    after="the OIDC issuer and subject now linked",
)
ROLE_GRANTED = _declare(
    "role.granted", "person", "Role granted", after="the role and its business unit (empty: global)"
)
ROLE_REVOKED = _declare("role.revoked", "person", "Role revoked", before="the role and its business unit")
TOKEN_CREATED = _declare(
    "token.created",
    "api_token",
    "Access token created",
    after="whose token it is, its name, first characters and expiry (never the secret)",
)
TOKEN_BOOTSTRAPPED = _declare(
    "token.bootstrapped",
    "api_token",
    "Access token minted by an operator",
    after="whose token it is, its name, first characters and expiry, and the operating-system user who ran "
    "`steward token bootstrap`",
)
TOKEN_REVOKED = _declare(
    "token.revoked",
    "api_token",
    "Access token revoked",
    before="not revoked",
    after="whose token it was, its name, first characters and when it was revoked",
)

# --- registry: models, versions, owners, data, lineage --------------------------------------------
BUSINESS_PROCESS_CREATED = _declare(
    "business_process.created", "business_process", "Business process added", after="the process's fields"
)
MODEL_REGISTERED = _declare("model.registered", "model", "Model registered", after="the model's fields")
MODEL_UPDATED = _declare(
    "model.updated", "model", "Model details changed", before="the model's fields", after="the model's fields"
)
VERSION_REGISTERED = _declare(
    "version.registered", "model_version", "Version registered", after="the version's fields"
)
MODEL_CARD_UPDATED = _declare(
    "model_card.updated",
    "model_version",
    "Model card edited",
    before="the card sections that changed, as they were",
    after="those sections as they are now",
)
VERSION_STAGE_CHANGED = _declare(
    "version.stage_changed",
    "model_version",
    "Version stage changed",
    before="the stage and the row version",
    after="the new stage and row version, and the id and time of the stage history row it wrote",
)
OWNERSHIP_ASSIGNED = _declare(
    "ownership.assigned",
    "model",
    "Owner assigned",
    before="the role and the ids of the people who held it",
    after="the role and the id of the person assigned",
)
OWNERSHIP_REMOVED = _declare(
    "ownership.removed",
    "model",
    "Owner removed",
    before="the role and the id of the person removed, since when and why they held it",
    after="the role, no person, and when their period ended",
)
OWNERSHIP_HANDED_OVER = _declare(
    "ownership.handed_over",
    "model",
    "Owner role handed over",
    before="the role, the person who held it and since when",
    after="the role, the person who holds it now, from when, and why",
)
MODEL_RETIRED = _declare(
    "model.retired",
    "model",
    "Model retired",
    before="the model's fields and its open deployments",
    after="the model's fields, retired, with the deployments ended",
)
DATA_SOURCE_CREATED = _declare(
    "data_source.created", "data_source", "Data source added", after="the source's fields"
)
DATA_SOURCE_UPDATED = _declare(
    "data_source.updated",
    "data_source",
    "Data source changed",
    before="the source's fields",
    after="the source's fields",
)
BUSINESS_PROCESS_UPDATED = _declare(
    "business_process.updated",
    "business_process",
    "Business process changed",
    before="the process's fields",
    after="the process's fields",
)
FEATURE_CREATED = _declare(
    "feature.created", "feature", "Feature added", after="the feature's fields (its dataset, name, type)"
)
DATASET_SOURCE_SET = _declare(
    "dataset.source_set",
    "dataset",
    "Dataset's source recorded",
    before="the dataset's fields, without a source",
    after="the dataset's fields, with the data source it comes from",
)
DATASET_CREATED = _declare("dataset.created", "dataset", "Dataset registered", after="the dataset's fields")
DATASET_LINKED = _declare(
    "dataset.linked",
    "model_version",
    "Dataset linked to a version",
    before="the dataset the version used in that role, if any",
    after="the role (training, evaluation, reference, background) and the dataset",
)
LINEAGE_INGESTED = _declare(
    "lineage.ingested",
    "lineage_edge",
    "OpenLineage events ingested",
    after="the file's name and sha256, events read, and the sources, datasets and edges created",
)
LINEAGE_FEATURES_LINKED = _declare(
    "lineage.features_linked", "model_version", "Features linked to a version", after="the feature ids"
)
LINEAGE_EDGE_ADDED = _declare(
    "lineage.edge_added",
    "lineage_edge",
    "Lineage link added",
    after="the relation (links added by hand also name both ends)",
)
DEPLOYMENT_CREATED = _declare(
    "deployment.created", "deployment", "Deployment recorded", after="the deployment's fields"
)
DEPLOYMENT_ENDED = _declare(
    "deployment.ended",
    "deployment",
    "Deployment ended",
    before="the deployment's fields",
    after="the deployment's fields, with its end",
)
PREDICTIONS_LOGGED = _declare(
    "predictions.logged",
    "model_version",
    "Predictions logged",
    after="rows loaded, first and last timestamp, how many carry a label",
)
SEGMENT_ATTRIBUTES_ATTACHED = _declare(
    "segments.attributes_attached",
    "model",
    "Sensitive attributes attached",
    after="rows read, the attribute names, how many values were new and how many replaced",
)
LOGS_MIGRATED = _declare(
    "logs.migrated",
    "prediction_log",
    "Prediction logs moved to the log store",
    after="the store, rows and files moved, rows kept in the registry's labelled sample, and per version "
    "each day's rows and checksum as read back from its file",
)
LOG_RETENTION_SET = _declare(
    "log_retention.set",
    "model",
    "Log retention set",
    before="days of raw rows kept before (empty: kept for ever)",
    after="days of raw rows kept now (empty: kept for ever)",
)
LOG_RETENTION_APPLIED = _declare(
    "log_retention.applied",
    "model",
    "Old raw prediction rows deleted",
    after="the policy's days, the cut-off day, the files and rows deleted and the days they covered",
)
LOG_SOURCE_ATTACHED = _declare(
    "log_source.attached",
    "model_version",
    "Prediction logs read in place",
    before="the source the version read before (empty: none)",
    after="where the logs live (kind, location), the column mapping, the rows and days found",
)
LOG_SOURCE_DETACHED = _declare(
    "log_source.detached",
    "model_version",
    "Prediction log source removed",
    before="where the logs lived and the column mapping",
)
LOG_SOURCE_SYNCED = _declare(
    "log_source.synced",
    "model_version",
    "Daily figures read from a log source",
    after="the location, rows and days read, labelled rows, first and last day",
)
COSTS_LOGGED = _declare(
    "costs.logged", "cost_record", "Costs logged", after="rows loaded, first and last day, total, the models"
)
ARTIFACT_INTEGRITY_FAILED = _declare(
    "artifact.integrity_failed",
    ("model_version", "dataset"),
    "Changed file refused",
    after="the file's address, the sha256 the registry expects, refused = true",
)
MLFLOW_IMPORTED = _declare(
    "mlflow.imported",
    # One event per Steward model an import changed (object: the model). Logs written before
    # imports were recorded per model hold one event per import on "external_ref" (the store).
    ("model", "external_ref"),
    "Imported from MLflow",
    after="the store's identity, the tracking URI, and what the import created, updated or linked "
    "for the model (lists of names); older per-import events hold counts",
)
MLFLOW_LINKS_MOVED = _declare(
    "mlflow.links_moved",
    "external_ref",
    "MLflow links filed under the store's identity",
    before="the tracking URI an earlier import filed the links under",
    after="the store's identity, the tracking URI and the links moved",
)

# --- governance: promotions, rules, risk, meetings ------------------------------------------------
PROMOTION_REQUESTED = _declare(
    "promotion.requested",
    "promotion_request",
    "Promotion requested",
    after="the request with its frozen evidence gates",
)
PROMOTION_APPROVAL_RECORDED = _declare(
    "promotion.approval_recorded",
    "promotion_request",
    "Approval recorded (another is needed)",
    before="status and number of approvals",
    after="status, approvals, comment, failing gates",
)
PROMOTION_APPROVAL_RECORDED_WITH_OVERRIDE = _declare(
    "promotion.approval_recorded_with_override",
    "promotion_request",
    "Approval recorded over failing gates (another is needed)",
    before="status and number of approvals",
    after="status, approvals, comment, the override reason and the failing gates it overrode",
)
PROMOTION_APPROVED = _declare(
    "promotion.approved",
    "promotion_request",
    "Promotion approved",
    before="status and number of approvals",
    after="status, approvals, comment, failing gates",
)
PROMOTION_APPROVED_WITH_OVERRIDE = _declare(
    "promotion.approved_with_override",
    "promotion_request",
    "Promotion approved over failing gates",
    before="status and number of approvals",
    after="status, approvals, comment, the override reason and the failing gates it overrode",
)
PROMOTION_REJECTED = _declare(
    "promotion.rejected",
    "promotion_request",
    "Promotion rejected",
    before="status (pending)",
    after="status and the rejection comment",
)
PROMOTION_CANCELLED = _declare(
    "promotion.cancelled",
    "promotion_request",
    "Promotion request withdrawn",
    before="status (pending)",
    after="status and the comment",
)
PROMOTION_COMMENTED = _declare(
    "promotion.commented", "promotion_request", "Comment on a promotion", after="the comment's id and text"
)
RULE_PROPOSED = _declare(
    "rule.proposed", "business_rule", "Business rule proposed", after="the proposed rule version"
)
RULE_APPROVED = _declare(
    "rule.approved",
    "business_rule",
    "Business rule approved",
    before="the proposal",
    after="the approved rule version",
)
RULE_REJECTED = _declare(
    "rule.rejected",
    "business_rule",
    "Business rule rejected",
    before="the proposal",
    after="the rejected rule version",
)
RULE_WITHDRAWN = _declare(
    "rule.withdrawn",
    "business_rule",
    "Rule proposal withdrawn",
    before="the proposal",
    after="the withdrawn version",
)
RISK_ASSESSED = _declare(
    "risk.assessed",
    "risk_assessment",
    "Risk assessed",
    before="the previous assessment's tier and number (empty for the first)",
    after="the assessment with its four scored risks",
)
MEETING_CREATED = _declare(
    "meeting.created", "meeting", "Review meeting planned", after="the meeting's fields and attendee ids"
)
MEETING_ATTENDEES_SET = _declare(
    "meeting.attendees_set",
    "meeting",
    "Meeting attendees changed",
    before="attendee ids",
    after="attendee ids",
)
MEETING_AGENDA_GENERATED = _declare(
    "meeting.agenda_generated",
    "meeting",
    "Meeting agenda drawn up",
    after="items per kind, and the moment since which changes are listed",
)
MEETING_DECISION_RECORDED = _declare(
    "meeting.decision_recorded",
    "meeting",
    "Meeting decision recorded",
    after="the agenda item, outcome, comment, who was present, and its effect (a promotion or rule decided, an action)",
)
MEETING_CLOSED = _declare(
    "meeting.closed", "meeting", "Meeting closed", after="status and number of decisions"
)
MEETING_ACTION_CLOSED = _declare(
    "meeting.action_closed",
    "meeting_action",
    "Meeting action closed",
    before="the action's fields",
    after="the action's fields, closed",
)

# --- monitoring: thresholds, health, alerts, labelling, drift -------------------------------------
THRESHOLDS_SET = _declare(
    "thresholds.set",
    "model",
    "Monitoring thresholds changed",
    before="the limits that changed, as they were, and their version",
    after="the new limits and their version",
)
HEALTH_CHANGED = _declare(
    "health.changed",
    "model",
    "Model health changed",
    before="the status and its reasons",
    after="the new status and its reasons",
)
ALERT_OPENED = _declare(
    "alert.opened", "alert", "Alert opened", after="the finding: kind, level, message, figures"
)
ALERT_UPDATED = _declare(
    "alert.updated", "alert", "Alert changed", before="the level and message", after="the finding now"
)
ALERT_CLOSED = _declare(
    "alert.closed", "alert", "Alert closed", before="kind, level and message", after="the moment it closed"
)
CAMPAIGN_CREATED = _declare(
    "campaign.created",
    "labelling_campaign",
    "Labelling campaign started",
    after="the campaign's fields and its sampling strategy in words",
)
CAMPAIGN_CLOSED = _declare(
    "campaign.closed", "labelling_campaign", "Labelling campaign closed", before="status", after="status"
)
LABEL_SUBMITTED = _declare(
    "label.submitted",
    "campaign_item",
    "Label given",
    after="campaign, case, prediction, the answer (or unsure/skipped), comment and the case's status",
)
LABEL_RESOLVED = _declare(
    "label.resolved",
    "campaign_item",
    "Labellers' disagreement resolved",
    before="status (disagreement)",
    after="status and the final label",
)
DRIFT_PROFILE_BUILT = _declare(
    "drift.profile_built",
    "drift_profile",
    "Drift reference profile built",
    after="version, source, rows and number of columns",
)
DRIFT_RUN = _declare(
    "drift.run",
    "drift_run",
    "Drift checked",
    after="version, kind and period of the run, status, share and number of columns drifted, rows compared",
)
DRIFT_RUN_REPLACED = _declare(
    "drift.run_replaced",
    "drift_run",
    "Drift check redone",
    before="the earlier run of the same period",
    after="the new run",
)
DRIFT_REPORT_BUILT = _declare(
    "drift.report_built",
    "drift_run",
    "Drift report written",
    before="the report's previous path",
    after="the report's path and the rows compared",
)

# --- explanations and costs -----------------------------------------------------------------------
EXPLANATION_STORED = _declare(
    "explanation.stored",
    "model_version",
    "Global explanation computed",
    before="when the previous one was computed and on how many rows",
    after="source, explainer, rows, seconds, feature importance",
)
BUDGET_SET = _declare(
    "budget.set", "cost_budget", "Cost budget set", before="the budget as it was", after="the budget as it is"
)
COSTS_FORECAST_STORED = _declare(
    "costs.forecast_stored",
    "cost_forecast",
    "Cost forecasts computed",
    after="number of forecasts, their scopes, how many per model",
)

# --- notifications and retraining ----------------------------------------------------------------
NOTIFY_PREFERENCE_SET = _declare(
    "notify.preference_set",
    "person",
    "Notification preference set",
    before="mode, digest hour, quiet hours and time zone as they were",
    after="mode, digest hour, quiet hours and time zone now",
)
NOTIFY_SUBSCRIBED = _declare(
    "notify.subscribed",
    "notify_subscription",
    "Subscribed to e-mail notifications",
    after="the scope (model, business unit or everything) and event types",
)
NOTIFY_UNSUBSCRIBED = _declare(
    "notify.unsubscribed",
    "notify_subscription",
    "E-mail subscription removed",
    before="active",
    after="inactive",
)
NOTIFY_ENDPOINT_ADDED = _declare(
    "notify.endpoint_added",
    "notify_subscription",
    "Webhook or channel added",
    after="channel, name, address (Slack and Teams paths cut), scope, event types, a fingerprint of the secret",
)
NOTIFY_ENDPOINT_REMOVED = _declare(
    "notify.endpoint_removed",
    "notify_subscription",
    "Webhook or channel removed",
    before="active",
    after="inactive",
)
NOTIFY_SECRET_ROTATED = _declare(
    "notify.secret_rotated",
    "notify_subscription",
    "Webhook secret rotated",
    before="a fingerprint of the old secret",
    after="a fingerprint of the new secret",
)
NOTIFY_DELIVERY_RETRIED = _declare(
    "notify.delivery_retried",
    "notify_delivery",
    "Failed notification sent again",
    before="status, attempts and last error",
    after="pending, with its attempts counted anew",
)
NOTIFY_PURGED = _declare(
    "notify.purged",
    "outbox",
    "Old delivery records removed",
    after="how many events, deliveries and attempts, and the cut-off",
)
RETRAINING_REQUESTED = _declare(
    "retraining.requested",
    "retraining_request",
    "Retraining requested",
    after="status, source, owner, due date (the evidence is frozen on the request)",
)
RETRAINING_ANSWERED = _declare(
    "retraining.answered",
    "retraining_request",
    "Retraining answered by a new version",
    before="the request as it was",
    after="the request with its answering version",
)
RETRAINING_CLOSED = _declare(
    "retraining.closed",
    "retraining_request",
    "Retraining done (version in production)",
    before="the request as it was",
    after="the closed request and the days from request to production",
)
RETRAINING_CANCELLED = _declare(
    "retraining.cancelled",
    "retraining_request",
    "Retraining request cancelled",
    before="the request as it was",
    after="the cancelled request",
)

# --- the demo -------------------------------------------------------------------------------------
DEMO_HISTORY_DATED = _declare(
    "demo.history_dated",
    "registry",
    "Demo history dated",
    after="the demo's today and seed, and how many labelled predictions were attributed to labellers",
)


def kind(name: str) -> EventKind:
    """The catalogue entry named ``name``; KeyError naming the file to add it to otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"audit action {name!r} is not in the catalogue (core/events.py)") from None


def label(name: str) -> str:
    """What people read for the action ``name``.

    Names no longer in the catalogue (events written by an older Steward) read as their words:
    "rule.recorded" -> "Rule recorded".
    """
    entry = CATALOGUE.get(name)
    if entry is not None:
        return entry.label
    words = name.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else "(no action)"


def labels(names: list[str]) -> dict[str, str]:
    """``label`` of each name, e.g. for a filter's choices."""
    return {n: label(n) for n in names}
