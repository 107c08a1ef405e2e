from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Course content"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cms.api import response_cache

        response_cache.connect()
