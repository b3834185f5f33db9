# The ecopark image: web (gunicorn), Celery worker and beat all run from it (see docker-compose.yml).
# Browser packages (htmx, Apache ECharts) come from the npm registry in a build stage; the image serves them itself.
FROM node:20-bookworm-slim AS browser-packages
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ECOPARK_VAR_DIR=/var/lib/ecopark STATIC_ROOT=/app/static
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY ecopark ecopark
COPY parks parks
COPY enterprises enterprises
COPY measures measures
COPY reports reports
COPY templates templates
COPY locale locale
COPY --from=browser-packages /build/node_modules node_modules
COPY manage.py gunicorn.conf.py ./
RUN pip install --no-cache-dir -c requirements.lock . \
    && python manage.py compilemessages -v 0 \
    && DJANGO_SETTINGS_MODULE=ecopark.settings.production SECRET_KEY=build-only DATABASE_URL=sqlite:////tmp/build.db \
       REDIS_URL=redis://localhost ALLOWED_HOSTS=localhost STATIC_ROOT=/app/static python manage.py collectstatic --no-input -v 0 \
    && useradd --system --home /var/lib/ecopark ecopark && mkdir -p /var/lib/ecopark/media \
    && chown -R ecopark /var/lib/ecopark
USER ecopark
EXPOSE 8000
CMD ["gunicorn", "ecopark.wsgi", "--config", "gunicorn.conf.py"]
