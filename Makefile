# Ferry's entry points are `make serve`, `make test` and `make bench`. Every
# target installs what it is missing first.
#
# One build configuration (release) serves everything: the unit tests, the
# CLI tests that run the built `ferry`, and the benchmarks. ONNX Runtime
# lifetime bugs only show in release builds, and one configuration halves
# build time on a 2-core machine.

SWIFT ?= swift
CONFIG := release
BIN_DIR = $(shell $(SWIFT) build -c $(CONFIG) --show-bin-path)
FIXTURES := Tests/Fixtures/models

.PHONY: all deps fixtures build test serve bench profile python-env conformance-env clean help

all: build

help:
	@echo "make serve   build (release) and serve examples/models (HTTP 8000, gRPC 8001, metrics 8002)"
	@echo "make test    install what is missing, build (release) and run every test"
	@echo "make bench   in-process latency vs Python onnxruntime; ferry serve over HTTP and gRPC (perf_analyzer); JSON tensors vs orjson; CNN latency, JSON and batching vs raw ONNX Runtime; the cost of TLS, an API key and the access log"
	@echo "make build   release build of ferry and the tests"
	@echo "make profile instructions per request of ferry serve over gRPC and HTTP (callgrind)"
	@echo "make deps    install ONNX Runtime $(shell sed -n 's/^VERSION=//p' scripts/install-onnxruntime) into .deps/ and the Debian packages builds and tests use"

deps:
	@scripts/install-system-packages --quiet
	@scripts/install-onnxruntime --quiet

python-env:
	@scripts/python-env --quiet

# tritonclient + perf_analyzer for the conformance suite (tests/conformance).
conformance-env:
	@scripts/conformance-env >/dev/null
	@scripts/perf-analyzer-env >/dev/null

# The committed fixtures are regenerated only when the generator changed:
# GENERATED_BY.sha256 records the hash of the script that wrote them. File
# times are useless for this in a fresh clone.
fixtures:
	@if [ "$$(sha256sum scripts/make-test-models.py | cut -d' ' -f1)" != "$$(cat $(FIXTURES)/GENERATED_BY.sha256 2>/dev/null)" ]; then \
		echo "scripts/make-test-models.py changed: regenerating $(FIXTURES)"; \
		scripts/python-env --quiet && .deps/venv/bin/python scripts/make-test-models.py; \
	fi

# Building the test product (not a bare --build-tests) keeps SwiftPM from
# compiling executables of dependencies nobody runs, such as swift-protobuf's
# protoc (C++, minutes on 2 cores).
build: deps
	@scripts/embed-converters
	$(SWIFT) build -c $(CONFIG) --product FerryPackageTests
	$(SWIFT) build -c $(CONFIG) --product ferry

# Image builds, the registry and runc load disk and cores for minutes, and so
# do the model conversions (PyTorch, TensorFlow; their environments are
# created once in .deps/convert on the first run): both run on their own after
# the other tests, whose timing they would disturb.
test: deps fixtures build conformance-env
	@scripts/install-system-packages --quiet --tests
	@scripts/install-onnxruntime --gpu --quiet
	$(SWIFT) test -c $(CONFIG) --skip-build --disable-xctest --skip ContainerImageTests --skip ConvertCommandTests
	$(SWIFT) test -c $(CONFIG) --skip-build --disable-xctest --filter ContainerImageTests
	$(SWIFT) test -c $(CONFIG) --skip-build --disable-xctest --filter ConvertCommandTests
	FERRY_BIN=$(BIN_DIR)/ferry .deps/venv-conformance/bin/python -m pytest tests/conformance -q -p no:cacheprovider
	FERRY_BIN=$(BIN_DIR)/ferry .deps/venv-conformance/bin/python -m pytest tests/deploy -q -p no:cacheprovider

serve: deps
	@scripts/embed-converters
	$(SWIFT) build -c $(CONFIG) --product ferry
	$(BIN_DIR)/ferry serve examples/models

bench: deps python-env conformance-env
	@scripts/install-system-packages --quiet --tests
	$(SWIFT) build -c $(CONFIG) --product InProcessBenchmark
	$(SWIFT) build -c $(CONFIG) --product ThroughputBenchmark
	$(SWIFT) build -c $(CONFIG) --product JSONTensorBenchmark
	$(SWIFT) build -c $(CONFIG) --product ferry
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-inprocess
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-serving
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-json
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-cnn
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-security
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-coldstart
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-soak
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-jobs
	scripts/bench-job-bodies
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-image
	FERRY_BIN_DIR=$(BIN_DIR) scripts/bench-gpu

# Instructions per request of ferry serve over gRPC and HTTP (callgrind); see
# scripts/profile-serving. Not part of `make bench`: it takes a few minutes.
profile: deps conformance-env
	@command -v valgrind >/dev/null || scripts/install-system-packages --quiet --profile
	$(SWIFT) build -c $(CONFIG) --product ferry
	FERRY_BIN_DIR=$(BIN_DIR) scripts/profile-serving

clean:
	rm -rf .build
