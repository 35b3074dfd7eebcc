"""Websocket routes. Each consumer authenticates and checks the Origin itself (sharing.stream)."""

from django.urls import path

from sharing.stream.consumers import StreamConsumer

websocket_urlpatterns: list = [
    path("ws/v1/stream/", StreamConsumer.as_asgi()),
]
