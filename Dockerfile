# The web and worker image. Dependencies come from the committed lock file.
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY . .
RUN useradd --system --home /app wanxue && chown -R wanxue /app
USER wanxue
ENV DJANGO_SETTINGS_MODULE=settings.production
EXPOSE 8000
CMD ["gunicorn", "settings.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
