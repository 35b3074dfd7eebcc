"""Events of the exchange itself (sharing.webhooks emits them)."""

from sharing.event_schemas import Payload


class WebhookDisabled(Payload):
    """A subscription switched off after its receiver failed for too long; its client turns it
    back on (PATCH /api/v1/webhook-subscriptions/{id}/ with is_active true) once the receiver works."""

    subscription: str
    client: str
    url_host: str
    reason: str
    consecutive_failures: int
    failing_since: str | None
    disabled_at: str
