"""Notifications: who is told about what, how, and whether it arrived.

- ``core.outbox`` (beside the audit log) writes one outbound event per relevant change, in the
  change's transaction;
- ``subscriptions``: people's preferences and subscriptions, and webhook / Slack / Teams endpoints;
- ``recipients``: who receives an event (the model's owners and its unit's approvers by default,
  plus subscriptions) and when (quiet hours, daily digests);
- ``messages``: the e-mail text, the signed webhook body and the Slack and Teams payloads;
- ``channels``: SMTP and HTTP, one try each;
- ``delivery``: the worker (``steward notify deliver``): dispatch, retries with backoff, and the
  record of every attempt.
"""
