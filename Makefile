# auditstream — every target works on a fresh machine with only Go installed.
# A poller is a module services/poller-<vendor> with main.go at its root and
# its simulator under cmd/; adding one needs no change here but FUZZ.
SERVICES := $(patsubst %/,%,$(dir $(wildcard services/poller-*/main.go)))
# Modules of the workspace (go test ./... does not work at a go.work root).
MODULES  := schemas shared $(SERVICES) tools/auditctl tools/devstack deploy
BINARIES := $(addprefix ./,$(SERVICES) $(patsubst %/,%,$(dir $(wildcard services/poller-*/cmd/*/main.go)))) ./tools/auditctl ./tools/devstack
# FUZZ lists <package dir>:<fuzz target> pairs that make test fuzzes for FUZZTIME each:
# every decoder of vendor input, and the canonical JSON every event_id hashes.
FUZZ     := services/poller-plm/internal/plm:FuzzDecodePage services/poller-epm/internal/epm:FuzzDecodePage services/poller-aveva/internal/aveva:FuzzDecodeRecords \
            services/poller-oracle/internal/oracle:FuzzDecodeRow services/poller-oracle/internal/oracle:FuzzDecodeJobStatus \
            services/poller-revenera/internal/revenera:FuzzDecodeListing services/poller-revenera/internal/revenera:FuzzFileRows \
            services/poller-revenera/internal/revenera:FuzzReports \
            shared/event:FuzzCanonicalJSON shared/jsontree:FuzzParse shared/jsontree:FuzzCanonical shared/zipcsv:FuzzRows
GO       ?= go
DURATION ?= 0
FUZZTIME ?= 10s
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/auditstream/auditstream/shared/config.Version=$(VERSION)

.PHONY: demo test unit fuzz build lint bench images clean

## demo: run the whole system (embedded Kafka + registry, simulators, pollers); DURATION=60s stops it by itself
demo: build
	./bin/devstack -bin ./bin -duration $(DURATION)

## test: every test of every module, plus a short fuzz run of each vendor decoder
test: unit fuzz

unit:
	@set -e; for m in $(MODULES); do echo "== go test $$m"; (cd $$m && $(GO) test -count=1 ./...); done

fuzz:
	@set -e; for f in $(FUZZ); do pkg=$${f%%:*}; target=$${f##*:}; echo "== fuzz $$target ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$pkg; done

## build: all binaries into ./bin
build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(BINARIES)

## lint: go vet (integration-tagged files included) and gofmt across every module
lint:
	@set -e; for m in $(MODULES); do echo "== go vet $$m"; (cd $$m && $(GO) vet -tags integration ./...); done
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: the pipeline and codec benchmarks (figures in the issue notes)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./shared/serde ./shared/checkpoint $(addprefix ./,$(addsuffix /...,$(SERVICES)))

IMAGE_PREFIX ?= auditstream
IMAGE_TAG    ?= dev

## images: every poller's image and its simulator's, tagged $(IMAGE_PREFIX)/<name>:$(IMAGE_TAG) (needs Docker with BuildKit)
images:
	@set -e; for s in $(SERVICES); do svc=$${s#services/}; sim=$${svc#poller-}sim; \
		echo "== $$svc and $$sim"; \
		docker build -f $$s/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE_PREFIX)/$$svc:$(IMAGE_TAG) .; \
		docker build -f $$s/Dockerfile --build-arg VERSION=$(VERSION) --target simulator -t $(IMAGE_PREFIX)/$$sim:$(IMAGE_TAG) .; \
	done

clean:
	rm -rf bin
