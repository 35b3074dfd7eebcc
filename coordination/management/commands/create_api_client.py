from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from coordination.roles import ALL_SCOPES
from coordination.services import api_client_create


class Command(BaseCommand):
    help = "Create a city system's API client; prints its token alone on the last line (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--jurisdiction", required=True, help="GB/T 2260 code, e.g. 440300")
        parser.add_argument("--scopes", help=f"comma-separated, from {','.join(ALL_SCOPES)}; default: all")

    def handle(self, *args, name, jurisdiction, scopes, **options):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()] if scopes else None
        try:
            client, token = api_client_create(name=name, jurisdiction_code=jurisdiction, scopes=scope_list)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(f"API client {client.name} for {client.jurisdiction_id}, scopes {','.join(client.scopes)}.")
        self.stderr.write("Store this token now: it is never shown again.")
        self.stdout.write(token)
