# syntax=docker/dockerfile:1
#
# Whisper homeserver image. Node 24 runs the TypeScript sources directly (built-in type
# stripping), so there is no compile step: the image holds Node, the production
# node_modules and the source folders.
#
#   docker build -t whisper .
#   docker run -p 8008:8008 -v whisper-data:/data whisper
#
# docker-compose.yml runs it together with PostgreSQL.

# ---- dependencies: production node_modules (native modules built for this platform) ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
# The desktop client's Electron binary is never needed by the server.
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1
# argon2 ships prebuilt binaries for linux x64/arm64/arm (glibc), so no compiler is needed.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# The web client is bundled here (esbuild is a dev dependency) and served from client/dist.
COPY client ./client
RUN node client/build.ts \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---- sources: everything .dockerignore lets through; the runtime takes only what it runs ----
FROM node:24-bookworm-slim AS source
WORKDIR /src
COPY . .
# Folders that may be empty (and so absent from a git checkout) still exist for the COPYs below.
RUN mkdir -p homeserver migrations client media

# ---- runtime ----
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WHISPER_HOST=0.0.0.0 \
    WHISPER_PORT=8008 \
    WHISPER_DATA_DIR=/data
WORKDIR /app
# package.json matters at run time: its "type": "module" makes the .ts files ES modules.
# The code stays owned by root (read-only for the server); only /data is writable.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=source /src/homeserver ./homeserver
COPY --from=source /src/migrations ./migrations
COPY --from=source /src/client ./client
COPY --from=build /app/client/dist ./client/dist
COPY --from=source /src/media ./media
# The embedded database (when DATABASE_URL is unset) and stored files live here. A new named
# volume mounted on /data starts with this directory's owner, so the server can write to it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8008
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WHISPER_PORT||8008)+'/_matrix/client/versions',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: it finishes in-flight requests and closes the
# database before exiting.
CMD ["node", "homeserver/cli/start.ts"]
