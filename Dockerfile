# One image for every process of the scaled mode: web (granian), ws (uvicorn), worker, beat, migrate.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=helpdesk.settings \
    SPORTELLO_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, pinned by the lock file, so a code change does not reinstall them.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c requirements.lock -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

RUN useradd --system --uid 10001 --home-dir /app sportello \
    && mkdir -p /app/var/staticfiles /app/var/media /app/var/beat \
    && chown -R sportello /app/var
USER sportello

EXPOSE 8000 8001
CMD ["python", "-m", "helpdesk.web"]
