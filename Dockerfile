# Small static images of nauth-apply (the controller) and nauth-render (the CLI), for Docker,
# Podman or BuildKit users:
#
#   docker build --target nauth-apply  -t nauth-apply:0.1.0 .
#   docker build --target nauth-render -t nauth-render:0.1.0 .
#   docker build --target nauth-render-cmp -t nauth-render-cmp:0.1.0 .   # Argo CD plugin sidecar
#
# The binaries are linked statically against musl; the runtime images are `scratch` with only
# the binary and CA certificates, running as the distroless non-root user 65532. The test suite
# builds the same image without a daemon (tests/tests/install.rs, with crane).

FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p nauth-apply -p nauth-render-cli \
 && mkdir /out && cp target/release/nauth-apply target/release/nauth-render /out/

FROM alpine:3.22 AS certs
RUN apk add --no-cache ca-certificates

FROM scratch AS nauth-render
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/nauth-render /nauth-render
USER 65532:65532
ENTRYPOINT ["/nauth-render"]

# The Argo CD config management plugin (kustomize/argocd) runs its generate command with `sh`,
# so its sidecar image keeps busybox; Argo CD runs it as user 999.
FROM busybox:1.37-musl AS nauth-render-cmp
COPY --from=build /out/nauth-render /usr/local/bin/nauth-render
USER 999:999

FROM scratch AS nauth-apply
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/nauth-apply /nauth-apply
USER 65532:65532
ENTRYPOINT ["/nauth-apply"]
