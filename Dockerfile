# syntax=docker/dockerfile:1
# Build: docker build -t raabta .   (needs only crates.io at build time)
FROM rust:1.95-bookworm AS build
WORKDIR /src
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
USER raabta
ENV RAABTA_ENV=production \
    RAABTA_DATA_DIR=/data \
    RAABTA_LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/raabta"]
CMD ["serve"]
