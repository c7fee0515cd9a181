# tagflow — build and test.
#   make test     install test dependencies, then vet, check formatting, check that the
#                 generated deepcopy and CRDs match api/, run every test (race detector on)
#                 and a short run of every fuzz target
#   make generate regenerate deepcopy and CRDs after changing api/
#   make bench    run the benchmarks recorded in BENCHMARKS.md
GO ?= go
FUZZTIME ?= 6s
PKGS := ./...

.PHONY: all build test testdeps vet fmt-check verify-generated generate unit fuzz bench clean

all: build

build:
	$(GO) build -o bin/tagflow ./cmd/tagflow

testdeps:
	hack/testdeps.sh

# vet compiles the packages as the Dockerfile builds the binary (CGO_ENABLED=0, -trimpath), and
# so do the tests that build it: the build cache then holds one non-race compilation, not two.
vet:
	CGO_ENABLED=0 $(GO) vet -trimpath $(PKGS)

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

generate:
	hack/generate.sh

verify-generated:
	hack/verify-generated.sh

# Tests save what a person may want to look at afterwards (the status page's screenshots)
# under artifacts/.
unit:
	TAGFLOW_ARTIFACTS="$${TAGFLOW_ARTIFACTS:-$(CURDIR)/artifacts}" $(GO) test -race -timeout 30m $(PKGS)

fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

test: testdeps vet fmt-check verify-generated unit fuzz

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 3x $(PKGS)

clean:
	rm -rf bin
