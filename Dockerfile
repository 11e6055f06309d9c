# The same image as `make image` (which needs no Docker): the manager as entrypoint and the
# publisher beside it, static, running as distroless's nonroot user (65532), with CA roots.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/manager . && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/publisher ./cmd/publisher

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build --chmod=0555 /out/manager /manager
COPY --from=build --chmod=0555 /out/publisher /publisher
USER 65532:65532
ENTRYPOINT ["/manager"]
