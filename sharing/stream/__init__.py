"""The websocket stream (docs/api.md, "Stream"; docs/stream.md): exchange layer of `sharing`.

- `routing`: what the dispatcher publishes for each event (its audience groups, redacted once);
- `publish`: the dispatcher's side: Redis pub/sub in the services mode, the hub in-process in the
  embedded mode;
- `hub`: one per server process: local subscribers by jurisdiction, fan-out, gap repair;
- `consumers`: the `/ws/v1/stream/` consumer; `selectors`: the reads it needs;
- `filters`: the `filter` action (shared with webhook subscriptions).
"""
