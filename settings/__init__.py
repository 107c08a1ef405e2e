"""Project settings: base (reads the environment), dev, test, production.

Importing the Celery app here makes ``@shared_task`` bind to it in every process
(web, worker, management commands), as Celery's Django guide recommends.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
