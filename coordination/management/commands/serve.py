import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.storage import ensure_static_files_collected

# The stream's fan-out writes each event's frame once for all its connections
# (sharing.stream.frames): that needs uvicorn's sans-I/O websockets protocol, named rather than
# left to "auto", and no compression (it would be paid per connection for every event).
WEBSOCKET_OPTIONS = {"ws": "websockets-sansio", "ws_per_message_deflate": False}


class Command(BaseCommand):
    help = (
        "Serve HTTP and websockets (ASGI, uvicorn). In the embedded mode (no REDIS_URL) the "
        "Celery worker and beat run inside this process too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="server processes (services mode only)")

    def handle(self, *args, host, port, workers, **options):
        try:
            ensure_static_files_collected(self.stdout.write)
        except OSError as exc:
            raise CommandError(
                f"The static files are not collected and {settings.STATIC_ROOT} cannot be written ({exc}): "
                "run `python manage.py collectstatic --no-input` as a user who may write there, then serve."
            ) from exc
        embedded = None
        if settings.CELERY_EMBEDDED:
            if workers != 1:
                self.stderr.write("The embedded mode runs one process; --workers ignored.")
                workers = 1
            from config.embedded import EmbeddedCelery

            embedded = EmbeddedCelery()
            embedded.start()
        shown_host = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Liandong serving on http://{shown_host}:{port}/", ending="\n")
        self.stdout.flush()
        try:
            uvicorn.run(
                "config.asgi:application",
                host=host,
                port=port,
                workers=workers,
                lifespan="off",
                log_level=settings.LOG_LEVEL.lower(),
                access_log=settings.DEBUG,
                proxy_headers=settings.TRUST_X_FORWARDED_FOR,
                **WEBSOCKET_OPTIONS,
            )
        finally:
            if embedded is not None:
                embedded.stop()
