# multitask for C. Targets:
#   all (examples)  demo  check (quick: before each commit)  test (the full matrix)
#   asan  valgrind  tsan  coverage  lint  size  target-test  diff-servers
#   bench  bench-servers
#   install  uninstall  single-header  consumers  arduino-lib  arduino
#   fuzz  fuzz-replay  soak  soak-ci  soak-valgrind (tests/*/rules.mk)  clean
# CC and CFLAGS may be overridden: make test CC=clang
CC ?= cc
CFLAGS ?= -O2 -g
WARN = -std=c99 -Wall -Wextra -Wpedantic -Werror
ALL_CFLAGS = $(WARN) $(CFLAGS) $(EXTRA) -I.
BUILD ?= build/$(notdir $(firstword $(CC)))
RUNNER ?=

EXAMPLES = printer children sleepers queue worker echo_server echo_client chat kvserver httpd race fetch resolve
TESTS = $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=all --show-leak-kinds=all

.PHONY: all examples check test demo bench asan valgrind tsan lint size target-test clean check-variant cmocka coverage optlevels user-warnings m32

all: examples

EXDIR ?= $(BUILD)/examples

examples: $(EXAMPLES:%=$(EXDIR)/%)

# -pthread: the library's worker pool (MT_THREADS) needs it where glibc is
# older than 2.34, and kvserver --threads and echo_server --threads start
# threads.
$(EXDIR)/%: examples/%.c multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< multitask.c -pthread $(LDLIBS)

demo: examples
	@echo '== printer (the seed: two tasks take turns) =='
	@$(BUILD)/examples/printer 3
	@echo '== children (the seed: results and errors from child tasks) =='
	@$(BUILD)/examples/children
	@echo '== sleepers (periodic tasks, and a wait that times out) =='
	@$(BUILD)/examples/sleepers
	@echo '== queue (the seed: sender and receiver; a bounded pipeline) =='
	@$(BUILD)/examples/queue
	@echo '== worker (MT_CHOOSE: two job queues and a stop event) =='
	@$(BUILD)/examples/worker
	@echo '== echo_server --demo (the seed: a listener and a task per connection) =='
	@$(BUILD)/examples/echo_server --demo

# The whole suite, once per configuration: switch continuations (the
# default); labels-as-values with a 32-slot timer wheel (most timers in the
# heap); 64-bit ticks; 16-bit ticks with no wheel; the microcontroller
# setup: timers in a sorted list, no allocator; the poll and epoll backends;
# the debug configuration (names, lost-locals poison, per-wait statistics)
# at -O0, as debug builds are.
# Each also runs the examples (the echo server with real clients).
VARIANTS = switch:-DMT_LC_LABELS=0 \
	labels:'-DMT_LC_LABELS=1 -DMT_WHEEL_BITS=5' \
	time64:-DMT_TIME_T=uint64_t \
	time16:'-DMT_TIME_T=uint16_t -DMT_WHEEL_BITS=0' \
	mcu:'-DMT_TIMER_LIST=1 -DMT_WHEEL_BITS=0 -DMT_NO_HEAP=1 -DMT_RING_INDEX_T=uint8_t' \
	poll:-DMT_BACKEND=MT_BACKEND_POLL epoll:-DMT_BACKEND=MT_BACKEND_EPOLL \
	debug:'-DMT_DEBUG=1 -O0'

test: cmocka
	@set -e; for v in $(VARIANTS); do \
		$(MAKE) --no-print-directory check-variant VARIANT=$${v%%:*} EXTRA="$(EXTRA) $${v#*:}"; \
	done
	@CC='$(CC)' BUILD='$(BUILD)' tests/unity/run.sh
	@if [ -z '$(EXTRA)$(RUNNER)' ]; then $(MAKE) --no-print-directory consumers m32; fi
	@$(MAKE) --no-print-directory optlevels user-warnings
	@set -e; for b in SELECT POLL EPOLL; do \
		$(MAKE) --no-print-directory fuzz-replay EXTRA="$(EXTRA) -DMT_BACKEND=MT_BACKEND_$$b"; done
	@echo 'all test suites passed'

