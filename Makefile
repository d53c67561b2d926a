# podbay: make build | demo | test | test-unit | test-integration | test-reliability | bench | lint
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/podbay/podbay/internal/version.Version=$(VERSION)

.PHONY: build deps demo test test-unit test-integration test-reliability test-fuzz bench lint clean

# bin/podbay is the lean CLI (no Kubernetes packages: containers and pods start
# fast); it hands kube, play and generate to bin/podbay-kube, the full CLI.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags lean -ldflags '$(LDFLAGS)' -o $(BIN)/podbay ./cmd/podbay
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/podbay-kube ./cmd/podbay
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/podbay-monitor ./cmd/podbay-monitor

deps:
	bash hack/install-deps.sh

demo: deps build
	bash hack/demo.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags lean ./cmd/...
	$(GO) vet -tags integration ./...

test-unit:
	$(GO) test ./...

test-integration: build
	PODBAY_BIN=$(CURDIR)/$(BIN)/podbay $(GO) test -tags integration -count=1 -p 2 -timeout 40m ./...

# The integration run includes the reliability tests (TestReliability*);
# test-fuzz adds the bounded fuzz runs. -count=1: the integration tests drive
# the built binaries, which go test's cache does not see, so a cached pass
# could hide a broken binary.
test: deps lint build
	$(GO) test -race ./engine/... ./pod/...
	$(MAKE) test-fuzz
	PODBAY_BIN=$(CURDIR)/$(BIN)/podbay $(GO) test -tags integration -count=1 -p 2 -timeout 40m ./...

# Reliability (issue 7): load, killed commands and monitors, a full disk,
# hostile input (cmd/podbay/reliability_*_integration_test.go), after each
# fuzz test has run for FUZZTIME from its seed corpus in testdata/fuzz.
test-reliability: build test-fuzz
	PODBAY_BIN=$(CURDIR)/$(BIN)/podbay $(GO) test -tags integration -count=1 -timeout 20m -run '^TestReliability' -v ./cmd/podbay

FUZZTIME ?= 10s
FUZZ := kube/manifest:FuzzDecode kube/play:FuzzTranslate kube/generate:FuzzGenerate kube/validate:FuzzValidate engine/image:FuzzExtract

# A fuzz run is tried twice: a crash is saved under testdata/fuzz and so fails
# the second run too (it replays the corpus first), while Go's fuzzing
# coordinator now and then stops a run with "context deadline exceeded" when
# a worker is slow to answer on 2 busy cores.
test-fuzz:
	@for t in $(FUZZ); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*} || \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*} || exit 1; \
	done

bench: build
	bash hack/bench.sh

clean:
	rm -rf $(BIN)
