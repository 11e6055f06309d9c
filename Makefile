# Greenlight — build, test and run the operator. `make help` lists the targets.

# Image the manager and publisher ship in (used by config/ and later by the local cluster).
IMG ?= greenlight:dev
# The local cluster's pod sandbox image, built like IMG (no registry is reachable).
PAUSE_IMG ?= greenlight-pause:dev

# Every tool and control-plane binary is built from source into bin/, pinned below.
LOCALBIN ?= $(shell pwd)/bin
CONTROLPLANE ?= $(LOCALBIN)/controlplane
export KUBEBUILDER_ASSETS ?= $(CONTROLPLANE)

CONTROLLER_GEN_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.7.1
GOLANGCI_LINT_VERSION ?= v2.15.0
GOTESTSUM_VERSION ?= v1.13.0

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
GOTESTSUM ?= $(LOCALBIN)/gotestsum-$(GOTESTSUM_VERSION)

# Tests get 15 minutes in all; CI=true turns off colour and keeps the full log.
GO_TEST_FLAGS ?= -timeout 15m
KUBECTL ?= kubectl

# Local demo state lives here; `make demo-down` removes it.
DEMO_DIR ?= $(shell pwd)/.demo

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the markers in api/ and controllers/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook
	@# The Pod schema's own descriptions would make the ApprovalPolicy CRD about 870 KB.
	go run ./hack/trimcrd config/crd/bases/greenlight.dev_approvalpolicies.yaml jobTemplate

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (configuration in .golangci.yml).
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and fix what it can.
	$(GOLANGCI_LINT) run --fix

.PHONY: verify
verify: manifests generate fmt kustomize ## Regenerate everything, build the kustomize overlays, and fail if the tree changed.
	@for overlay in config/default config/self-managed-certs config/local config/samples internal/argocdhealth/testdata/argocd-install; do $(KUSTOMIZE) build $$overlay >/dev/null || exit 1; done
	@if [ -n "$$(git status --porcelain -- . ':!bin' ':!.demo')" ]; then \
		echo "Generated files or formatting are out of date; run 'make manifests generate fmt' and commit:"; \
		git status --porcelain -- . ':!bin' ':!.demo'; git --no-pager diff --stat; exit 1; fi

.PHONY: test
test: manifests generate fmt vet controlplane gotestsum kustomize ## Run unit and envtest tests against a real kube-apiserver, then the end-to-end tests on a local node.
	$(GOTESTSUM) --format $(if $(CI),standard-verbose,pkgname) --format-hide-empty-pkg -- \
		$(GO_TEST_FLAGS) -coverprofile cover.out ./...
	$(MAKE) --no-print-directory test-e2e

# Each fuzz target, as package:Target. Their seed corpora (testdata/fuzz) run as ordinary tests
# in `make test`; `make fuzz` explores beyond them.
FUZZ_TARGETS ?= ./internal/revision:FuzzRevision ./internal/windows:FuzzWindows ./internal/policy:FuzzWhen \
	./internal/webhook/admissionfuzz:FuzzAdmissionDecode
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 30s); failing inputs land in testdata/fuzz.
	@for target in $(FUZZ_TARGETS); do \
		echo "Fuzzing $${target#*:} in $${target%%:*} for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$${target#*:}$$" -fuzztime $(FUZZTIME) "$${target%%:*}" || exit 1; \
	done

# Flags for `make bench`, for example BENCH_FLAGS="-n 200 -publish"; `bin/bench -h` lists them.
BENCH_FLAGS ?=

.PHONY: bench
bench: controlplane ## Measure approval throughput, latencies and manager writes on a local control plane (BENCH_FLAGS).
	go build -o $(LOCALBIN)/manager .
	go build -o $(LOCALBIN)/bench ./hack/bench
	$(LOCALBIN)/bench $(BENCH_FLAGS)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the publisher into bin/, and the demo's control plane and chat receiver.
	go build -o $(LOCALBIN)/manager .
	go build -o $(LOCALBIN)/publisher ./cmd/publisher
	go build -o $(LOCALBIN)/localcluster ./hack/localcluster
	go build -o $(LOCALBIN)/receiver ./hack/receiver

.PHONY: plugin
plugin: | $(LOCALBIN) ## Build the kubectl plugin into bin/kubectl-greenlight; put bin/ on PATH (export PATH="$PWD/bin:$PATH") to run `kubectl greenlight`.
	go build -o $(LOCALBIN)/kubectl-greenlight ./cmd/kubectl-greenlight
	@# kubectl (1.26+) completes a plugin's arguments through kubectl_complete-<plugin> on PATH.
	printf '#!/bin/sh\nexec kubectl-greenlight __complete "$$@"\n' > $(LOCALBIN)/kubectl_complete-greenlight
	chmod +x $(LOCALBIN)/kubectl_complete-greenlight

.PHONY: image
image: manifests generate fmt vet ## Build the image tarball (manager and publisher, static, non-root) and the local cluster's pause image, without Docker.
	mkdir -p $(LOCALBIN)/image
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/image/manager .
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/image/publisher ./cmd/publisher
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/image/pause ./hack/pause
	go run ./hack/image -tag $(IMG) -out $(LOCALBIN)/greenlight-image.tar -entrypoint /manager -ca-roots \
		-file $(LOCALBIN)/image/manager:/manager -file $(LOCALBIN)/image/publisher:/publisher
	go run ./hack/image -tag $(PAUSE_IMG) -out $(LOCALBIN)/pause-image.tar -entrypoint /pause \
		-file $(LOCALBIN)/image/pause:/pause

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster in ~/.kube/config (or KUBECONFIG), without webhooks.
	ENABLE_WEBHOOKS=false go run . --metrics-bind-address=:8080 --metrics-secure=false

