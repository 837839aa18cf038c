# velaflow: `make run` starts the local stack and a demo; `make test` runs
# every test. Tools are built from Go modules into bin/ and reused.

GO               ?= go
BIN              := $(CURDIR)/bin
TEMPORAL_VERSION := v1.5.1

.PHONY: all build temporal run test unit e2e vet clean

all: build

build: temporal
	$(GO) build -o $(BIN)/velaflow ./cmd/velaflow
	$(GO) build -o $(BIN)/build-service ./examples/build-service

# The Temporal CLI (dev server + Web UI). About 5 minutes cold on 2 cores;
# skipped when bin/temporal exists.
temporal: $(BIN)/temporal

$(BIN)/temporal:
	@echo "building the Temporal CLI $(TEMPORAL_VERSION) into bin/ (a few minutes the first time)"
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

# Start the dev server (Web UI on :8233), a worker and the demo's build
# service, run examples/demo.yaml, and keep the stack up until Ctrl-C.
run: build
	./deploy/dev/run.sh

test: temporal vet
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN) velaflow-dev.db
