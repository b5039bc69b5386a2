# Production image of Unify: gunicorn for the web, the same image runs the Celery worker and beat.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=unify.settings.base \
    DJANGO_DEBUG=0 \
    UNIFY_DATA_DIR=/app/.data

WORKDIR /app
RUN useradd --create-home --uid 10001 unify

COPY pyproject.toml README.md ./
COPY unify ./unify
COPY connections ./connections
COPY sales ./sales
COPY accounting ./accounting
# Not in the image (.dockerignore): sandbox/ (the provider stand-ins and their demo keys) and
# unify/devtools/ (make run and the demo user); production settings do not load them either.
RUN pip install .

COPY manage.py ./
COPY templates ./templates
# Compiled catalogs are committed (locale/*/LC_MESSAGES/django.mo): no gettext in the image.
COPY locale ./locale
COPY static ./static

# collectstatic needs settings that import cleanly; the real values come at run time.
RUN SECRET_KEY=build-only UNIFY_ENCRYPTION_KEYS=$(python -c "import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())") \
    ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/.data && chown -R unify /app/.data

USER unify
EXPOSE 8000
# Bind, workers, timeout and the access log (with secret URL tokens redacted) live in
# unify/gunicorn_config.py.
CMD ["gunicorn", "unify.wsgi:application", "-c", "python:unify.gunicorn_config"]
