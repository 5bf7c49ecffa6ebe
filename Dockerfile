# Production image: gunicorn serves the app, the same image runs the worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .
COPY . .
COPY --from=assets /app/node_modules ./node_modules
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && useradd --create-home keel && mkdir -p /app/.run && chown -R keel /app/.run
USER keel
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "crm.wsgi:application"]
