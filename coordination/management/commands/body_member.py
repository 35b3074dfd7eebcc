from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from coordination.bodies import body_member_add, body_member_members, body_member_remove


class Command(BaseCommand):
    help = ("Seat officers on a coordination body (the cluster committee, a joint conference), unseat them, or "
            "list them: a body's officers act for it on what is escalated to it.")

    def add_arguments(self, parser):
        parser.add_argument("body", help="the body's code, e.g. GBA-COMMITTEE")
        parser.add_argument("usernames", nargs="*", help="officers (made with create_officer)")
        parser.add_argument("--remove", action="store_true", help="unseat the officers named instead")

    def handle(self, *args, body, usernames, remove, **options):
        try:
            for username in usernames:
                changed = (body_member_remove if remove else body_member_add)(body=body, username=username)
                verb = ("unseated from" if changed else "was not on") if remove else (
                    "seated on" if changed else "already on")
                self.stdout.write(f"{username} {verb} {body}.")
            for username, jurisdiction, role in body_member_members(body=body):
                self.stdout.write(f"  {username} ({role}, {jurisdiction})")
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