##@ Deployment

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster in ~/.kube/config (or KUBECONFIG).
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs (and every Greenlight object) from the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

# The local cluster's state (kubeconfigs, certificates, data, logs); `make cluster-down` removes it.
CLUSTER_DIR ?= $(shell pwd)/.cluster

.PHONY: node-packages
node-packages: ## Install Debian's containerd, runc and CNI plugins when missing (for the local cluster).
	@if ! command -v containerd >/dev/null || ! command -v runc >/dev/null || [ ! -x /usr/lib/cni/loopback ]; then \
		echo "Installing containerd, runc and containernetworking-plugins from Debian"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd runc containernetworking-plugins >/dev/null; \
	fi

.PHONY: cluster-up
cluster-up: node-packages image ## Start a real single-node cluster from source on 127.0.0.1 (kubeconfigs in CLUSTER_DIR).
	hack/build-controlplane.sh --node $(CONTROLPLANE)
	go build -o $(LOCALBIN)/local-cluster ./hack/local-cluster
	$(LOCALBIN)/local-cluster up -dir $(CLUSTER_DIR) -assets $(CONTROLPLANE) -pause-image $(LOCALBIN)/pause-image.tar $(LOCALBIN)/greenlight-image.tar

.PHONY: deploy-local
deploy-local: cluster-up kustomize ## Deploy Greenlight from its image on the local cluster (config/local: two replicas with leader election).
	KUSTOMIZE=$(KUSTOMIZE) KUBECTL=$(KUBECTL) IMAGE=$(LOCALBIN)/greenlight-image.tar hack/deploy-local.sh $(CLUSTER_DIR)

.PHONY: test-e2e
test-e2e: gotestsum ## End-to-end tests on the local cluster with Greenlight deployed from its image (E2E=required: never skip).
	GOTESTSUM=$(GOTESTSUM) GOTESTSUM_FORMAT=$(if $(CI),standard-verbose,pkgname) CLUSTER_DIR=$(CLUSTER_DIR) hack/test-e2e.sh

# Size of `make chaos`: posts and leader kills.
N ?= 1000
KILLS ?= 20

.PHONY: test-chaos
test-chaos: gotestsum ## Chaos on the local cluster: 300 posts published while the leading manager is killed 20 times (10 minutes at most).
	E2E_TAGS="e2e chaos" E2E_TIMEOUT=12m GOTESTSUM=$(GOTESTSUM) GOTESTSUM_FORMAT=standard-verbose CLUSTER_DIR=$(CLUSTER_DIR) \
		hack/test-e2e.sh -run '^TestChaos$$'

.PHONY: chaos
chaos: gotestsum ## The full-size chaos run for the README (N posts, KILLS leader kills; an hour at most).
	CHAOS_POSTS=$(N) CHAOS_KILLS=$(KILLS) CHAOS_MINUTES=60 E2E_TAGS="e2e chaos" E2E_TIMEOUT=65m GOTESTSUM=$(GOTESTSUM) \
		GOTESTSUM_FORMAT=standard-verbose CLUSTER_DIR=$(CLUSTER_DIR) hack/test-e2e.sh -run '^TestChaos$$'

.PHONY: cluster-down
cluster-down: ## Stop the local cluster (only what cluster-up started) and restore the host settings it changed.
	go build -o $(LOCALBIN)/local-cluster ./hack/local-cluster
	$(LOCALBIN)/local-cluster down -dir $(CLUSTER_DIR)

# LIGHT=1 runs `make demo` on a control plane only (no node: the publisher is run by hand).
LIGHT ?=

.PHONY: demo
demo: build plugin controlplane kustomize $(if $(LIGHT),,node-packages image) ## Run Greenlight with the sample posts on a local node (LIGHT=1: control plane only).
	$(if $(LIGHT),,hack/build-controlplane.sh --node $(CONTROLPLANE))
	$(if $(LIGHT),,go build -o $(LOCALBIN)/local-cluster ./hack/local-cluster)
	LIGHT=$(LIGHT) KUSTOMIZE=$(KUSTOMIZE) KUBECTL=$(KUBECTL) DEMO_DIR=$(DEMO_DIR) hack/demo.sh up

.PHONY: demo-down
demo-down: ## Stop what `make demo` started, restore the host settings the node changed, and remove its state.
	go build -o $(LOCALBIN)/local-cluster ./hack/local-cluster
	DEMO_DIR=$(DEMO_DIR) hack/demo.sh down

##@ Dependencies

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: controlplane
controlplane: ## Build kube-apiserver and etcd from source into bin/controlplane (reused when present).
	hack/build-controlplane.sh $(CONTROLPLANE)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen into bin/.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_GEN_VERSION))

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize into bin/.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Build golangci-lint into bin/.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

.PHONY: gotestsum
gotestsum: $(GOTESTSUM) ## Build gotestsum into bin/.
$(GOTESTSUM): | $(LOCALBIN)
	$(call go-install-tool,$(GOTESTSUM),gotest.tools/gotestsum,$(GOTESTSUM_VERSION))

# go-install-tool builds a pinned tool into bin/ under a versioned name, so that changing the
# pin rebuilds it ($1 target path, $2 package, $3 version).
define go-install-tool
@set -e; echo "Building $(2)@$(3)"; \
tmp=$$(mktemp -d); GOBIN=$$tmp go install $(2)@$(3); \
mv $$tmp/* $(1); rm -rf $$tmp
endef
