from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from coordination.models import Role
from coordination.services import officer_create


class Command(BaseCommand):
    help = "Create (or update) an officer: a web UI user acting for one jurisdiction in one role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--jurisdiction", required=True, help="GB/T 2260 code, e.g. 440300")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="generated and printed when left out")

    def handle(self, *args, username, jurisdiction, role, password, **options):
        try:
            _, used_password = officer_create(
                username=username, jurisdiction_code=jurisdiction, role=role, password=password
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Officer {username} ({role}) for {jurisdiction}.")
        if not password:
            self.stdout.write(f"Password: {used_password}")
