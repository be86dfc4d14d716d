# Ferry's two entry points are `make test` and `make bench` (and `make serve`
# once the server lands). Every target installs what it is missing first.
#
# One build configuration (release) serves everything: the unit tests, the
# CLI tests that run the built `ferry`, and the benchmarks. ONNX Runtime
# lifetime bugs only show in release builds, and one configuration halves
# build time on a 2-core machine.

SWIFT ?= swift
CONFIG := release
BIN_DIR = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)
FIXTURES := Tests/Fixtures/models

.PHONY: all deps fixtures build test bench python-env clean help

all: build

help:
	@echo "make test    install what is missing, build (release) and run every test"
	@echo "make bench   in-process latency: Ferry's Swift path vs Python onnxruntime"
	@echo "make build   release build of ferry and the tests"
	@echo "make deps    install ONNX Runtime $(shell sed -n 's/^VERSION=//p' scripts/install-onnxruntime) into .deps/"

deps:
	@scripts/install-onnxruntime --quiet

python-env:
	@scripts/python-env --quiet

# The committed fixtures are regenerated only when the generator changed:
# GENERATED_BY.sha256 records the hash of the script that wrote them. File
# times are useless for this in a fresh clone.
fixtures:
	@if [ "$$(sha256sum scripts/make-test-models.py | cut -d' ' -f1)" != "$$(cat $(FIXTURES)/GENERATED_BY.sha256 2>/dev/null)" ]; then \
		echo "scripts/make-test-models.py changed: regenerating $(FIXTURES)"; \
		scripts/python-env --quiet && .deps/venv/bin/python scripts/make-test-models.py; \
	fi

build: deps
	$(SWIFT) build -c $(CONFIG) --build-tests

test: deps fixtures build
	$(SWIFT) test -c $(CONFIG) --skip-build --disable-xctest

bench: deps python-env
	$(SWIFT) build -c $(CONFIG) --product InProcessBenchmark
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-inprocess

clean:
	rm -rf .build
