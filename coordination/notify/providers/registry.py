"""Which adapter serves a channel: `provider_for(channel)`, from settings (docs/providers.md).

A channel with no provider configured (no `SMS_PROVIDER`, no VAPID key) still gets a provider:
one whose `send` raises the permanent ProviderError "not_configured", so the pipeline fails over
to the person's next channel instead of retrying something that cannot work. Adapters hold no
state of their own (connections are kept per thread in their modules), so a new one per call is cheap.
"""

import logging

from django.conf import settings

from coordination.notify.providers import http
from coordination.notify.providers.base import Handed, Message, Provider, ProviderError
from coordination.notify.providers.email import EmailProvider
from coordination.notify.providers.robots import DingTalkRobotProvider, FeishuRobotProvider, WeComRobotProvider
from coordination.notify.providers.sms_gateway import SmsGatewayProvider
from coordination.notify.providers.tencent_sms import TencentSmsProvider
from coordination.notify.providers.webpush import WebPushProvider


class NotConfigured:
    def __init__(self, channel: str, detail: str = ""):
        self.channel = channel
        self.detail = detail

    def send(self, message: Message) -> Handed:
        raise ProviderError("not_configured", self.detail or self.channel, transient=False)


_BY_CHANNEL = {
    "email": EmailProvider,
    "wecom": WeComRobotProvider,
    "dingtalk": DingTalkRobotProvider,
    "feishu": FeishuRobotProvider,
    "webpush": WebPushProvider,
}
_SMS = {"gateway": SmsGatewayProvider, "tencent": TencentSmsProvider}


def provider_for(channel: str) -> Provider:
    if channel == "sms":
        which = settings.SMS_PROVIDER
        if not which:
            return NotConfigured("sms", "SMS_PROVIDER is not set")
        return _SMS[which]()
    factory = _BY_CHANNEL.get(channel)
    if factory is None:
        return NotConfigured(channel, f"no provider for channel {channel!r}")
    return factory()


def prepare_providers() -> None:
    """Done once as a worker process starts (coordination/notify/apps.py), so the first incident after a
    start does not pay for it while its messages wait: the HTTP adapters' TLS context and
    transport. Never raises: a provider that cannot be prepared fails on its first message
    instead, where the pipeline records it."""
    try:
        http.prepare()
    except Exception:  # noqa: BLE001 - see the docstring
        logging.getLogger("liandong.notify").warning("notification providers not prepared", exc_info=True)
