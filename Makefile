# xpdoctor: build, test, demo.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/xpdoctor/xpdoctor/pkg/version.Version=$(VERSION) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Commit=$(COMMIT) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Date=$(DATE)

.PHONY: build test test-unit test-integration envtest bench vet fmt-check golden release krew-manifest demo

# kube-apiserver + etcd for envtest, built from the module proxy and cached.
ENVTEST_DIR ?= $(CURDIR)/.cache/envtest

build: ## build bin/kubectl-xpdoctor
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-xpdoctor ./cmd/kubectl-xpdoctor

demo: ## replay the incident offline: no cluster, no network
	$(GO) run ./cmd/kubectl-xpdoctor demo

release: ## reproducible archives for 5 platforms in dist/ and plugins/krew.yaml from them
	$(GO) run ./hack/release -version $(VERSION) -commit $(COMMIT) -date $(DATE) -out dist -manifest plugins/krew.yaml

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test-unit: ## fast: pure logic and the in-process registry (docker-registry and envtest tests skip when absent)
	$(GO) test -count=1 ./...

envtest: ## build (once) the envtest control plane into .cache/envtest
	test/build-envtest.sh $(ENVTEST_DIR) >/dev/null

test-integration: envtest ## the same suite, requiring a docker-registry process and envtest
	XPDOCTOR_REQUIRE_REAL_REGISTRY=1 XPDOCTOR_REQUIRE_ENVTEST=1 KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test -count=1 ./...

test: fmt-check vet test-integration ## everything CI runs

golden: envtest ## refresh golden files; review the diff
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test ./pkg/cmd/ -update

bench: ## benchmarks beside the code
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
