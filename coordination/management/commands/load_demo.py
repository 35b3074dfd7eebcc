from django.core.management.base import BaseCommand

from coordination.demo import load_body_officers, load_registry
from coordination.duty.demo import load_demo_rosters
from coordination.workflows.demo import load_playbooks
from incidents.alerts.demo import load_demo_senders
from sharing.mutualaid.demo import load_demo_stock


class Command(BaseCommand):
    help = "Load the demo cluster GBA and the national clusters; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--officers-password",
                            help="also make the demo's committee officers (one per core city) with this password")

    def handle(self, *args, officers_password=None, **options):
        summary = load_registry()
        # Each capability adds its demo data here as it lands (agreements, playbooks, ...).
        load_demo_stock(summary)
        load_playbooks(summary)
        load_demo_senders(summary)
        officers = load_body_officers(summary, officers_password) if officers_password else []
        load_demo_rosters(summary)  # last: the officers there are by then stand on the rosters
        self.stdout.write("Demo cluster GBA loaded:")
        for line in summary.lines():
            self.stdout.write(f"  {line}")
        for officer in officers:
            self.stdout.write(f"  log in as {officer['username']} ({officer['role']}, {officer['jurisdiction']}), "
                              f"seated on {officer['body']}")
