# Production image: gunicorn serves the web app (static files through whitenoise); the same image runs
# the Celery worker and beat with a different command.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY config ./config
COPY leads ./leads
COPY emails ./emails
COPY funnel ./funnel
RUN pip install -c constraints.txt .
COPY . .
RUN DEBUG=true SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
