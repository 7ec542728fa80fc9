# Gatehouse. `make run` starts a server with an embedded default; `make test` runs every test.
GO      ?= go
BIN     := bin/gatehouse
export GOFLAGS ?= -mod=readonly

.PHONY: all build run test test-go test-blackbox bench vet fmt clean

all: build

# First-party plugins, examples and test fixtures (mk/plugins.mk defines `plugins`).
-include mk/plugins.mk
ifeq ($(wildcard mk/plugins.mk),)
plugins: ; @true
endif

build: plugins
	$(GO) build -o $(BIN) ./cmd/gatehouse

# Development server: data in ./data, 127.0.0.1:8080, registration open.
run: build
	GATEHOUSE_REGISTRATION=$${GATEHOUSE_REGISTRATION:-open} ./$(BIN) serve

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: build vet test-go test-blackbox

test-go:
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout 30m ./...

# The black-box suite in a language other than Go (Node.js, standard library only).
test-blackbox: build
	@command -v node >/dev/null || { echo "installing nodejs from Debian"; apt-get install -y nodejs >/dev/null; }
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) node --test tests/blackbox/

bench: build
	GATEHOUSE_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench . -benchtime 3s ./core/... ./tests/...

clean:
	rm -rf bin .cache
