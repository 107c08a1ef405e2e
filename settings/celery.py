"""The Celery application. Configuration lives in Django settings (``CELERY_*``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.dev")

app = Celery("wanxue")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Publishing on a web request's path (on commit): fail fast and leave the work
# to the caller's outbox rather than hold the editor's save. Measured with Redis
# refusing connections: ``retry=False`` still runs kombu's connect loop and
# took 6.0 s per publish; this one-retry, no-wait policy failed in 0.4 s the
# first time and at once after that.
REQUEST_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
