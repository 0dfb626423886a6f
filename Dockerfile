# The Turnstile manager image: `turnstile` as the entrypoint (e.g. `turnstile manager ...`, as the
# Helm chart in charts/turnstile runs it).
#
#   docker build -t turnstile:dev .

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
# webhook (HTTPS), health (/healthz, /readyz), metrics (/metrics)
EXPOSE 9443 8081 8443
ENTRYPOINT ["/turnstile"]
