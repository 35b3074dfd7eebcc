from sharing.event_schemas import Payload


class _AgreementPayload(Payload):
    id: str
    name: str
    cluster: str
    grantor: str
    grantees: list[str]
    data_kinds: list[str]
    categories: list[str]
    level_at_least: str
    valid_from: str | None
    valid_until: str | None
    withheld_fields: list[str]
    is_active: bool


class AgreementCreated(_AgreementPayload):
    pass


class AgreementUpdated(_AgreementPayload):
    pass
