import logging

from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "wanxue_search"
    verbose_name = "Learner search"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals

        signals.connect()
        # elastic_transport logs every request at INFO: a rebuild would print
        # hundreds of lines over its progress bar. Warnings still show.
        logging.getLogger("elastic_transport").setLevel(logging.WARNING)
