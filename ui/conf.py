"""The UI's own settings. Each is read from Django's settings when a deployment sets it there,
else from the environment (docs/operations.md; docs/ui.md, "The map"), so the UI needs no edit of config/settings.py."""

from django.conf import settings

from config.env import env_str


def map_tile_url() -> str:
    """A tile layer URL template for the map ("https://tiles.example/{z}/{x}/{y}.png"), or ""
    for none: stations are often cut off, and the boundaries alone still make a useful map."""
    return getattr(settings, "MAP_TILE_URL", None) or env_str("MAP_TILE_URL", "")


def map_tile_attribution() -> str:
    """Shown in the corner of the map when tiles are used (tile providers require it)."""
    return getattr(settings, "MAP_TILE_ATTRIBUTION", None) or env_str("MAP_TILE_ATTRIBUTION", "")


def deadline_scale() -> float:
    """How fast playbook deadlines run here (config/settings.py, DEADLINE_SCALE): 1 in earnest,
    0.01 in a drill where a 30-minute deadline passes in 18 seconds. The page frame says so
    whenever it is not 1 (docs/ui.md, "Drill speed"): an officer must not take a drill's
    countdowns for the playbooks' own."""
    return float(getattr(settings, "DEADLINE_SCALE", 1.0))
