from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from config.errors import ApplicationError
from coordination.models import Role
from coordination.people import contract
from coordination.people import services as people
from coordination.people.models import Channel
from coordination.services import officer_create


class Command(BaseCommand):
    help = "Create (or update) an officer: a web UI user acting for one jurisdiction in one role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--jurisdiction", required=True, help="GB/T 2260 code, e.g. 440300")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="generated and printed when left out")
        parser.add_argument("--email", help="the officer's first contact method (e-mail)")
        parser.add_argument("--phone", help="an SMS number, E.164 (+852/+853 for Hong Kong and Macao): the next one")

    def handle(self, *args, username, jurisdiction, role, password, email=None, phone=None, **options):
        # The contact methods are checked before anything is written: a bad number creates no officer.
        wanted = []
        try:
            if email:
                wanted.append((Channel.EMAIL, contract.check_email(email)))
            if phone:
                wanted.append((Channel.SMS, contract.check_phone(phone, jurisdiction=jurisdiction)))
            with transaction.atomic():
                user, used_password = officer_create(
                    username=username, jurisdiction_code=jurisdiction, role=role, password=password,
                    email=wanted[0][1] if email else "",
                )
                self._first_contacts(user, wanted)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Officer {username} ({role}) for {jurisdiction}.")
        if not password:
            self.stdout.write(f"Password: {used_password}")

    @staticmethod
    def _first_contacts(user, wanted: list[tuple[str, str]]) -> None:
        """The e-mail address and the number given become the officer's first contact methods
        (positions 0 and 1), added unless already on the list; the others keep their order after them."""
        if not wanted:
            return
        first = []
        for channel, address in wanted:
            method = user.contact_methods.filter(channel=channel, address=address).first()
            first.append(method or people.contact_add(actor=None, officer=user, channel=channel, address=address))
        rest = [m.pk for m in user.contact_methods.order_by("position", "id") if m.pk not in {f.pk for f in first}]
        people.contacts_reorder(actor=None, officer=user, ids=[m.pk for m in first] + rest)
