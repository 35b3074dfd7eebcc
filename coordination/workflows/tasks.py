"""Celery tasks of the playbook engine: thin callers of coordination.workflows.deadlines (and
reconcile, for a run to catch up with its incident).

Each takes ids (and the token it was sent with), reloads the rows and is idempotent: the
engine claims work with a conditional UPDATE, so a redelivered, duplicated or stale task
does nothing. acks_late is the project default (config/settings.py): a killed worker's task
is delivered again, and the sweep does whatever was lost altogether.
"""

from celery import shared_task


@shared_task(name="coordination.workflows.tasks.execute_step", ignore_result=True)
def execute_step(step_id: int, token: str) -> str:
    from coordination.workflows.deadlines import step_execute

    return step_execute(step_id=step_id, token=token)


@shared_task(name="coordination.workflows.tasks.check_acknowledgement", ignore_result=True)
def check_acknowledgement(acknowledgement_id: str, token: str) -> str:
    from coordination.workflows.deadlines import acknowledgement_check

    return acknowledgement_check(acknowledgement_id=acknowledgement_id, token=token)


@shared_task(name="coordination.workflows.tasks.reconcile_run", ignore_result=True)
def reconcile_run(run_id: str) -> str:
    from coordination.workflows.reconcile import run_reconcile

    return run_reconcile(run_id=run_id)


@shared_task(name="coordination.workflows.tasks.sweep", ignore_result=True)
def sweep() -> dict:
    from coordination.workflows.deadlines import sweep as sweep_due

    return sweep_due()


@shared_task(name="coordination.workflows.tasks.audit", ignore_result=True)
def audit() -> list[str]:
    from coordination.workflows.deadlines import audit as audit_runs

    return audit_runs()
