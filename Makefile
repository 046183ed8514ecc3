# xpdoctor: build, test, demo.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell git log -1 --format=%cI 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/xpdoctor/xpdoctor/pkg/version.Version=$(VERSION) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Commit=$(COMMIT) \
           -X github.com/xpdoctor/xpdoctor/pkg/version.Date=$(DATE)

.PHONY: build test test-unit test-integration test-e2e envtest crossplane tools bench vet fmt-check golden release demo

# kube-apiserver, etcd and kubectl for envtest, Crossplane core and krew:
# built from the module proxy once and cached outside the checkout, in
# XPDOCTOR_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/xpdoctor).
XPDOCTOR_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/xpdoctor
export XPDOCTOR_CACHE
ENVTEST_DIR ?= $(XPDOCTOR_CACHE)/envtest
XP_BIN_DIR  ?= $(XPDOCTOR_CACHE)/crossplane
TOOLS_DIR   ?= $(XPDOCTOR_CACHE)/bin
# The pinned kubectl (in ENVTEST_DIR) first: plugin completion needs 1.26+.
TEST_PATH   := $(ENVTEST_DIR):$(PATH)
E2E_ENV := XPDOCTOR_E2E=1 XPDOCTOR_CROSSPLANE_BIN_DIR=$(XP_BIN_DIR) KUBEBUILDER_ASSETS=$(ENVTEST_DIR)

build: ## build bin/kubectl-xpdoctor
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/kubectl-xpdoctor ./cmd/kubectl-xpdoctor

demo: ## replay the incident offline: no cluster, no network
	$(GO) run ./cmd/kubectl-xpdoctor demo

release: ## reproducible archives for 5 platforms in dist/ and plugins/krew.yaml from them (make release VERSION=v0.1.0)
	$(GO) run ./hack/release -version $(VERSION) -commit $(COMMIT) -date $(DATE) -out dist -manifest plugins/krew.yaml

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test-unit: ## fast: pure logic and the in-process registry (docker-registry and envtest tests skip when absent)
	$(GO) test -count=1 ./...

envtest: ## build (once) kube-apiserver, etcd and kubectl into $(XPDOCTOR_CACHE)/envtest
	test/build-envtest.sh $(ENVTEST_DIR) >/dev/null

crossplane: ## build (once) Crossplane core v2.3.4, v2.1.3 and v1.20.0 into $(XPDOCTOR_CACHE)/crossplane
	test/build-crossplane.sh v2.3.4 $(XP_BIN_DIR) >/dev/null
	test/build-crossplane.sh v2.1.3 $(XP_BIN_DIR) >/dev/null
	test/build-crossplane.sh v1.20.0 $(XP_BIN_DIR) >/dev/null

tools: ## build (once) krew and validate-krew-manifest into $(XPDOCTOR_CACHE)/bin
	@test -x $(TOOLS_DIR)/krew -a -x $(TOOLS_DIR)/validate-krew-manifest || GOFLAGS= GOBIN=$(TOOLS_DIR) $(GO) install sigs.k8s.io/krew/cmd/krew@v0.4.3 sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3

test-integration: envtest tools ## the unit and integration suites, requiring docker-registry, envtest, kubectl, bash-completion and krew
	PATH="$(TEST_PATH)" XPDOCTOR_REQUIRE_REAL_REGISTRY=1 XPDOCTOR_REQUIRE_ENVTEST=1 XPDOCTOR_REQUIRE_KREW=1 XPDOCTOR_REQUIRE_SHELLS=1 \
	  XPDOCTOR_TOOLS=$(TOOLS_DIR) KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v /test/e2e)

test-e2e: envtest crossplane ## real Crossplane core, docker-registry and dockerd (needs root for dockerd)
	$(E2E_ENV) $(GO) test -count=1 -timeout 30m -v ./test/e2e/

test: fmt-check vet test-integration test-e2e ## everything CI runs (test/run.sh first installs what it needs)

golden: envtest ## refresh golden files; review the diff
	KUBEBUILDER_ASSETS=$(ENVTEST_DIR) $(GO) test ./pkg/cmd/ -update

bench: ## benchmarks beside the code
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
