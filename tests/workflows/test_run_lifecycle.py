"""The run lifecycle: one table (models.RUN_MOVES), one function that moves a run along it
(runs.run_move), asked by the engine and the coordinators' pause, resume and cancel alike."""

import pytest

from config.errors import Conflict
from coordination.workflows.models import ACTIVE_RUN_STATES, LIVE_RUN_STATES, RUN_MOVES, RunState, WorkflowRun
from coordination.workflows.runs import run_move
from tests.conftest import GUANGZHOU
from tests.workflows.conftest import deliver, drive

pytestmark = pytest.mark.django_db


def test_the_table_names_every_state_and_only_cancelled_is_final():
    assert set(RUN_MOVES) == set(RunState.values)
    assert all(set(moves) <= set(RunState.values) for moves in RUN_MOVES.values())
    assert LIVE_RUN_STATES == {RunState.RUNNING, RunState.PAUSED, RunState.COMPLETED}
    # A paused run's clock stops; a completed run's keeps escalating what is unanswered.
    assert ACTIVE_RUN_STATES == {RunState.RUNNING, RunState.COMPLETED}


def test_a_move_the_table_does_not_allow_is_refused_and_changes_nothing(playbooks, report, clock):
    incident = report()
    deliver()
    drive(clock.now)
    WorkflowRun.objects.filter(incident_id=incident.public_id).update(state=RunState.COMPLETED)
    run = WorkflowRun.objects.get(incident_id=incident.public_id)
    with pytest.raises(Conflict) as refused:
        run_move(run, RunState.PAUSED, paused_at=clock.now)
    assert refused.value.extra == {"state": "completed", "allowed": ["cancelled"]}
    run.refresh_from_db()
    assert run.state == RunState.COMPLETED and run.paused_at is None


def test_a_cancelled_run_is_final_for_the_coordinators_too(playbooks, report, clock, api_as):
    incident = report()
    deliver()
    drive(clock.now)
    run = WorkflowRun.objects.get(incident_id=incident.public_id)
    client = api_as(GUANGZHOU, role="coordinator")
    assert client.post(f"/api/v1/workflow-runs/{run.id}/cancel/").json()["state"] == "cancelled"
    for action in ("pause", "resume"):
        response = client.post(f"/api/v1/workflow-runs/{run.id}/{action}/")
        assert response.status_code == 409, response.content
        assert response.json()["allowed"] == [] and "it is final" in response.json()["detail"]
    assert client.post(f"/api/v1/workflow-runs/{run.id}/cancel/").json()["state"] == "cancelled"  # no change
