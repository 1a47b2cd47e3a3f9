# syntax=docker/dockerfile:1
# pki serve in a container (issue #19; docs/operations.md "Running the CA as a service").
#   docker build --build-arg PKI_COMMIT=$(git rev-parse --short=12 HEAD) -t pki .
#   docker run -d --name pki -e PKI_URL=http://ca.internal:9080 -p 9080:9080 -p 9443:9443 \
#     -v pki-data:/var/lib/pki -v /etc/pki/passphrase:/run/secrets/pki-passphrase:ro pki
# The first start creates the instance in the volume (pki init), every start serves it.

# Build: npm ci compiles better-sqlite3 and pkcs11js against this image's Node and glibc
# (bookworm, as the runtime stage), then the type check runs.
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# .npmrc points node-gyp at /usr (a Debian host's headers); the image's Node lives in /usr/local.
RUN npm ci --no-audit --no-fund --nodedir=/usr/local
COPY tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY src ./src
RUN npx tsc --noEmit -p .
# The prebuilt CLI (#21): npm ci above ran before the sources were here, so its "prepare" skipped the build.
COPY scripts/build-cli.ts scripts/build-agent.ts ./scripts/
RUN npm run build

# Runtime: no compiler, no git, not root.
FROM node:20-bookworm-slim
ARG PKI_COMMIT=unknown
ENV NODE_ENV=production \
    PKI_BUILD_COMMIT=${PKI_COMMIT} \
    PKI_DIR=/var/lib/pki/ca \
    PKI_URL=http://127.0.0.1:9080 \
    PKI_PASSPHRASE_FILE=/run/secrets/pki-passphrase
WORKDIR /opt/pki
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/cli ./cli
COPY --from=build /src/src ./src
COPY --from=build /src/dist/cli ./dist/cli
COPY packaging/docker/entrypoint.sh /usr/local/bin/pki-entrypoint
# The image's "node" user (uid 1000) owns the instance; the volume keeps it across containers.
RUN install -d -o node -g node -m 0700 /var/lib/pki
USER node
VOLUME /var/lib/pki
EXPOSE 9080 9443
# /readyz: database, issuing key and CRLs (docs/operations.md); no curl in the slim image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9080/readyz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/pki-entrypoint"]