# The library compiles without a warning at every optimisation level, in
# its hosted and bare-metal forms: warnings such as maybe-uninitialized
# come and go with the optimiser's inlining (gcc -Os found one the tests'
# -O2 and -O0 builds did not).
OPTLEVELS = -O0 -O1 -O2 -O3 -Os -Og
optlevels:
	@set -e; for o in $(OPTLEVELS); do for c in '' '-DMT_POSIX=0' '-DMT_TIMER_LIST=1 -DMT_POSIX=0'; do \
		$(CC) $(WARN) $$o $$c $(EXTRA) -I. -c multitask.c -o /dev/null || \
		{ echo "FAILED: $(CC) $$o $$c"; exit 1; }; done; done
	@echo 'ok   multitask.c warning-free at $(OPTLEVELS) ($(CC); hosted, bare metal, timer list)'

# The suite on a 32-bit host (-m32: 32-bit long, pointers and size_t), with
# the examples and their real clients. It needs the multilib compiler and
# i386 cmocka: run as root, it installs them; otherwise, without them, it
# says so and is skipped (CI installs them, so CI always runs it). Where
# the kernel runs no 32-bit binaries (no IA32 emulation), the tests and the
# examples run under qemu-i386.
M32_PROBE = printf '\043include <stdarg.h>\n\043include <stddef.h>\n\043include <stdint.h>\n\043include <setjmp.h>\n\043include <cmocka.h>\nint main(void){return 0;}\n' | \
	$(CC) -m32 -x c - -o /dev/null -lcmocka 2>/dev/null
m32:
	@if ! $(M32_PROBE); then \
		if [ "$$(id -u)" = 0 ] && command -v dpkg >/dev/null; then \
			dpkg --add-architecture i386 && apt-get update -qq && \
			apt-get install -y -qq gcc-multilib libcmocka-dev:i386 >/dev/null; \
		else echo 'skip the 32-bit variant: it needs gcc-multilib and libcmocka-dev:i386'; exit 0; fi; fi; \
	mkdir -p $(BUILD); run=; \
	printf 'int main(void){return 0;}\n' | $(CC) -m32 -x c - -o $(BUILD)/m32-probe || exit 1; \
	if ! $(BUILD)/m32-probe 2>/dev/null; then \
		command -v qemu-i386 >/dev/null || { echo 'FAIL m32: this kernel runs no 32-bit binaries, and qemu-i386 (qemu-user) is missing'; exit 1; }; \
		echo 'm32: this kernel runs no 32-bit binaries: under qemu-i386'; run=qemu-i386; fi; \
	$(MAKE) --no-print-directory check-variant VARIANT=m32 EXTRA='$(EXTRA) -m32' RUNNER=$$run EX_RUNNER=$$run

# User code that uses every macro (tests/user_warnings.c) compiles under
# the warning sets embedded projects build with, in the hosted and the
# microcontroller configurations, as C99 and as C++.
USER_WARN = -Wall -Wextra -Wpedantic -Werror -Wconversion -Wsign-conversion \
	-Wcast-qual -Wshadow -Wundef
USER_CONFIGS = '' '-DMT_POSIX=0' '-DMT_TIMER_LIST=1 -DMT_POSIX=0 -DMT_NO_HEAP=1' \
	'-DMT_LC_LABELS=1' '-DMT_DEBUG=1'
USER_CXX = $(if $(findstring clang,$(CC)),clang++,$(CXX))
user-warnings:
	@set -e; for c in $(USER_CONFIGS); do \
		$(CC) -std=c99 $(USER_WARN) $$c $(EXTRA) -I. -c tests/user_warnings.c -o /dev/null || \
		{ echo "FAILED: $(CC) $$c"; exit 1; }; done; \
	for c in '' '-DMT_TIMER_LIST=1 -DMT_POSIX=0'; do \
		$(USER_CXX) -x c++ -std=c++11 $(USER_WARN) $$c -I. -c tests/user_warnings.c -o /dev/null || \
		{ echo "FAILED: $(USER_CXX) $$c"; exit 1; }; done
	@echo 'ok   user code clean under $(USER_WARN) ($(CC), $(USER_CXX))'

# The quick check, for every commit: the default configuration's unit
# tests, the header-only and private-name checks, and function lengths.
check: cmocka $(TESTS:%=$(BUILD)/check/%)
	@set -e; for t in $(TESTS); do $(BUILD)/check/$$t > $(BUILD)/check/$$t.log 2>&1 || \
		{ cat $(BUILD)/check/$$t.log; echo "FAILED: $$t"; exit 1; }; \
		tail -n 1 $(BUILD)/check/$$t.log | sed "s/^/$$t: /"; done
	@CC='$(CC)' BUILD='$(BUILD)' tests/unity/run.sh
	@tests/funclen.sh
	@echo 'make check: passed (make test runs the full matrix)'

