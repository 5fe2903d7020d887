# The Carnet service image; docker-compose.yml runs two of these behind a proxy.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The service never needs root; HOME gives the embedded-PostgreSQL fallback
# (no CARNET_DATABASE_URL) a writable data directory.
RUN useradd --system --create-home --home-dir /home/carnet --uid 10001 carnet

# What .dockerignore lets through: pyproject.toml, README.md, server/, static/.
WORKDIR /src
COPY . .
RUN pip install . && rm -rf /src/build

USER carnet
WORKDIR /home/carnet
EXPOSE 8000
CMD ["carnet", "serve", "--host", "0.0.0.0", "--port", "8000"]
