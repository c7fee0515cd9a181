# syntax=docker/dockerfile:1
# tagflow's image: one static binary on distroless (CA certificates, tzdata, no shell),
# running as the numeric non-root user 65532. The default command is the Kubernetes
# controller; `docker run IMAGE run -f /config` runs the standalone service instead.
#
#   docker build -t ghcr.io/tagflow/tagflow:0.1.0 --build-arg VERSION=0.1.0 .
#   docker buildx build --platform linux/amd64,linux/arm64 ...   (cross-compiled, no emulation)
#
# deploy/dockerfile_test.go builds the binary with the `go build` line below and checks that it
# is static and that the final stage runs as a non-root user.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/tagflow ./cmd/tagflow

FROM gcr.io/distroless/static-debian13:nonroot
COPY --from=build /out/tagflow /tagflow
USER 65532:65532
ENTRYPOINT ["/tagflow"]
CMD ["controller"]