$(BUILD)/check/test_%: tests/test_%.c $(wildcard tests/*.h) multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< multitask.c -lcmocka -pthread $(LDLIBS)

VDIR = $(BUILD)/$(VARIANT)

# With EX_RUNNER (an emulator), the examples run through wrappers that
# start each under it.
check-variant: $(TESTS:%=$(VDIR)/%)
	@set -e; for t in $(TESTS); do \
		echo "== $(VARIANT): $$t"; $(RUNNER) $(VDIR)/$$t; done
	@if [ -z '$(NO_EXAMPLES)' ]; then $(MAKE) --no-print-directory examples EXDIR=$(VDIR)/examples; fi
	@set -e; [ -n '$(NO_EXAMPLES)' ] && exit 0; \
		ex=$(VDIR)/examples; if [ -n '$(EX_RUNNER)' ]; then ex=$(VDIR)/examples-run; \
		mkdir -p $$ex; for e in $(EXAMPLES); do \
		printf '#!/bin/sh\nexec $(EX_RUNNER) %s "$$@"\n' "$$(pwd)/$(VDIR)/examples/$$e" > $$ex/$$e; \
		chmod +x $$ex/$$e; done; fi; \
		tests/examples.sh $$ex && tests/net_examples.sh $$ex && tests/echo_threads.sh $$ex

$(VDIR)/test_%: tests/test_%.c $(wildcard tests/*.h) multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< multitask.c -lcmocka -pthread $(LDLIBS)

# Benchmarks: -O2, figures as ratios to baselines measured in the same run,
# one report: the terminal, $(BENCH_OUT)/latest.md and $(BENCH_OUT)/echo.png.
# BENCH_ARGS=10 divides the sizes (CI runs them briefly, asserting nothing);
# BENCH_MS is each echo run's length, BENCH_REPS the echo repetitions.
BENCH_ARGS ?=
BENCH_MS ?= 2000
BENCH_REPS ?= 3
BENCH_OUT ?= bench/results
BENCH_BIN = $(BUILD)/bench
BENCH_GNU = -O2 -g -std=gnu99 -Wall -Werror
bench: bench-deps $(BENCH_BIN)/bench_core $(BENCH_BIN)/ir_ops $(BENCH_BIN)/uv_timers $(BENCH_BIN)/raw_epoll_echo \
	$(BENCH_BIN)/uv_echo $(BENCH_BIN)/echo_load \
	$(BENCH_BIN)/echo_select $(BENCH_BIN)/echo_poll $(BENCH_BIN)/echo_epoll
	@CC='$(CC)' bench/run.sh '$(BENCH_BIN)' '$(BENCH_OUT)' '$(BENCH_ARGS)' '$(BENCH_MS)' '$(BENCH_REPS)'

# libuv (a baseline) and gnuplot (the plot), installed as root when missing.
.PHONY: bench-deps
bench-deps:
	@need=; \
	printf '#include <uv.h>\nint main(void){return uv_version() == 0;}\n' \
		| $(CC) -x c - -o /dev/null -luv 2>/dev/null || need=" libuv1-dev"; \
	command -v gnuplot >/dev/null 2>&1 || need="$$need gnuplot-nox"; \
	if [ -n "$$need" ]; then \
		echo "make bench needs the Debian/Ubuntu packages$$need"; \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get install -y --no-install-recommends $$need || { apt-get update && apt-get install -y --no-install-recommends $$need; }); \
		else echo "run: sudo apt-get install -y --no-install-recommends$$need"; \
			case "$$need" in *libuv1-dev*) exit 1;; esac; fi; fi

$(BENCH_BIN)/bench_core: bench/bench_core.c bench/floor.c bench/threads.c bench/floor.h \
		bench/stats.h multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(EXTRA) -I. -pthread -o $@ bench/bench_core.c bench/floor.c \
		bench/threads.c multitask.c $(LDLIBS)

$(BENCH_BIN)/ir_ops: bench/ir_ops.c bench/floor.c bench/floor.h multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(EXTRA) -I. -o $@ bench/ir_ops.c bench/floor.c multitask.c $(LDLIBS)

$(BENCH_BIN)/uv_timers: bench/uv_timers.c bench/stats.h | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_GNU) -o $@ $< -luv

$(BENCH_BIN)/uv_echo: bench/uv_echo.c | bench-deps
	@mkdir -p $(@D)
	$(CC) $(BENCH_GNU) -o $@ $< -luv

$(BENCH_BIN)/echo_%: examples/echo_server.c multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -DMT_BACKEND=MT_BACKEND_$(shell echo $* | tr a-z A-Z) -I. -o $@ examples/echo_server.c multitask.c -pthread

$(BENCH_BIN)/echo_load: bench/echo_load.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_GNU) -o $@ $< -pthread

$(BENCH_BIN)/raw_epoll_echo: bench/raw_epoll_echo.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_GNU) -o $@ $<

$(BUILD)/bench/%: bench/%.c multitask.c multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(EXTRA) -I. -o $@ $< multitask.c $(LDLIBS)

# The example servers against real ones (redis-server, nginx if installed),
# driven by redis-benchmark and wrk: a markdown table.
.PHONY: bench-servers
bench-servers: examples
	@bench/servers_bench.sh $(EXDIR)

# The example servers against the real ones, reply by reply: kvserver
# against redis-server, httpd against nginx (each skips, saying so, when its
# reference server is not installed).
.PHONY: diff-servers
diff-servers: examples
	@tests/diff_redis.sh $(EXDIR)/kvserver
	@tests/diff_redis.sh $(EXDIR)/kvserver --threads 3
	@tests/diff_nginx.sh $(EXDIR)/httpd
	@tests/emfile_echo.sh $(EXDIR)

# cmocka is the one dependency of the tests: name it, install it as root.
cmocka:
	@printf '#include <stdarg.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <setjmp.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' \
		| $(CC) -x c - -o /dev/null -lcmocka 2>/dev/null || { \
		echo 'cmocka is missing: it is Debian/Ubuntu package libcmocka-dev'; \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get install -y libcmocka-dev || { apt-get update && apt-get install -y libcmocka-dev; }); \
		else echo 'run: sudo apt-get install -y libcmocka-dev'; exit 1; fi; }

asan:
	@$(MAKE) --no-print-directory test BUILD=$(BUILD)/asan CFLAGS='-O1 -g -fno-omit-frame-pointer' \
		EXTRA='-fsanitize=address,undefined -fno-sanitize-recover=all'

# (The examples run natively in make test's variants; here they would run
# natively again: NO_EXAMPLES. soak-valgrind runs a server under valgrind.)
valgrind:
	@$(MAKE) --no-print-directory test BUILD=$(BUILD)/valgrind CFLAGS='-O1 -g' \
		RUNNER='env MT_UNDER_VALGRIND=1 $(VALGRIND)' NO_EXAMPLES=1

# What crosses threads, under ThreadSanitizer, on every backend: posts from
# threads (test_threads), a foreign loop woken by a thread (test_embed),
# the signal tests, the channel and the worker pool; kvserver --threads 2
# driven by redis-benchmark (tests/net_examples.sh, its kv_threads
# section), and the echo server on 2 and 4 threads under real clients
# (tests/echo_threads.sh: a race ends the server with an error).
TSAN_TESTS = test_threads test_embed test_signal test_ring test_chan test_offload
TSAN_DIR = $(BUILD)/tsan
tsan: cmocka
	@set -e; for b in SELECT POLL EPOLL; do mkdir -p $(TSAN_DIR)/$$b; \
		for t in $(TSAN_TESTS); do \
		$(CC) $(WARN) -O1 -g -fsanitize=thread -DMT_BACKEND=MT_BACKEND_$$b -I. \
			-o $(TSAN_DIR)/$$b/$$t tests/$$t.c multitask.c -lcmocka -pthread; \
		echo "== tsan $$b: $$t"; TSAN_OPTIONS=halt_on_error=1 $(TSAN_DIR)/$$b/$$t; done; \
		for e in echo_server echo_client; do \
		$(CC) $(WARN) -O1 -g -fsanitize=thread -DMT_BACKEND=MT_BACKEND_$$b -I. \
			-o $(TSAN_DIR)/$$b/$$e examples/$$e.c multitask.c -pthread; done; \
		echo "== tsan $$b: echo_server --threads"; \
		TSAN_OPTIONS=halt_on_error=1 tests/echo_threads.sh $(TSAN_DIR)/$$b; done
	@set -e; for b in SELECT POLL EPOLL; do mkdir -p $(TSAN_DIR)/$$b/examples; \
		$(CC) $(WARN) -O1 -g -fsanitize=thread -DMT_BACKEND=MT_BACKEND_$$b -I. \
			-o $(TSAN_DIR)/$$b/examples/kvserver examples/kvserver.c multitask.c -pthread; \
		echo "== tsan $$b: kvserver --threads 2"; \
		TSAN_OPTIONS=halt_on_error=1 tests/net_examples.sh $(TSAN_DIR)/$$b/examples kv_threads; done

# Line and branch coverage of multitask.c over the whole suite in the
# default configuration (gcc --coverage; gcovr merges test_faults' own copy
# of the library, else gcov alone reports the shared object).
COVDIR = $(BUILD)/coverage
# -fprofile-update=atomic: the thread tests update the counters from several
# threads at once (plain updates race, and gcov then reads negative counts).
COVFLAGS = -O0 -g --coverage -fprofile-update=atomic
coverage: cmocka
	@rm -rf $(COVDIR) && mkdir -p $(COVDIR)
	@$(CC) $(WARN) $(COVFLAGS) -I. -c multitask.c -o $(COVDIR)/multitask.o
	@set -e; for t in $(TESTS); do \
		if [ $$t = test_faults ]; then lib=; else lib=$(COVDIR)/multitask.o; fi; \
		$(CC) $(WARN) $(COVFLAGS) -I. -c tests/$$t.c -o $(COVDIR)/$$t.o; \
		$(CC) --coverage -o $(COVDIR)/$$t $(COVDIR)/$$t.o $$lib -lcmocka -pthread; \
		$(COVDIR)/$$t > $(COVDIR)/$$t.log 2>&1 || { cat $(COVDIR)/$$t.log; exit 1; }; done
	@if command -v gcovr >/dev/null 2>&1; then \
		gcovr -r . -f 'multitask\.c$$' --print-summary -o $(COVDIR)/coverage.txt $(COVDIR); \
	else cd $(COVDIR) && gcov -b -o . ../../../multitask.c | sed -n '/multitask.c/,/^$$/p'; fi

# Microcontroller targets (arm-none-eabi, riscv64-unknown-elf, avr-gcc,
# qemu-system-arm, simavr) and big-endian PowerPC Linux (clang, the cross
# glibc, qemu-user): the core tests run under emulation; sizes.
target-test:
	@BUILD='$(BUILD)' tests/target/run.sh test

size:
	@BUILD='$(BUILD)' tests/target/run.sh size

# Static analysis of the library in its main configurations, and the
# length of its functions.
lint:
	tests/funclen.sh
	cppcheck --enable=warning,style,performance,portability --std=c99 \
		--inline-suppr --error-exitcode=1 -q -I. -UMT_USER_CONFIG \
		-DMT_LC_LABELS=0 -DMT_POSIX=1 -DMT_TIMER_LIST=0 -DMT_WHEEL_BITS=10 multitask.c
	cppcheck --enable=warning,style,performance,portability --std=c99 \
		--inline-suppr --error-exitcode=1 -q -I. -UMT_USER_CONFIG \
		-DMT_LC_LABELS=0 -DMT_WHEEL_BITS=0 -DMT_POSIX=0 -DMT_TIMER_LIST=1 multitask.c

# ---- Installing: the header (with the options it was built with fixed in
# it), a static and a shared library, multitask.pc. ----------------------
#   make install [PREFIX=/usr/local] [DESTDIR=stage] [CONFIG='-DMT_BACKEND=MT_BACKEND_EPOLL']
#   make uninstall (the same PREFIX and DESTDIR)
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CONFIG ?=
MT_VERSION := $(shell tools/version.sh)
MT_SONAME = libmultitask.so.$(word 1,$(subst ., ,$(MT_VERSION))).$(word 2,$(subst ., ,$(MT_VERSION)))
LIBOUT = $(BUILD)/lib
LIB_CFLAGS = -std=c99 $(WARN) -O2 -g $(CONFIG)

.PHONY: lib install uninstall single-header consumers
lib: $(LIBOUT)/built $(LIBOUT)/multitask.pc

# The libraries and the header, in one recipe (a stamp: safe with -j);
# rebuilt each time, as CONFIG may differ from the last build's.
$(LIBOUT)/built: multitask.c multitask.h tools/install_header.sh FORCE
	@mkdir -p $(LIBOUT)
	$(CC) $(LIB_CFLAGS) -c -o $(LIBOUT)/multitask.o multitask.c
	$(CC) $(LIB_CFLAGS) -fPIC -c -o $(LIBOUT)/multitask.pic.o multitask.c
	rm -f $(LIBOUT)/libmultitask.a
	$(AR) rcs $(LIBOUT)/libmultitask.a $(LIBOUT)/multitask.o
	$(CC) -shared -Wl,-soname,$(MT_SONAME) -o $(LIBOUT)/libmultitask.so.$(MT_VERSION) \
		$(LIBOUT)/multitask.pic.o
	CC='$(CC)' tools/install_header.sh $(LIBOUT)/multitask.h $(CONFIG)
	@touch $@

$(LIBOUT)/multitask.pc: multitask.h FORCE
	@mkdir -p $(LIBOUT)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' \
		'config=$(CONFIG)' '' 'Name: multitask' \
		'Description: stackless cooperative multitasking for C99 (tasks, timers, queues, I/O)' \
		'Version: $(MT_VERSION)' 'Libs: -L$${libdir} -lmultitask' 'Libs.private: -pthread' 'Cflags: -I$${includedir}' > $@

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(LIBOUT)/multitask.h $(DESTDIR)$(INCLUDEDIR)/multitask.h
	install -m 644 $(LIBOUT)/libmultitask.a $(DESTDIR)$(LIBDIR)/libmultitask.a
	install -m 755 $(LIBOUT)/libmultitask.so.$(MT_VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmultitask.so.$(MT_VERSION) $(DESTDIR)$(LIBDIR)/$(MT_SONAME)
	ln -sf $(MT_SONAME) $(DESTDIR)$(LIBDIR)/libmultitask.so
	install -m 644 $(LIBOUT)/multitask.pc $(DESTDIR)$(PKGCONFIGDIR)/multitask.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/multitask.h $(DESTDIR)$(LIBDIR)/libmultitask.a \
		$(DESTDIR)$(LIBDIR)/libmultitask.so.$(MT_VERSION) $(DESTDIR)$(LIBDIR)/$(MT_SONAME) \
		$(DESTDIR)$(LIBDIR)/libmultitask.so $(DESTDIR)$(PKGCONFIGDIR)/multitask.pc

# The single-file edition (tools/single_header.sh).
single-header: $(BUILD)/single/multitask.h
$(BUILD)/single/multitask.h: multitask.h multitask.c tools/single_header.sh
	@mkdir -p $(@D)
	tools/single_header.sh $@

# Consumers built from scratch the ways README "Getting it into your
# project" lists (tests/consumers/run.sh); part of make test (not of its
# sanitizer and valgrind runs). cmake, pkg-config and meson, installed as
# root when missing.
consumers: consumer-deps single-header
	@CC='$(CC)' BUILD='$(BUILD)' tests/consumers/run.sh

.PHONY: consumer-deps
consumer-deps:
	@need=; for p in cmake:cmake pkg-config:pkgconf meson:meson; do \
		command -v $${p%%:*} >/dev/null 2>&1 || need="$$need $${p#*:}"; done; \
	if [ -n "$$need" ]; then \
		echo "the consumer tests need the Debian/Ubuntu packages$$need"; \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get install -y --no-install-recommends $$need || { apt-get update && apt-get install -y --no-install-recommends $$need; }); \
		else echo "run: sudo apt-get install -y$$need"; exit 1; fi; fi

# The Arduino library (arduino/ and the two sources, in the 1.5 layout),
# and its test: the core, the library and the sketches built for the Uno
# as the IDE would, Blink run under simavr (tests/arduino/run.sh; CI).
.PHONY: arduino-lib arduino
arduino-lib:
	@tools/arduino_lib.sh $(BUILD)/arduino
arduino:
	@BUILD='$(BUILD)' tests/arduino/run.sh

.PHONY: FORCE
FORCE:

clean:
	rm -rf $(BUILD)

# Fuzzing (tests/fuzz) and the soak test (tests/soak) keep their rules beside
# their sources.
include $(wildcard tests/*/rules.mk)
