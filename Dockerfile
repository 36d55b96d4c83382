# syntax=docker/dockerfile:1.7
#
# Hearth's container image: the six standalone services (hearth-intake, hearth-assessment,
# hearth-matching, hearth-training, hearth-followup, hearth-allocation) and the `hearth` CLI
# (migrate, config, dlq, replay, token, allocation) in one small image. Kubernetes and
# docker-compose.yml choose the binary with `command`.
#
#   docker build -t hearth:dev .
#
# The runtime stage is distroless (glibc, CA certificates, no shell, no package manager), runs as
# the unprivileged user 65532 and writes nothing outside its volumes, so it runs with a read-only
# root filesystem. Builds need BuildKit (Docker 23+ uses it by default) for the cache mounts.

ARG RUST_IMAGE=rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS builder
WORKDIR /src
# The whole workspace: every member's manifest must be present for `--locked` to resolve.
COPY . .
# The registry and target caches survive between builds on the same machine; the binaries are
# copied out in the same step, since a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
        --bin hearth \
        --bin hearth-intake \
        --bin hearth-assessment \
        --bin hearth-matching \
        --bin hearth-training \
        --bin hearth-followup \
        --bin hearth-allocation \
    && mkdir -p /out/bin /out/data \
    && for binary in hearth hearth-intake hearth-assessment hearth-matching hearth-training \
                     hearth-followup hearth-allocation; do \
         install -m 0755 "target/release/${binary}" "/out/bin/${binary}"; \
       done

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="hearth" \
      org.opencontainers.image.description="Hearth: the six services of a county foster-home unit and the hearth CLI" \
      org.opencontainers.image.licenses="EUPL-1.2"
COPY --from=builder /out/bin/ /usr/local/bin/
# The data directory exists and belongs to the runtime user, so that a fresh named volume
# mounted here (docker compose) is writable by it. Standalone services keep nothing in it.
COPY --from=builder --chown=65532:65532 /out/data/ /var/lib/hearth/
ENV HEARTH__LISTEN=0.0.0.0:50051 \
    HEARTH__DATA_DIR=/var/lib/hearth
USER 65532:65532
WORKDIR /var/lib/hearth
EXPOSE 50051
# No default service: `command` names the binary (hearth-intake …, or hearth migrate).
CMD ["hearth", "--help"]
