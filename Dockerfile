# The web, worker and beat image. Dependencies come from the committed lock file.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY . .
ENV DJANGO_SETTINGS_MODULE=settings.production
# The admin's CSS/JS, hashed and compressed into var/static, served by WhiteNoise.
# collectstatic needs no server, but settings.production refuses to load without
# its variables: give it placeholders for this one command (they stay out of the image).
RUN DJANGO_SECRET_KEY=build-only-collectstatic-placeholder-not-a-secret-0123456789 \
    DJANGO_ALLOWED_HOSTS=build.invalid DATABASE_URL=postgres://build@build.invalid/build \
    REDIS_URL=redis://build.invalid:6379/0 ELASTICSEARCH_URL=http://build.invalid:9200 \
    S3_BUCKET=build S3_ACCESS_KEY_ID=build S3_SECRET_ACCESS_KEY=build \
    WAGTAILADMIN_BASE_URL=https://build.invalid \
    python manage.py collectstatic --noinput \
 && mkdir -p var/beat
RUN useradd --system --home /app wanxue && chown -R wanxue /app
USER wanxue
EXPOSE 8000
CMD ["gunicorn", "settings.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
