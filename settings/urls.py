from django.conf import settings
from django.urls import include, path, re_path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents import urls as wagtaildocs_urls

from cms.api.app import api as api_v1
from cms.api.problems import not_found as api_v1_not_found

# Wagtail's own API v2, kept mounted as the comparison baseline for our API.
api_v2 = WagtailAPIRouter("wagtailapi")
api_v2.register_endpoint("pages", PagesAPIViewSet)

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/v2/", api_v2.urls),
    path("api/v1/", api_v1.urls),
    # Signed object URLs when media live on local disk (the quick start).
    path("storage/", include("media_pipeline.urls")),
    # Anything else under /api/v1/ is a problem+json 404, not the site's HTML page.
    re_path(r"^api/v1/", api_v1_not_found),
]

if settings.DEBUG:
    from django.views.static import serve

    # Images and documents in dev; never the pipeline's private keys
    # (uploads/, media/, working directories), which go through /storage/.
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?!uploads/|media/|\.)(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

urlpatterns += [path("", include(wagtail_urls))]
