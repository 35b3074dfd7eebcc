"""The four shipped playbooks (playbooks/*.json), loaded by `manage.py load_demo`.

Loading is safe to repeat: a playbook already present is left as it is, since coordinators
may have edited it since (their version is the one in force).
"""

import json
from pathlib import Path

from coordination.workflows.models import Playbook
from coordination.workflows.services.playbooks import playbook_create

PLAYBOOK_DIR = Path(__file__).resolve().parent / "playbooks"


def shipped_playbooks() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(PLAYBOOK_DIR.glob("*.json"))]


def load_playbooks(summary=None) -> list[Playbook]:
    """Create the shipped playbooks that are missing; `summary` (coordination.demo.LoadSummary)
    counts them for load_demo's report."""
    loaded = []
    for data in shipped_playbooks():
        playbook = Playbook.objects.filter(code=data["code"]).first()
        created = playbook is None
        if created:
            playbook = playbook_create(actor=None, **data)
        if summary is not None:
            summary.count("playbooks", created)
        loaded.append(playbook)
    return loaded
