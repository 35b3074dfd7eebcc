"""What a mutual-aid write accepts, declared once: the services check it
(sharing.mutualaid.services.checks) and the web UI's forms take their limits from it (ui.stock_forms),
so a page never offers more or less than the service allows."""

# A quantity of stock, requested, offered or committed (0 allowed on hand, 1 elsewhere).
MAX_QUANTITY = 10_000_000
# A place name (an inventory's depot, a request's delivery place): Inventory.location_name's length.
PLACE_NAME_MAX_LENGTH = 200
# Contacts on one inventory or request.
MAX_CONTACTS = 20
