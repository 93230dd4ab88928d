"""Prometheus metrics, served at `/metrics` (text format), per process.

Counts are incremented once the transaction that made the change has committed, so a
rolled-back change is never counted."""

from prometheus_client import Counter, Gauge, Histogram

GROUPS_OPENED = Counter("kohort_groups_opened", "Groups opened.")
GROUPS_COMPLETED = Counter("kohort_groups_completed", "Groups completed (2+ members).")
GROUPS_EXPIRED = Counter("kohort_groups_expired", "Groups expired (ended alone).")
GROUPS_CANCELED = Counter("kohort_groups_canceled", "Groups canceled.")
REMINDERS_DUE = Counter("kohort_reminders_due", "Reminders recorded as due.", ["moment"])
EMAILS_SENT = Counter("kohort_emails_sent", "E-mails sent (or written as .eml).", ["kind"])
EMAILS_RETRIED = Counter("kohort_emails_retried", "E-mail attempts failed, to retry.", ["kind"])
EMAILS_FAILED = Counter("kohort_emails_failed", "E-mails given up on.", ["kind"])
WORKER_FAILURES = Counter("kohort_worker_failures", "Worker items that failed.", ["kind"])
WORKER_SET_ASIDE = Gauge("kohort_worker_set_aside", "Items set aside after repeated failures.")
SWEEP_LAG = Gauge(
    "kohort_worker_sweep_lag_seconds",
    "Now minus the moment the oldest group still waiting to be ended fell due (0 if none).",
)
BATCH_SECONDS = Histogram(
    "kohort_worker_batch_seconds",
    "Time to handle one batch of due items.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_ATTEMPTS = Counter("kohort_webhook_attempts", "Webhook delivery attempts made.")
WEBHOOK_SUCCEEDED = Counter("kohort_webhook_succeeded", "Webhook attempts answered with a 2xx.")
WEBHOOK_FAILED = Counter(
    "kohort_webhook_failed", "Webhook attempts that failed (non-2xx, error, refused destination)."
)
