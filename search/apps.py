from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "wanxue_search"
    verbose_name = "Learner search"
    default_auto_field = "django.db.models.BigAutoField"
