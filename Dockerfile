# syntax=docker/dockerfile:1
# Build: a static binary (no cgo), then a minimal image holding only it,
# CA certificates (feeds and Discord over TLS) and time zone data (schedules
# in IANA zones; the binary also embeds time/tzdata as a fallback).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-ldflags "-s -w -X main.Version=${VERSION}" \
	-o /out/digestbot ./cmd/digestbot

FROM debian:bookworm-slim AS certs
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
	&& rm -rf /var/lib/apt/lists/*

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=certs /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/digestbot /usr/local/bin/digestbot
# An unprivileged user id; scratch has no /etc/passwd, so give it numerically.
USER 65532:65532
EXPOSE 8080
ENV DIGESTBOT_HTTP_ADDR=:8080
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s CMD ["/usr/local/bin/digestbot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/digestbot"]
CMD ["run"]
