# syntax=docker/dockerfile:1
#
# The backup worker image: Node 20, the project's npm dependencies, and pg_dump from the
# PostgreSQL project's own apt repository (PGDG), so its major version can match or exceed
# the server's. Debian bookworm ships only PostgreSQL 15 clients, which refuse to dump a
# newer server ("aborting because of server version mismatch").
#
# PG_MAJOR must be >= the major version of every server the worker backs up; the compose
# file's `postgres` service is postgres:17.

ARG NODE_IMAGE=node:20-bookworm-slim

# Build stage: compile the TypeScript and bundle the workflow code once (`npm run build`), so
# the worker starts without tsx and without running webpack: faster, and some 100 MB less RSS.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}

ARG PG_MAJOR=17

# zstd: for BACKUP_COMPRESSION=zstd (Debian's zstd program; Node 20's zlib has none).
# pg_dump: add the PGDG repository as documented at https://www.postgresql.org/download/linux/debian/
# (signing key in /usr/share/postgresql-common/pgdg, repository pinned to this Debian release),
# install only the client package, then drop the tools used to fetch the key.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
        https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" zstd; \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*; \
    "/usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump" --version | grep -E "\) ${PG_MAJOR}\."

# The worker calls exactly this pg_dump (no version-picking wrapper in between).
ENV BACKUP_PG_DUMP=/usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump \
    NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    BACKUP_DIR=/backups

WORKDIR /app

# Dependencies first, so that source edits do not reinstall them. tsx stays a runtime
# dependency: the one-shot commands (`npm run schedule`, restore, …) run from the sources.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The compiled worker and its prebuilt workflow bundle, built from these same sources.
COPY --from=build /app/lib ./lib

# Backups belong to the unprivileged `node` user (uid 1000) and nobody else. A named volume
# mounted here for the first time takes this owner and mode.
RUN install -d -o node -g node -m 0700 /backups

USER node

# The `worker:compiled` npm script, started without npm and sh in between: they do not pass
# SIGTERM on, so `docker stop` would not shut the worker down cleanly. Small semi-spaces (4 MB)
# keep the worker's RSS some 25 MB lower: its garbage is mostly Buffers, whose memory lives
# outside V8's heap anyway.
ENV PATH=/app/node_modules/.bin:$PATH
CMD ["node", "--max-semi-space-size=4", "lib/worker.js"]
