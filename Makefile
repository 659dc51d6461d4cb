# Thin wrapper around CMake/CTest. See README.md.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
CMAKE_ARGS ?=
SETUP_STAMPS = third_party/ftm-model/.integrity
ifeq ($(LAKEHOUSE_DUCKDB_DIR),)
SETUP_STAMPS += third_party/duckdb-lib/.integrity third_party/duckdb-include/.integrity
endif
PKG_MODULES = jansson yaml-0.1 libcrypto libutf8proc sqlite3 libpq zlib libzstd libmagic cmocka
# CI builds treat warnings as errors; local builds on other compilers still work.
ifneq ($(CI),)
CMAKE_ARGS += -DLH_WERROR=ON
endif

.PHONY: all setup test asan lint fuzz bench demo clean

all: $(BUILD)/ftm-lakehouse

# Run the set-up script when a pinned package or a Debian library is missing.
setup:
	@if ! pkg-config --exists $(PKG_MODULES) 2>/dev/null; then scripts/setup.sh; \
	 else for s in $(SETUP_STAMPS); do [ -f $$s ] || { scripts/setup.sh --no-apt; break; }; done; fi

$(BUILD)/Makefile: setup CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

$(BUILD)/ftm-lakehouse: setup $(BUILD)/Makefile FORCE
	cmake --build $(BUILD) -j$(JOBS)

test: all
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLH_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS)

lint: all
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -I include -I src $$(git ls-files 'src/*.c')
	python3 scripts/check_layers.py --build $(BUILD)

fuzz: setup
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DLH_FUZZ=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-30}

bench: all
	bench/run.sh $(BUILD)

demo: all
	scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

FORCE:
