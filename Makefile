# velaflow: `make run` starts the local stack and a demo; `make test` runs
# every test. Tools are built from Go modules into bin/ and reused.

GO               ?= go
BIN              := $(CURDIR)/bin
# Long build steps say what they build and how long they have been going.
PROGRESS := $(CURDIR)/localstack/dev/progress.sh
# The tools are linked without debug information: smaller, and their
# linking, the part of a build that uses one core, is quicker.
TOOL_LDFLAGS := -s -w

.PHONY: all build tools test-tools temporal kube helm chromium bash-completion temporal-server postgresql image run test bench fuzz unit e2e vet clean

all: build

build: tools
	$(GO) build -o $(BIN)/velaflow ./cmd/velaflow
	$(GO) build -o $(BIN)/build-service ./examples/build-service
	$(GO) build -o $(BIN)/imagepull-operator ./examples/prewarm/imagepull-operator

# The tools are built from two modules, each downloaded and compiled once:
# localstack/temporalbin (the Temporal CLI, then the server it embeds) and
# localstack/kubebin (kube-apiserver, then etcd and Helm, which share its
# Kubernetes libraries). The two chains build side by side, so one keeps the
# cores busy while the other downloads or links. Each tool is skipped when
# present in bin/.
tools:
	@$(MAKE) --no-print-directory -j2 temporal kube

test-tools:
	@$(MAKE) --no-print-directory -j2 temporal kube helm temporal-server

# The Temporal CLI (dev server + Web UI), version from localstack/temporalbin/go.mod.
temporal: $(BIN)/temporal

TEMPORAL_VERSION = $(shell cd localstack/temporalbin && $(GO) list -m -f '{{.Version}}' github.com/temporalio/cli)

$(BIN)/temporal:
	@cd localstack/temporalbin && $(PROGRESS) "the Temporal CLI into bin/ (the longest build the first time)" \
		$(GO) build -ldflags "$(TOOL_LDFLAGS) -X github.com/temporalio/cli/temporalcli.Version=$(patsubst v%,%,$(TEMPORAL_VERSION))" -o $@ github.com/temporalio/cli/cmd/temporal

# The Temporal server the CLI embeds and its SQL schema tool, for the
# production-shaped stack of the scale-out test (PostgreSQL,
# localstack/prodstack). Built after the CLI, from the packages it compiled.
temporal-server: $(BIN)/temporal-server $(BIN)/temporal-sql-tool

$(BIN)/temporal-server $(BIN)/temporal-sql-tool &: | $(BIN)/temporal
	@cd localstack/temporalbin && $(PROGRESS) "the Temporal server and its SQL tool into bin/ (a minute or two after the CLI)" \
		$(GO) build -ldflags "$(TOOL_LDFLAGS)" -o $(BIN)/.temporalbin/ go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql
	@mv $(BIN)/.temporalbin/server $(BIN)/temporal-server
	@mv $(BIN)/.temporalbin/sql $(BIN)/temporal-sql-tool
	@rmdir $(BIN)/.temporalbin

# A real kube-apiserver and etcd for the Kubernetes test bed
# (localstack/kubestack), built from the separate module localstack/kubebin, whose
# go.mod pins the versions (k8s.io/kubernetes v1.37.2, etcd v3.7.0); each is
# rebuilt when localstack/kubebin's go.mod or its main.go is newer.
kube: $(BIN)/kube-apiserver $(BIN)/etcd

# kube-apiserver reports this version (/version), as a release build does.
KUBE_VERSION = $(shell cd localstack/kubebin && $(GO) list -m -f '{{.Version}}' k8s.io/kubernetes)
KUBE_LDFLAGS = $(TOOL_LDFLAGS) -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(patsubst v%,%,$(KUBE_VERSION)))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KUBE_VERSION))) \
	-X k8s.io/component-base/version.gitTreeState=clean

$(BIN)/kube-apiserver: localstack/kubebin/go.mod localstack/kubebin/kube-apiserver/main.go
	@cd localstack/kubebin && $(PROGRESS) "kube-apiserver $(KUBE_VERSION) into bin/ (minutes the first time)" \
		$(GO) build -ldflags "$(KUBE_LDFLAGS)" -o $(BIN)/kube-apiserver ./kube-apiserver
	@touch $@

$(BIN)/etcd: localstack/kubebin/go.mod localstack/kubebin/etcd/main.go | $(BIN)/kube-apiserver
	@cd localstack/kubebin && $(PROGRESS) "etcd into bin/ (seconds after kube-apiserver)" \
		$(GO) build -ldflags "$(TOOL_LDFLAGS)" -o $(BIN)/etcd ./etcd
	@touch $@

# Helm, to lint and render the chart in deploy/helm (testsuite/helm_test.go),
# from localstack/kubebin after etcd, reusing the Kubernetes libraries
# compiled for kube-apiserver.
helm: $(BIN)/helm

HELM_VERSION = $(shell cd localstack/kubebin && $(GO) list -m -f '{{.Version}}' helm.sh/helm/v3)

$(BIN)/helm: | $(BIN)/etcd
	@cd localstack/kubebin && $(PROGRESS) "helm $(HELM_VERSION) into bin/ (a minute or two after kube-apiserver)" \
		$(GO) build -ldflags "$(TOOL_LDFLAGS) -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION)" -o $@ helm.sh/helm/v3/cmd/helm

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

# Debian's bash-completion, which the completion script builds on, for the
# test that presses TAB in a real bash (testsuite/completion_bash_test.go).
bash-completion: /usr/share/bash-completion/bash_completion

/usr/share/bash-completion/bash_completion:
	@echo "installing Debian's bash-completion for the shell completion test"
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bash-completion

# Start the dev server (Web UI on :8233), a worker, two local Kubernetes
# clusters, the demo's build service and a stand-in operator, run the
# multi-region pre-warm (examples/prewarm), and keep the stack up until
# Ctrl-C.
run: build
	./localstack/dev/run.sh

test: test-tools postgresql chromium bash-completion vet
	$(GO) test -count=1 -timeout 30m ./...

# Benchmarks against bare-Temporal baselines measured in the same sitting
# on the same dev server (bench/): a table of medians and ratios, written
# as JSON under bench/results/. BENCHFLAGS=-quick for a short sitting.
bench: tools
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
