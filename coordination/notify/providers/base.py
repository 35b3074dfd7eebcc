"""The one small interface every provider adapter implements (docs/notifications.md, "Providers").

The pipeline (coordination.notify) renders a message for one recipient and channel, hands it to
the channel's provider with `send`, and records what came back. Adapters know their provider's
wire format and nothing of incidents, rosters or the database.

- `send` returns a `Handed` when the provider accepted the message (its own message id, when it
  gives one, is what its delivery receipts name later).
- It raises `ProviderError` when the provider refused or could not be reached. `transient` says
  whether trying again later may succeed (a timeout, a 5xx, a 429, a refused connection) or not
  (a 4xx naming the address as invalid): the pipeline retries the first with backoff and fails
  over to the recipient's next channel on the second, or once the retries are spent.
- Every message carries its `idempotency_key` (one per notification row: notification,
  recipient, channel). Adapters pass it to providers that deduplicate on it (a header, a
  request id, the e-mail's Message-ID), so a retry after a worker died mid-send is not a
  second message.
"""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    idempotency_key: str
    address: str  # an e-mail address, an E.164 number, a robot's webhook URL, a web push subscription (JSON)
    subject: str  # the e-mail's subject, a robot card's title; channels without one ignore it
    text: str  # the body, rendered for this channel and language, within the channel's length limit
    link: str = ""  # the acknowledgement link the text names, when one is asked for
    language: str = "zh-hans"
    secret: str = ""  # a robot's signing secret (DingTalk, Feishu); never logged
    extra: dict = field(default_factory=dict)  # channel-specific: a provider template's id and parameters


@dataclass(frozen=True)
class Handed:
    provider_id: str = ""  # the provider's id for the message, when it gives one (receipts name it)


class ProviderError(Exception):
    def __init__(self, code: str, detail: str = "", *, transient: bool):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code  # short and stable ("timeout", "http_500", "rejected"): stored on the row, shown translated
        self.detail = detail
        self.transient = transient


class Provider(Protocol):
    channel: str  # one of coordination.people.models.Channel

    def send(self, message: Message) -> Handed: ...
