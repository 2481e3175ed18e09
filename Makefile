# SPDX-License-Identifier: MIT
# The two commands of the README. Both install what is missing (Debian 12),
# build, and run.
#
#   make demo   builds and runs the main job (`nooks demo`)
#   make test   checks the lock annotations (the tsa build: clang's
#               thread-safety analysis over the kernel's sources), then builds
#               and runs every test: all tests of the release build
#               (integration tests need root), then the unit tests again
#               under AddressSanitizer and UndefinedBehaviorSanitizer.

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
JOBS ?= $(shell nproc)

.PHONY: demo test deps build build-asan build-tsa unit bench lint format clean

deps:
	@$(SUDO) scripts/install-deps.sh

build: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

build-asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

# Builds only: the analysis runs in the compiler; a thread-safety warning fails the build.
build-tsa: deps
	cmake --preset tsa
	cmake --build --preset tsa -j $(JOBS)

demo: build
	$(SUDO) build/release/bin/nooks demo

test: build-tsa build build-asan
	$(SUDO) ctest --preset release -j 1
	ctest --preset asan -j $(JOBS)

unit: build
	ctest --preset release -L unit -j $(JOBS)

# The benchmarks behind docs/BENCHMARKS.md; each writes its full report to docs/results/.
bench: build
	$(SUDO) build/release/bin/nooks-bench-block --modes native,nooks,shadow --output docs/results/bench-block.md --json docs/results/bench-block.json
	$(SUDO) build/release/bin/nooks-bench-net --output docs/results/bench-net.md --json docs/results/bench-net.json
	$(SUDO) build/release/bin/nooks-bench-sound --output docs/results/bench-sound.md --json docs/results/bench-sound.json
	$(SUDO) build/release/bin/nooks-bench-recovery --output docs/results/bench-recovery.md --json docs/results/bench-recovery.json
	$(SUDO) build/release/bin/nooks-bench-xpc --benchmark_out=docs/results/xpc-bench.json --benchmark_out_format=json

# Style: clang-tidy (naming, bugs) over the kernel's sources; clang-format check.
lint: build
	clang-tidy -p build/release --quiet $(shell git ls-files 'src/*.cpp' | grep -v runtime/) 2>/dev/null | grep -E 'warning|error' || true

format:
	clang-format -i $(shell git ls-files '*.cpp' '*.h' '*.c')

clean:
	rm -rf build
