"""The layers (docs/architecture.md, "Layers") as a test: the file-level import graph of the
product packages has no cycle, and no module imports one in a layer above its own.

The graph is read from the source with `ast`, without importing anything:

- a module is a `.py` file of config, coordination, incidents, sharing or ui; migrations are
  left out (the schema's history, run by `migrate`, not imported by the product), and so is a
  package's `__init__.py` that holds nothing but a docstring (it imports nothing);
- an edge is an `import` or `from … import` of one of those modules, wherever it is written:
  at module level, inside a function, a method or an `if`. Both kinds count alike, for the
  cycles and for the layers. A function-level import still makes the module depend on the
  one it imports; written there only to dodge a cycle it hides the cycle, so it is one here.
  No import is exempt (EXEMPT below is empty; an entry needs its reason);
- `from a.b import c` is an edge to `a.b.c` when that is a module, else to `a.b`. Importing
  `a.b.c` also runs `a/__init__.py` and `a/b/__init__.py`, which is not counted as an edge (a
  package that imports its own submodules would otherwise be in a cycle with each of them);
- what is reached by name and not by import (a Celery task name, a dotted path in the
  settings, a foreign key's "app.Model") is not an edge.

Every module is placed in LAYERS. A module nobody placed fails the test: a new module must be
given its layer here, by what it is (not by what it would like to import).
"""

import ast
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "coordination", "incidents", "sharing", "ui")

