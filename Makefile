# Thin aliases over go commands; CI runs .ci/run. `make test` is the one
# command that runs every test.

GO ?= go
# Fuzz targets as package:FuzzFunc, each run for FUZZTIME, one at a time
# (docs/reliability.md). `go test ./...` runs their seed corpora.
FUZZ_TARGETS ?= \
	./fakesn/internal/query:FuzzParse \
	./fakesn:FuzzTokenEndpoint \
	./fakesn:FuzzTableRequest \
	./fakesn:FuzzAppendJSONString \
	./harness:FuzzDecodeAnswer \
	./fakesn/internal/store:FuzzWALReadRecords
FUZZTIME ?= 10s
# The image `make image` builds (harness/container expects this default).
IMAGE ?= sncheck/fakesn:dev

.PHONY: all build test serve lint vet tidy-check fuzz bench suites suites-live image

all: vet test

build:
	CGO_ENABLED=0 $(GO) build -o bin/sncheck ./cmd/sncheck

test:
	$(GO) test -race -count=1 ./...

serve:
	$(GO) run ./cmd/sncheck serve

lint: vet
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt -l found unformatted files:"; echo "$$files"; exit 1; fi

vet:
	$(GO) vet ./...

tidy-check:
	$(GO) mod tidy -diff

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "$(GO) test -run '^$$' -fuzz '^$$fn$$' -fuzztime $(FUZZTIME) $$pkg"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# Go benchmarks, then the load run: `sncheck serve` and a bare net/http
# ceiling loaded with wrk in turn, and the ratio table (docs/performance.md).
# BENCH picks benchmarks, BENCHTIME sets -benchtime, LOADRUN_FLAGS go to
# ./internal/loadrun (for example -runs 5 -large 0).
BENCH ?= .
BENCHTIME ?= 1s
LOADRUN_FLAGS ?=
bench:
	@command -v wrk >/dev/null 2>&1 || { echo "make bench: wrk is not installed; the load run needs it (apt-get install -y wrk)" >&2; exit 1; }
	@$(MAKE) --no-print-directory build
	$(GO) build -o bin/loadrun-startup ./internal/loadrun/startup
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) ./...
	$(GO) run ./internal/loadrun -sncheck bin/sncheck -startup-phases bin/loadrun-startup $(LOADRUN_FLAGS)

# The Ginkgo suites through the ginkgo CLI (a go.mod tool), with JUnit
# reports in out/. GINKGO_FLAGS adds --github-output in Actions.
GINKGO = $(GO) tool ginkgo -r -p --randomize-all --randomize-suites --fail-on-pending \
	--fail-on-empty --keep-going --race --trace --output-dir=out $(GINKGO_FLAGS)

# The instance and integration suites against the in-process fake.
suites:
	$(GINKGO) --junit-report=suites-junit.xml ./suites/instance ./suites/integration

# The instance suite against a live instance named by SN_INSTANCE or SN_URL
# (with SN_CLIENT_ID, SN_CLIENT_SECRET, SN_USERNAME, SN_PASSWORD); specs
# that need the fake's controls are left out.
suites-live:
	$(GINKGO) --label-filter='!fake-only' --junit-report=live-junit.xml ./suites/instance

# The fake's container image (Dockerfile): a static binary and the host's
# CA bundle, staged in out/image.
image:
	rm -rf out/image
	mkdir -p out/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o out/image/sncheck ./cmd/sncheck
	cp Dockerfile /etc/ssl/certs/ca-certificates.crt out/image/
	docker build -t $(IMAGE) out/image
