# velaflow: `make run` starts the local stack and a demo; `make test` runs
# every test. Tools are built from Go modules into bin/ and reused.

GO               ?= go
BIN              := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1
HELM_VERSION     := v3.22.0
# The server the CLI embeds (temporal --version), for localstack/prodstack.
TEMPORAL_SERVER_VERSION := v1.29.1
# Long build steps say what they build and how long they have been going.
PROGRESS := $(CURDIR)/localstack/dev/progress.sh

.PHONY: all build temporal kube helm chromium temporal-server postgresql image run test bench fuzz unit e2e vet clean

all: build

build: temporal kube
	$(GO) build -o $(BIN)/velaflow ./cmd/velaflow
	$(GO) build -o $(BIN)/build-service ./examples/build-service
	$(GO) build -o $(BIN)/imagepull-operator ./examples/prewarm/imagepull-operator

# The Temporal CLI (dev server + Web UI). About 5 minutes cold on 2 cores;
# skipped when bin/temporal exists.
temporal: $(BIN)/temporal

$(BIN)/temporal:
	@$(PROGRESS) "the Temporal CLI $(TEMPORAL_VERSION) into bin/ (minutes the first time)" \
		env GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

# A real kube-apiserver and etcd for the Kubernetes test bed
# (localstack/kubestack), built from the separate module localstack/kubebin, whose
# go.mod pins the versions (k8s.io/kubernetes v1.37.2, etcd v3.7.0). About
# 4 minutes cold on 2 cores (measured: downloads included), up to 10 on a
# slow machine; each is skipped when its file in bin/ is newer than
# localstack/kubebin's go.mod and its main.go.
kube: $(BIN)/kube-apiserver $(BIN)/etcd

# kube-apiserver reports this version (/version), as a release build does.
KUBE_VERSION = $(shell cd localstack/kubebin && $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBE_LDFLAGS = -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(patsubst v%,%,$(KUBE_VERSION)))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION))) \
	-X k8s.io/component-base/version.gitTreeState=clean

$(BIN)/kube-apiserver: localstack/kubebin/go.mod localstack/kubebin/kube-apiserver/main.go
	@cd localstack/kubebin && $(PROGRESS) "kube-apiserver $(KUBE_VERSION) into bin/ (4-10 minutes the first time)" \
		$(GO) build -ldflags "$(KUBE_LDFLAGS)" -o $(BIN)/kube-apiserver ./kube-apiserver
	@touch $@

$(BIN)/etcd: localstack/kubebin/go.mod localstack/kubebin/etcd/main.go
	@cd localstack/kubebin && $(PROGRESS) "etcd into bin/ (seconds after kube-apiserver)" $(GO) build -o $(BIN)/etcd ./etcd
	@touch $@

# Helm, to lint and render the chart in deploy/helm (testsuite/helm_test.go).
# A few minutes cold; skipped when bin/helm exists.
helm: $(BIN)/helm

$(BIN)/helm:
	@$(PROGRESS) "helm $(HELM_VERSION) into bin/ (minutes the first time)" \
		env GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# The Temporal server and its SQL schema tool, built from their Go module,
# for the production-shaped stack of the scale-out test (PostgreSQL,
# localstack/prodstack). About 10 minutes cold; skipped when present.
temporal-server: $(BIN)/temporal-server $(BIN)/temporal-sql-tool

$(BIN)/temporal-server:
	@$(PROGRESS) "the Temporal server $(TEMPORAL_SERVER_VERSION) into bin/ (about 10 minutes the first time)" \
		env GOBIN=$(BIN)/.gobuild $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.gobuild/server $@

$(BIN)/temporal-sql-tool:
	GOBIN=$(BIN)/.gobuild $(GO) install go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION)
	mv $(BIN)/.gobuild/sql $@

# Debian's PostgreSQL server for that stack (started by the test, as the
# postgres user).
postgresql: /usr/lib/postgresql

/usr/lib/postgresql:
	@echo "installing Debian's postgresql for the scale-out test"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql

# Debian's Chromium, headless, for the tests that read the Web UI's pages
# (testsuite/webui_test.go). Installed once; about a minute.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium: /usr/bin/chromium

/usr/bin/chromium:
	@echo "installing Debian's chromium for the Web UI tests"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

# Start the dev server (Web UI on :8233), a worker, two local Kubernetes
# clusters, the demo's build service and a stand-in operator, run the
# multi-region pre-warm (examples/prewarm), and keep the stack up until
# Ctrl-C.
run: build
	./localstack/dev/run.sh

test: temporal kube helm temporal-server postgresql chromium vet
	$(GO) test -count=1 -timeout 30m ./...

# Benchmarks against bare-Temporal baselines measured in the same sitting
# on the same dev server (bench/): a table of medians and ratios, written
# as JSON under bench/results/. BENCHFLAGS=-quick for a short sitting.
bench: temporal kube
	$(GO) build -o $(BIN)/velaflow ./cmd/velaflow
	$(GO) build -o $(BIN)/velaflow-bench ./bench
	$(BIN)/velaflow-bench $(BENCHFLAGS)

# velaflow's container image without a Docker engine (deploy/image): the
# static binary and the CA certificates on an empty base, as an OCI image
# layout tar in bin/velaflow-image.tar; push it with
# `crane push --index bin/velaflow-image.tar REGISTRY/velaflow:TAG`.
IMAGE_ARCH ?= amd64
image:
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/image/velaflow ./cmd/velaflow
	$(GO) run ./deploy/image -binary $(BIN)/image/velaflow -arch $(IMAGE_ARCH) -out $(BIN)/velaflow-image.tar

# Fuzzing, each target for FUZZTIME (their seed corpora run in make test):
# YAML decoding, translation, parameter checking.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeDocuments$$' -fuzztime $(FUZZTIME) ./translator
	$(GO) test -run '^$$' -fuzz '^FuzzTranslate$$' -fuzztime $(FUZZTIME) ./translator
	$(GO) test -run '^$$' -fuzz '^FuzzCheckParameters$$' -fuzztime $(FUZZTIME) ./cuedefs

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) velaflow-dev.db .velaflow-dev
