"""Websocket routes. Each consumer authenticates and checks the Origin itself (sharing.stream)."""

websocket_urlpatterns: list = []