# The layers, bottom up: each module's layer by what it is.
LAYERS: dict[int, str] = {
    # 0. Plumbing that every layer may use: settings, the cache, the Celery app, the
    # application's errors, the rule for a time a caller sends.
    0: """
        config config.cache config.celery config.embedded config.env config.errors config.settings
        config.startup config.storage config.times
    """,
    # 1. The coordination registry: clusters, jurisdictions, adjacency, roles, API clients,
    # credentials, audit.
    1: """
        coordination.apps coordination.audit coordination.authentication coordination.demo
        coordination.demo.check_geometry coordination.geometry coordination.models
        coordination.permissions coordination.principals coordination.roles coordination.schema
        coordination.selectors coordination.services coordination.throttling
        coordination.bodies
        coordination.registry
        coordination.duty.apps coordination.duty.demo coordination.duty.ical
        coordination.duty.models coordination.duty.selectors coordination.duty.services
        coordination.people.apps coordination.people.models coordination.people.contract coordination.people.selectors
        coordination.people.services
    """,
    # 2. Sharing policy and the event log: agreements, the visibility rule, events and their
    # schemas.
    2: """
        sharing.apps sharing.event_schemas sharing.event_schemas.agreements sharing.event_schemas.alerts
        sharing.event_schemas.incidents sharing.event_schemas.resources sharing.event_schemas.stream
        sharing.event_schemas.notifications
        sharing.event_schemas.workflows sharing.eventlog sharing.events sharing.models sharing.selectors
        sharing.services sharing.visibility
    """,
    # 3. Incidents: incidents, timeline, situation reports, areas, public alerts and CAP.
    3: """
        incidents.apps incidents.areas incidents.catalogue incidents.intake incidents.lifecycle
        incidents.models incidents.payloads incidents.selectors incidents.services
        incidents.alerts.apps incidents.alerts.areas incidents.alerts.cap incidents.alerts.cap._values
        incidents.alerts.cap._xml incidents.alerts.cap.model incidents.alerts.cap.parsing
        incidents.alerts.cap.rendering incidents.alerts.cap.signature incidents.alerts.compose
        incidents.alerts.convert incidents.alerts.demo incidents.alerts.intake incidents.alerts.issuing
        incidents.alerts.links incidents.alerts.mapping incidents.alerts.models incidents.alerts.selectors
        incidents.alerts.senders incidents.alerts.store
        incidents.contract incidents.contract_fast incidents.alerts.contract incidents.alerts.languages
    """,
    # 4. Sharing exchange: dispatch's numbering, routing and publishing, the stream, webhooks,
    # inventories and mutual aid.
    4: """
        sharing.dispatch sharing.stream.filters sharing.stream.frames sharing.stream.hub
        sharing.stream.publish sharing.stream.routes sharing.stream.selectors
        sharing.webhooks.apps sharing.webhooks.models sharing.webhooks.selectors sharing.webhooks.sender
        sharing.webhooks.services sharing.webhooks.signing
        sharing.mutualaid.apps sharing.mutualaid.catalogue sharing.mutualaid.demo sharing.mutualaid.edxl
        sharing.mutualaid.lifecycle sharing.mutualaid.models sharing.mutualaid.payloads
        sharing.mutualaid.selectors sharing.mutualaid.services.checks sharing.mutualaid.services.inventories
        sharing.mutualaid.services.reimbursements sharing.mutualaid.services.requests
        sharing.mutualaid.services.offers
        sharing.mutualaid.timeline
        sharing.mutualaid.contract
        coordination.notify.providers.base coordination.notify.providers.email coordination.notify.providers.http
        coordination.notify.providers.errors
        coordination.notify.providers.registry coordination.notify.providers.replies
        coordination.notify.providers.robots coordination.notify.providers.sms_gateway
        coordination.notify.providers.tencent_sms coordination.notify.providers.webpush
    """,
    # 5. Coordination workflows: playbooks, runs, acknowledgements, escalation, joint command,
    # meetings.
    5: """
        coordination.workflows.apps coordination.workflows.deadlines coordination.workflows.definitions
        coordination.workflows.demo coordination.workflows.escalation
        coordination.workflows.events coordination.workflows.joint_command coordination.workflows.models
        coordination.workflows.payloads coordination.workflows.reconcile coordination.workflows.runs
        coordination.workflows.selectors coordination.workflows.services.acknowledgements
        coordination.workflows.services.joint_commands coordination.workflows.services.lookup
        coordination.workflows.services.meetings coordination.workflows.services.playbooks
        coordination.workflows.services.run_control
        coordination.workflows.steps coordination.workflows.timeline coordination.workflows.timers
        coordination.workflows.triggers coordination.workflows.contract coordination.workflows.texts
        coordination.notify.apps coordination.notify.lifecycle coordination.notify.links coordination.notify.models
        coordination.notify.escalation
        coordination.notify.callbacks
        coordination.notify.rendering coordination.notify.selectors
        coordination.notify.sending coordination.notify.services
        coordination.notify.events
    """,
    # 6. The edges: API views and serializers (and what config gives every one of them: problem
    # details, middleware, the schema, serializers' and filters' bases, pagination, rendering),
    # the web UI, admin (and config's read-only mixin for every admin), management commands,
    # Celery task modules, the stream's consumer, URL confs, the public feed (views), the
    # processes' entry points.
    6: """
        config.admin config.asgi config.filters config.health config.metrics config.middleware
        config.pagination config.problems config.renderers config.routing config.schema config.serializers
        config.urls config.wsgi
        coordination.admin coordination.api.serializers coordination.api.urls coordination.api.views
        coordination.management.commands.create_api_client coordination.management.commands.create_officer
        coordination.management.commands.import_boundaries coordination.management.commands.load_demo
        coordination.management.commands.serve
        coordination.management.commands.body_member
        coordination.duty.admin coordination.duty.api.parsers coordination.duty.api.serializers
        coordination.duty.api.urls coordination.duty.api.views
        coordination.workflows.admin coordination.workflows.api.serializers coordination.workflows.api.urls
        coordination.workflows.api.views coordination.workflows.tasks
        incidents.admin incidents.api.filters incidents.api.pagination incidents.api.serializers
        incidents.api.urls incidents.api.views
        incidents.alerts.admin incidents.alerts.api.filters incidents.alerts.api.parsers
        incidents.alerts.api.senders incidents.alerts.api.serializers incidents.alerts.api.urls
        incidents.alerts.api.views incidents.alerts.feeds incidents.alerts.urls
        incidents.alerts.management.commands.register_cap_sender
        sharing.admin sharing.api.agreement_urls sharing.api.agreements sharing.api.events
        sharing.api.exchange_urls sharing.api.webhooks sharing.stream.consumers sharing.tasks
        sharing.webhooks.tasks
        sharing.mutualaid.admin sharing.mutualaid.api.serializers sharing.mutualaid.api.urls
        sharing.mutualaid.api.views sharing.mutualaid.management.commands.import_inventories
        ui.access ui.apps ui.charts ui.conf ui.dates ui.feed ui.forms ui.labels ui.mapdata ui.registry ui.screens
        ui.templatetags.ui_tags ui.timeline ui.urls ui.views.alerts ui.views.auth
        ui.views.coordination ui.views.dashboard ui.views.incidents ui.views.resources ui.views.sharing
        ui.stock_forms ui.inbox ui.views.places
        coordination.people.api.urls coordination.people.api.serializers coordination.people.api.views
        coordination.people.admin ui.views.people ui.people_forms
        coordination.notify.api.urls coordination.notify.api.serializers coordination.notify.api.views
        coordination.notify.api.callbacks
        coordination.notify.admin coordination.notify.tasks coordination.notify.views
    """,
}

