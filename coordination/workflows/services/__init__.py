"""Writes people make on joint prevention and control, one module per thing they handle:
`playbooks` (definitions checked, playbooks created and changed), `acknowledgements` (a request
answered, by its jurisdiction or a coordination body in its place), `run_control` (a run paused,
resumed, cancelled; a publish_alert step's draft approved), `joint_commands` (a joint command,
its log and tasks; a task moved) and `meetings` (joint meetings, their decisions). `lookup`
holds what they share: an id parsed, a thing the caller may see or a 404.

Each write runs in one transaction, writes an audit entry, emits one event per write and a
timeline entry on the incident; callers (the API, the stream's `ack`, the admin, the web UI)
pass a Principal and what it sent. Input checks are the contract's
(coordination.workflows.contract). What the engine does on its own starts in
coordination.workflows.triggers and coordination.workflows.deadlines. Callers import from the
module they need; nothing is re-exported here, so each function has one name.
"""
