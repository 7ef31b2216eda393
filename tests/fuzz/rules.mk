# Fuzzing the scheduler against a model (tests/fuzz/fuzz_sched.c); included
# by the top Makefile.
#   make fuzz [FUZZ_SECONDS=60]  libFuzzer (clang whatever CC is), over a copy
#                                of the seed corpus in $(BUILD)/fuzz/corpus;
#                                crashes go to $(BUILD)/fuzz/artifacts/;
#                                FUZZ_EXTRA adds flags (a backend:
#                                -DMT_BACKEND=MT_BACKEND_EPOLL), with its
#                                own BUILD
#   make fuzz-replay             the seeds and tests/fuzz/regress/ through a
#                                plain main() built with $(CC) (EXTRA and
#                                RUNNER apply: sanitizers, valgrind; make
#                                test runs it once per backend)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
# A build per FUZZ_EXTRA: a backend's binary is never taken for another's.
FUZZ_DIR = $(BUILD)/fuzz$(if $(strip $(FUZZ_EXTRA)),-$(shell printf '%s' '$(FUZZ_EXTRA)' | cksum | cut -d' ' -f1))
FUZZ_DEPS = tests/fuzz/fuzz_sched.c multitask.c multitask.h
FUZZ_BIN = $(FUZZ_DIR)/fuzz_sched
FUZZ_INPUTS = $(wildcard tests/fuzz/corpus/* tests/fuzz/regress/*)

.PHONY: fuzz fuzz-replay

$(FUZZ_BIN): $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-g -O1 $(FUZZ_EXTRA) -o $@ tests/fuzz/fuzz_sched.c

# The corpus copy keeps what earlier runs found. libFuzzer's exit status
# (non-zero on a crash) survives the tee through a file: sh has no pipefail.
fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	@cp tests/fuzz/corpus/* $(FUZZ_DIR)/corpus/
	@{ $(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=25 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ $(FUZZ_DIR)/corpus 2>&1; \
		echo $$? > $(FUZZ_DIR)/status; } | tee $(FUZZ_DIR)/fuzz.log
	@echo '== fuzz: last status and executions (log: $(FUZZ_DIR)/fuzz.log)'
	@grep -E '^#[0-9]+' $(FUZZ_DIR)/fuzz.log | tail -n 1; \
		grep -E '^Done [0-9]+ runs' $(FUZZ_DIR)/fuzz.log || echo 'no "Done" line: the run stopped early'; \
		echo "corpus: $$(ls $(FUZZ_DIR)/corpus | wc -l) inputs"; \
		st=$$(cat $(FUZZ_DIR)/status); [ "$$st" = 0 ] || \
		echo "crash: $$(ls -t $(FUZZ_DIR)/artifacts/* | head -n 1) (FUZZ_TRACE=1 $(FUZZ_DIR)/replay FILE)"; \
		exit $$st

# Rebuilt every time: EXTRA or CFLAGS may differ from the last build's.
fuzz-replay:
	@mkdir -p $(FUZZ_DIR)
	$(CC) $(WARN) $(CFLAGS) $(EXTRA) -o $(FUZZ_DIR)/replay \
		tests/fuzz/replay.c tests/fuzz/fuzz_sched.c $(LDLIBS)
	@echo '$(RUNNER) $(FUZZ_DIR)/replay tests/fuzz/corpus/* tests/fuzz/regress/*'
	@$(RUNNER) $(FUZZ_DIR)/replay $(FUZZ_INPUTS)
