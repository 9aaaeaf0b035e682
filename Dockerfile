# Production image: one image, four entrypoints (bin/web, bin/worker, bin/beat, bin/migrate). The same scripts
# run in `make prod-check`, so what CI walks is what this image runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml/constraints.txt); no dev extra, no dev tools.
COPY pyproject.toml constraints.txt ./
COPY config ./config
COPY leads ./leads
COPY emails ./emails
COPY funnel ./funnel
COPY webhooks ./webhooks
RUN pip install -c constraints.txt .

# .dockerignore keeps .venv, var/, .git, tests and benchmarks out of the image.
COPY . .
# Static files built with production settings (DEBUG off): the manifest and compressed copies.
RUN bin/build-static \
    && useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/var && chown -R app /app/var
USER app
ENV VAR_DIR=/app/var
EXPOSE 8000
CMD ["bin/web"]
