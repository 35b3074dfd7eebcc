"""Public alert events (incidents.alerts.store emits them on every CAP import, and as alerts
are issued from incidents).

`alert.issued` for a CAP Alert (imported, or a draft approved), `alert.updated` for an Update,
`alert.cancelled` for a Cancel; `alert.drafted` for a draft, which its owner alone sees. The
payload is the message itself, `incident` the public id of the incident it was issued from
(null for imported alerts), `replaces` the alerts whose state it changed. `contacts`
(the info blocks' <contact>) is the sensitive key the stream withholds from subscribers who
may not have it (sharing.visibility.SENSITIVE_FIELDS), as the CAP export drops <contact>.
"""

from sharing.event_schemas import Payload


class AlertReference(Payload):
    sender: str
    identifier: str
    sent: str


class AlertInfoSummary(Payload):
    """An info block in brief, keyed like the API (CAP names in snake_case; a repeated element
    is a list under its singular name). The whole alert is GET /api/v1/alerts/{id}/."""

    language: str
    category: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    onset: str | None
    expires: str | None
    sender_name: str | None
    headline: str | None
    area_desc: list[str]


class _Alert(Payload):
    id: str
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    state: str
    exercise: bool
    signature: str
    owner: str
    cluster: str | None
    level: str
    category: str
    affected_jurisdictions: list[str]
    incident: str | None
    references: list[AlertReference]
    replaces: list[str]
    superseded_by: str | None
    info: list[AlertInfoSummary]
    contacts: list[str]


class AlertDrafted(_Alert):
    pass


class AlertIssued(_Alert):
    pass


class AlertUpdated(_Alert):
    pass


class AlertCancelled(_Alert):
    pass
