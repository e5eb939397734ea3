# syntax=docker/dockerfile:1
#
# postline image: `docker build -t postline .` then
#   docker run -d -p 25:25 -p 587:587 -p 993:993 -v postline-data:/var/lib/postline \
#     -e POSTLINE_HOSTNAME=mx.example.org postline
# Config: /etc/postline/postline.yaml (docs/container/postline.yaml; mount your
# own over it). Data: the /var/lib/postline volume. Example with two
# containers: docs/container/compose.yaml.

# ---- build: compile TypeScript with dev dependencies, then drop them ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc before the sources are copied, and
# bun's postinstall fetches a binary the image never uses. Native modules
# (snappy, crc32, msgpackr-extract) come as prebuilt optional packages and
# need no install scripts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
# Tests and benchmarks are compiled too (tsconfig includes them) but not shipped.
RUN npm run build \
 && chmod +x dist/src/cli/main.js \
 && rm -rf dist/test dist/bench \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: same base (native modules match its glibc), no compiler, no dev deps ----
FROM node:20-bookworm-slim
# POSTLINE_CONFIG: `docker exec <container> postline user add ...` then reads
# the same file as the server, not the embedded default.
ENV NODE_ENV=production POSTLINE_CONFIG=/etc/postline/postline.yaml
# A fixed uid/gid, so operators can chown bind mounts ahead of time.
RUN groupadd --system --gid 2525 postline \
 && useradd --system --uid 2525 --gid postline --home-dir /var/lib/postline --no-create-home --shell /usr/sbin/nologin postline \
 && mkdir -p /var/lib/postline /etc/postline \
 && chown postline:postline /var/lib/postline \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/postline
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY docs/container/postline.yaml /etc/postline/postline.yaml
# Ownership is set before VOLUME, so a fresh named volume starts out writable by postline.
VOLUME /var/lib/postline
USER postline
# Ports below 1024 without root: Docker (20.10+) sets
# net.ipv4.ip_unprivileged_port_start=0 in the container's network namespace.
# With --network host or on Kubernetes, set that sysctl or remap the ports in the config.
EXPOSE 25 587 465 110 995 143 993 8025
# node, not curl/wget: the slim image has neither, and node is already here.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8025/healthz',{signal:AbortSignal.timeout(4000)}).then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) triggers postline's graceful shutdown; give it time
# with `docker stop -t 30` or compose's stop_grace_period.
ENTRYPOINT ["node", "--no-memory-reducer", "--initial-old-space-size=128", "/app/dist/src/cli/main.js"]
CMD ["serve", "--config", "/etc/postline/postline.yaml"]
