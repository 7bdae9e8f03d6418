# syntax=docker/dockerfile:1
#
# Bounty Desk: one image for every role (web, Celery worker, Celery beat, migrations).
# The default command serves the web app; compose.yaml overrides it for the other roles.
#
# Base image: pinned to an exact patch release here. This file was written without
# registry access, so it carries no digest. Before building for production, pin the
# digest as well, so a re-pushed tag cannot change what you run:
#     docker buildx imagetools inspect python:3.11.15-slim-bookworm   # prints the digest
#     FROM python:3.11.15-slim-bookworm@sha256:<that digest>
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    BOUNTY_DATA_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

# A fixed, unprivileged user with a numeric id (so orchestrators can check runAsNonRoot).
RUN groupadd --system --gid 10001 bounty \
 && useradd --system --uid 10001 --gid bounty --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bounty

WORKDIR /app

# Dependencies first, so code changes do not invalidate this layer. Every package is
# checked against the hashes in the lock file; nothing unlisted is pulled in.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The code stays owned by root: the app user can read it but not change it.
COPY . .

# Static files are collected into the image (outside the data volume, so a rebuilt image
# never serves stale files from an old volume). The production settings are used so that
# whitenoise's manifest is written; the SECRET_KEY and BOUNTY_MASTER_KEY are random throwaways
# that exist only for this one command and are not stored in any layer or ENV.
RUN BOUNTY_ENV=production \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    BOUNTY_MASTER_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \
    DATA_REGION=build \
    ALLOWED_HOSTS=build.invalid \
    BOUNTY_DATA_DIR=/tmp/build-data \
    python manage.py collectstatic --noinput \
 && rm -rf /tmp/build-data \
 && mkdir -p /app/var/media \
 && chown -R bounty:bounty /app/var

# /app/var is the only place the app writes (media uploads, beat schedule): mount a
# volume there (compose.yaml does). No VOLUME line, so one-off runs leave no stray volumes.

USER 10001:10001

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
