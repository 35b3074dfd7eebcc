from django.core.management.base import BaseCommand, CommandError

from config.errors import ApplicationError
from incidents.alerts.senders import cap_sender_register, cap_sender_unregister


class Command(BaseCommand):
    help = ("Allow a jurisdiction to import CAP alerts whose sender matches PATTERN (an exact sender, or a shell "
            "pattern such as *@hk-gov.example); safe to run twice. --remove takes the registration away.")

    def add_arguments(self, parser):
        parser.add_argument("pattern")
        parser.add_argument("--jurisdiction", required=True, help="GB/T 2260 code, e.g. 810000")
        parser.add_argument("--note", default="", help="whose system this is, for people")
        parser.add_argument("--remove", action="store_true", help="unregister instead")

    def handle(self, *args, pattern, jurisdiction, note, remove, **options):
        try:
            if remove:
                removed = cap_sender_unregister(actor=None, pattern=pattern, jurisdiction=jurisdiction)
                said = "is no longer" if removed else "was not"
                self.stdout.write(f"CAP sender {pattern} {said} registered to {jurisdiction}.")
                return
            registration, created = cap_sender_register(actor=None, pattern=pattern, jurisdiction=jurisdiction,
                                                        note=note)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        said = "registered to" if created else "was already registered to"
        self.stdout.write(f"CAP sender {registration.pattern} {said} {jurisdiction}.")