# (importer, imported) -> why an import above the importer's layer is right. None today.
EXEMPT: dict[tuple[str, str], str] = {}


def _is_empty_package(path: Path, tree: ast.Module) -> bool:
    """An __init__.py with at most a docstring: nothing to import, nothing imported."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return path.name == "__init__.py" and not body


def read_modules() -> dict[str, tuple[Path, ast.Module]]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            if _is_empty_package(path, tree):
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = (path, tree)
    return modules


def imports_of(name: str, path: Path, tree: ast.Module, modules) -> dict[str, int]:
    """{imported module: line of its first import} of one module, at every depth of its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                source = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((submodule if submodule in modules else source, node.lineno))
    targets: dict[str, int] = {}
    for target, line in sorted(found, key=lambda item: item[1]):
        if target != name and target in modules:
            targets.setdefault(target, line)
    return targets


def import_edges(modules: dict[str, tuple[Path, ast.Module]]) -> dict[str, dict[str, int]]:
    """importer -> {imported: line}, module-level and function-level imports alike."""
    return {name: imports_of(name, path, tree, modules) for name, (path, tree) in modules.items()}


def layer_of() -> dict[str, int]:
    placed: dict[str, int] = {}
    for layer, names in LAYERS.items():
        for name in names.split():
            assert name not in placed, f"{name} is placed twice in LAYERS"
            placed[name] = layer
    return placed


def find_cycle(edges: dict[str, dict[str, int]]) -> list[str] | None:
    """One cycle of the graph (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, {})):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


MODULES = read_modules()
EDGES = import_edges(MODULES)


def test_every_module_is_placed_in_a_layer():
    placed = layer_of()
    unplaced = sorted(set(MODULES) - set(placed))
    gone = sorted(set(placed) - set(MODULES))
    assert not unplaced, f"place these modules in LAYERS (tests/test_architecture.py): {unplaced}"
    assert not gone, f"LAYERS names modules that do not exist (any more): {gone}"


def cycles(edges: dict[str, dict[str, int]], *, at_most: int = 20) -> list[list[str]]:
    """Cycles of the graph, each found after the closing import of those before it is set aside."""
    remaining = {module: dict(targets) for module, targets in edges.items()}
    found = []
    while len(found) < at_most and (cycle := find_cycle(remaining)):
        found.append(cycle)
        del remaining[cycle[-2]][cycle[-1]]
    return found


def test_the_import_graph_has_no_cycle():
    found = cycles(EDGES)
    assert not found, "import cycles (each module with the line of its import of the next):\n" + "\n".join(
        " -> ".join(f"{module} (line {EDGES[module][target]})" for module, target in pairwise(cycle))
        + f" -> {cycle[-1]}"
        for cycle in found
    )


def test_no_module_imports_one_in_a_layer_above_it():
    placed = layer_of()
    upward = [
        f"{importer} (layer {placed[importer]}, line {line}) imports {imported} (layer {placed[imported]})"
        for importer, targets in sorted(EDGES.items())
        for imported, line in sorted(targets.items())
        if importer in placed and imported in placed and placed[imported] > placed[importer]
        and (importer, imported) not in EXEMPT
    ]
    assert not upward, "imports from a layer above:\n" + "\n".join(upward)


def test_the_graph_sees_imports_at_every_depth():
    """The reader itself: an import inside a function is an edge like one at the top."""
    assert "coordination.models" in EDGES["coordination.services"]
    function_level = ast.parse("def f():\n    from sharing.models import Event\n")
    MODULES["tests.probe"] = (ROOT / "tests" / "probe.py", function_level)
    try:
        assert "sharing.models" in import_edges(MODULES)["tests.probe"]
    finally:
        del MODULES["tests.probe"]
