"""Settings shared by every environment.

Every external part is chosen by an environment variable, and each falls back to
an embedded default that needs no server (SQLite, local media, a filesystem
Celery broker), so the quick start runs on a bare machine:

- ``DATABASE_URL``       PostgreSQL in production and tests, SQLite otherwise
- ``REDIS_URL``          Celery broker and cache; without it a filesystem broker
- ``ELASTICSEARCH_URL``  the search backend (see ``search/``)
- ``S3_ENDPOINT_URL``, ``S3_BUCKET``, ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``,
  ``S3_REGION``          object storage for media; without ``S3_BUCKET`` files under
                         ``MEDIA_ROOT`` (default ``var/media``), served by the app
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files of the embedded default (SQLite, media, broker folders); git-ignored.
VAR_DIR = Path(os.environ.get("WANXUE_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-dev-only-key-do-not-use-in-production")
DEBUG = False
ALLOWED_HOSTS = [h for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]

INSTALLED_APPS = [
    "cms",
    "media_pipeline",
    "search.apps.SearchConfig",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail.api.v2",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    "rest_framework",
    "corsheaders",  # API v1 CORS allowlist (see the "API v1" block below)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    # API v1: placed high, before anything that can answer (CommonMiddleware),
    # as django-cors-headers requires.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication: it needs request.user to scope admin object views.
    "cms.admin_tenancy.AdminTenancyMiddleware",
]

ROOT_URLCONF = "settings.urls"
WSGI_APPLICATION = "settings.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'wanxue.sqlite3'}"),
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
# Wagtail's images and documents; also the object store when S3_BUCKET is unset.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))

# Object storage: S3-compatible (MinIO) when a bucket is configured, else local files.
S3_BUCKET = env("S3_BUCKET")
S3_ENDPOINT_URL = env("S3_ENDPOINT_URL")
S3_REGION = env("S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env("S3_SECRET_ACCESS_KEY")
if S3_BUCKET:
    DEFAULT_STORAGE: dict = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "region_name": S3_REGION,
            "access_key": S3_ACCESS_KEY_ID,
            "secret_key": S3_SECRET_ACCESS_KEY,
            # Private bucket: every read goes through a short-lived signed URL.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 3600,
            # Write-once keys: never silently replace a stored file.
            "file_overwrite": False,
            "addressing_style": "path",
        },
    }
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Celery: Redis when configured; otherwise kombu's filesystem transport, a real
# broker that needs no server (the quick start runs a real worker on it).
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        # "visibility_timeout" is set with the transcode limits below.
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
        "retry_on_timeout": True,
        "health_check_interval": 25,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    _broker_dir = VAR_DIR / "celery-broker"
    # (a host name, ignored, only to keep kombu from warning "No hostname was supplied")
    CELERY_BROKER_URL = "filesystem://localhost/"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # (kombu's default is ./control: the repository's root)
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # A file cache, not per-process memory: the web server and the Celery
    # worker must see the same API-response generation and rate counts.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 5,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 3,
}
# One queue per kind of work so each gets dedicated workers (RELIABILITY.md:
# `-Q transcode -c <cores/2>` on video machines; `index` stays fast).
CELERY_TASK_ROUTES = {
    # Only the transcode: finalizing an upload, the outbox relay, the sweeper
    # and the cleanup must not wait behind hour-long transcodes.
    "media_pipeline.tasks.asset_transcode_task": {"queue": "transcode"},
    "search.tasks.*": {"queue": "index"},
}

ELASTICSEARCH_URL = env("ELASTICSEARCH_URL")

# Wagtail
WAGTAIL_SITE_NAME = "皖学 Wanxue"
WAGTAILADMIN_BASE_URL = env("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAIL_I18N_ENABLED = False
# The admin's own search runs on the database; learner search lives in search/.
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["pdf", "docx", "pptx", "xlsx", "mp4", "mp3"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILDOCS_MAX_UPLOAD_SIZE = 50 * 1024 * 1024
WAGTAILIMAGES_MAX_UPLOAD_SIZE = 20 * 1024 * 1024
WAGTAILIMAGES_MAX_IMAGE_PIXELS = 40_000_000
WAGTAILAPI_LIMIT_MAX = 100
WAGTAIL_WORKFLOW_ENABLED = True
WAGTAIL_MODERATION_ENABLED = True

# Request limits (RELIABILITY.md A12): video bytes never pass through Django.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = int(2.5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Wagtail logs every page action and django-tasks every task at INFO:
        # thousands of lines per load. Their warnings and errors still show.
        "wagtail": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
    },
}

# --- API v1 (cms/api/, issue #3) -----------------------------------------------
# CORS (RELIABILITY.md A8): an explicit allowlist of front-end origins, only for
# /api/, no credentials (the public API is cookie-less; apps send API keys).
CORS_ALLOWED_ORIGINS = [o for o in env("WANXUE_CORS_ALLOWED_ORIGINS").split(",") if o]
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_ALLOW_HEADERS = ["accept", "authorization", "if-none-match", "x-api-key"]
CORS_EXPOSE_HEADERS = ["ETag", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 86400
# Requests per minute per client IP without an API key; 0 turns the limit off.
# Keys carry their own limit (ApiKey.rate_per_minute). Counted in the default
# cache, which is Redis whenever REDIS_URL is set, so all web processes share it.
WANXUE_API_ANON_RATE_PER_MINUTE = int(env("WANXUE_API_ANON_RATE_PER_MINUTE", "600"))
# Keep rendered public API responses in the default cache under a content
# generation (cms/api/response_cache.py): a 304 then costs no SQL. Set to 0
# to measure or debug the uncached path.
WANXUE_API_RESPONSE_CACHE = env("WANXUE_API_RESPONSE_CACHE", "1") == "1"

# Video pipeline (#4) ------------------------------------------------------------
# Limits for untrusted uploads (RELIABILITY.md B3, media_pipeline/limits.py).
MEDIA_MAX_SOURCE_BYTES = int(env("MEDIA_MAX_SOURCE_BYTES", str(8 * 1024**3)))
# Sources a college may keep (uploads in progress count); per college in the
# admin (Institutions). 500 GiB ≈ 250 h of 1080p lecture recordings.
MEDIA_COLLEGE_QUOTA_GIB = int(env("MEDIA_COLLEGE_QUOTA_GIB", "500"))
MEDIA_MAX_DURATION_SECONDS = float(env("MEDIA_MAX_DURATION_SECONDS", str(4 * 3600)))
MEDIA_MAX_PIXELS = 3840 * 2160
MEDIA_MAX_FPS = 60.0
# Phones add timecode/metadata tracks next to video and audio; 200 is hostile.
MEDIA_MAX_STREAMS = 8
MEDIA_PROBE_TIMEOUT_SECONDS = 30.0
# ffmpeg's time follows the source: 10 min plus its duration at the slowest
# speed a transcode host may have (× realtime; this 2-core machine measured
# 0.7–1.4× for 1080p, docs/benchmarks.md). A 4 h lecture gets 8 h 10 min, a
# 10 min clip 30 min (media_pipeline/limits.py transcode_budget).
MEDIA_TRANSCODE_SPEED_FLOOR = float(env("MEDIA_TRANSCODE_SPEED_FLOOR", "0.5"))
MEDIA_TRANSCODE_TIMEOUT_BASE_SECONDS = 600.0
# Ordering that matters (RELIABILITY.md C4/C10): the longest budget (a source
# of MEDIA_MAX_DURATION_SECONDS) < the soft limit (the runner kills ffmpeg
# first and reports "timeout") < the hard limit < the broker's visibility
# timeout - the longest retry backoff. tests/media_pipeline/test_config.py
# asserts it.
MEDIA_TRANSCODE_TIMEOUT_SECONDS = (
    MEDIA_TRANSCODE_TIMEOUT_BASE_SECONDS + MEDIA_MAX_DURATION_SECONDS / MEDIA_TRANSCODE_SPEED_FLOOR
)
MEDIA_TRANSCODE_SOFT_TIME_LIMIT = int(MEDIA_TRANSCODE_TIMEOUT_SECONDS) + 600
MEDIA_TRANSCODE_TIME_LIMIT = MEDIA_TRANSCODE_SOFT_TIME_LIMIT + 300
# Finalizing an upload: download, ffprobe, sha256, store again ≈ 10 s per GiB
# on MinIO (media_pipeline/uploads.py), so 8 GiB in under 2 min; 15 min leaves
# room for slow storage and stays far below the visibility timeout.
MEDIA_FINALIZE_SOFT_TIME_LIMIT = 900
MEDIA_FINALIZE_TIME_LIMIT = 960
MEDIA_RETRY_BACKOFF_MAX = 600
if REDIS_URL:
    # Above the longest hard time limit plus retry countdowns, so kombu never
    # redelivers a task that is still running (celery#5935). A worker lost for
    # good is noticed sooner, by the sweeper (no heartbeat for 10 min).
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = (
        MEDIA_TRANSCODE_TIME_LIMIT + MEDIA_RETRY_BACKOFF_MAX + 600
    )
# By then any message for a queued asset has run or been restored; one still
# queued lost its message (media_pipeline/services.py _queued_republish).
MEDIA_QUEUED_REPUBLISH_AFTER_SECONDS = MEDIA_TRANSCODE_TIME_LIMIT + MEDIA_RETRY_BACKOFF_MAX + 600
MEDIA_MAX_RETRIES = 5
# A delivery whose worker died counts as an attempt; the third loss fails the
# asset ("worker lost ×3") instead of looping forever (RELIABILITY.md C2).
MEDIA_MAX_ATTEMPTS = 3
# ffmpeg rlimits: address space (the 1080p four-rung ladder of bench/video.py runs
# inside 4 GiB; 512 MiB already fails x264 at 180p, test_validation.py M13),
# bytes per file, and the whole output directory (polled). CPU seconds follow
# the time budget × the host's cores (media_pipeline/transcode.py).
MEDIA_FFMPEG_MEMORY_BYTES = int(env("MEDIA_FFMPEG_MEMORY_BYTES", str(4 * 1024**3)))
MEDIA_FFMPEG_FILE_BYTES = 2 * 1024**3
MEDIA_FFMPEG_OUTPUT_BYTES = int(env("MEDIA_FFMPEG_OUTPUT_BYTES", str(20 * 1024**3)))
MEDIA_FFMPEG_NICENESS = 10
MEDIA_FFMPEG_THREADS = int(env("MEDIA_FFMPEG_THREADS", "0"))  # 0: ffmpeg picks per core
# A running transcode writes a heartbeat every few seconds; a row whose
# heartbeat is older than this has lost its worker (sweeper, duplicate guard).
MEDIA_LEASE_SECONDS = 120
MEDIA_SWEEP_STUCK_AFTER_SECONDS = 600
MEDIA_PLAYBACK_URL_SECONDS = 3600
# The daily storage cleanup only reports (dry run) unless this is set.
MEDIA_CLEANUP_DELETE = env("MEDIA_CLEANUP_DELETE", "0") == "1"
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    # On the default queue: transcode workers can be busy for an hour.
    "media-outbox-relay": {
        "task": "media_pipeline.tasks.outbox_relay_task",
        "schedule": 30.0,
        "options": {"queue": "default"},
    },
    "media-sweep": {
        "task": "media_pipeline.tasks.asset_sweep_task",
        "schedule": 300.0,
        "options": {"queue": "default"},
    },
    "media-storage-cleanup": {
        "task": "media_pipeline.tasks.storage_cleanup_task",
        "schedule": 86400.0,
        "options": {"queue": "default"},
    },
}

# Search (#5) -------------------------------------------------------------------
# Every index and alias name starts with this, so environments (and the test
# suite, which uses "test_") never touch each other's indexes.
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", "wanxue_")
# Replicas once a rebuild has finished (a rebuild loads with none). 0 suits a
# single-node development server; production clusters set 1.
SEARCH_INDEX_REPLICAS = int(env("SEARCH_INDEX_REPLICAS", "0"))
# The embedded backend's SQLite file (used when ELASTICSEARCH_URL is unset).
SEARCH_EMBEDDED_PATH = env("SEARCH_EMBEDDED_PATH", str(BASE_DIR / "var" / "search.sqlite3"))
# Saves drain the outbox on commit; this catches up what an Elasticsearch or
# broker outage left pending (RELIABILITY.md S1).
CELERY_BEAT_SCHEDULE = {
    **globals().get("CELERY_BEAT_SCHEDULE", {}),
    "search-outbox-drain": {"task": "search.tasks.index_pending", "schedule": 60.0},
}
# Resumable uploads (media_pipeline/multipart.py): 16 MiB parts carry 156 GiB
# in S3's 10,000 parts; S3 wants ≥ 5 MiB for every part but the last.
MEDIA_UPLOAD_PART_BYTES = int(env("MEDIA_UPLOAD_PART_BYTES", str(16 * 1024**2)))
