"""LocalStore's signed URLs (media_pipeline/views.py), mounted at /storage/."""

from django.urls import path

from media_pipeline import views

urlpatterns = [
    path("o/<str:token>", views.object_get, name="storage_object"),
    path("post", views.object_post, name="storage_post"),
    path("part/<str:token>", views.part_put, name="storage_part"),
]
