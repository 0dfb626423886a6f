# The Turnstile manager image with Docker: `turnstile` as the entrypoint, `manager` as the default
# command (the Helm chart in charts/turnstile replaces the command with its args, `--log-format json
# manager ...`), user 65532:65532.
#
#   docker build -t turnstile:dev .
#
# The reproducible image, built without a daemon and checked in CI, is scripts/image.sh (a static
# binary alone in one layer, same entrypoint, command and user; scripts/check-image.sh checks that
# this file keeps them). This Dockerfile is not built in CI, and its image differs in content
# (a dynamically linked binary on debian:bookworm-slim).

# ---- build -------------------------------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /src
# The whole workspace: cargo needs every member's manifest, and only the turnstile binary and its
# dependencies are compiled. target/ and .git are left out by .dockerignore.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p turnstile \
    && cp target/release/turnstile /turnstile

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 65532 turnstile \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin turnstile
COPY --from=builder /turnstile /turnstile
USER 65532:65532
# webhook (HTTPS), health (/healthz, /readyz), metrics (/metrics), visibility API (HTTPS)
EXPOSE 9443 8081 8443 8082
ENTRYPOINT ["/turnstile"]
CMD ["manager"]
