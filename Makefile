# xpdoctor: build, test, demo.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/xpdoctor/xpdoctor/pkg/version.Version=$(VERSION) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Commit=$(COMMIT) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Date=$(DATE)

.PHONY: build test test-unit test-integration bench vet fmt-check golden

build: ## build bin/kubectl-xpdoctor
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-xpdoctor ./cmd/kubectl-xpdoctor

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test-unit: ## fast: pure logic and the in-process registry (docker-registry tests skip if it is not installed)
	$(GO) test -count=1 ./...

test-integration: ## the same suite, requiring a real docker-registry process
	XPDOCTOR_REQUIRE_REAL_REGISTRY=1 $(GO) test -count=1 ./...

test: fmt-check vet test-integration ## everything CI runs

golden: ## refresh golden files; review the diff
	$(GO) test ./pkg/cmd/ -update

bench: ## benchmarks beside the code
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
