"""The test suite: real servers chosen by the environment (scripts/services env)."""

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
DATABASES["default"]["CONN_MAX_AGE"] = 0
# Tests always need PostgreSQL: the embedded SQLite default would hide
# PostgreSQL-only behaviour, so a missing DATABASE_URL is an error here.
if not env("DATABASE_URL").startswith(("postgres://", "postgresql://")):
    raise RuntimeError(
        "settings.test needs DATABASE_URL pointing at PostgreSQL; "
        'run `eval "$(scripts/services env)"` after `scripts/services up`.'
    )
# Test runs with different databases share one Redis: keep their cached API
# responses and rate counts apart.
CACHES["default"]["KEY_PREFIX"] = "test-" + DATABASES["default"]["NAME"]
# Tests never read or write a developer's search index (wanxue_content), and
# two runs on different databases never share one.
SEARCH_INDEX_PREFIX = "test_" + DATABASES["default"]["NAME"].lower() + "_"
