# The soak test (tests/soak/soak.c), included by the Makefile: an echo server
# on the poll and epoll backends under C concurrent connections, every byte
# verified, with random cancellations, idle timeouts and early closes; both
# processes check at the end that every frame was freed and every fd closed.
#   make soak           full size, each backend: 10,000 connections, 1 GiB
#   make soak-ci        CI: 1,500 connections (fds past FD_SETSIZE), 128 MiB,
#                       plain and ASan+UBSan builds
#   make soak-valgrind  50 connections, 4 MiB under valgrind (both processes)
# SOAK_ARGS adds options (soak --help lists them), e.g. SOAK_ARGS='--seed 7 -v'.
SOAK_CONNS ?= 10000
SOAK_BYTES ?= 1G
SOAK_ARGS ?=
SOAK_CI_CONNS ?= 1500
SOAK_CI_BYTES ?= 128M
SOAK_CI_ARGS ?= --cancel-rate 200 --idle-pct 5 --watchdog 120
SOAK_BACKENDS = poll epoll
SOAK_DIR = $(BUILD)/soak
SOAK_SRC = tests/soak/soak.c multitask.c
SOAK_BE = -DMT_BACKEND=MT_BACKEND_$(subst poll,POLL,$(subst epoll,EPOLL,$*))
SOAK_SAN = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: soak soak-ci soak-valgrind

$(SOAK_DIR)/%/soak: $(SOAK_SRC) multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(EXTRA) $(SOAK_BE) -I. -o $@ $(SOAK_SRC) $(LDLIBS)

$(SOAK_DIR)/%/soak-asan: $(SOAK_SRC) multitask.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(SOAK_SAN) $(EXTRA) $(SOAK_BE) -I. -o $@ $(SOAK_SRC) $(LDLIBS)

soak: $(SOAK_BACKENDS:%=$(SOAK_DIR)/%/soak)
	@set -e; for b in $(SOAK_BACKENDS); do \
		echo "== soak $$b: $(SOAK_CONNS) connections, $(SOAK_BYTES)"; \
		$(SOAK_DIR)/$$b/soak --conns $(SOAK_CONNS) --bytes $(SOAK_BYTES) $(SOAK_ARGS); done

soak-ci: $(SOAK_BACKENDS:%=$(SOAK_DIR)/%/soak) $(SOAK_BACKENDS:%=$(SOAK_DIR)/%/soak-asan)
	@set -e; for b in $(SOAK_BACKENDS); do for v in soak soak-asan; do \
		echo "== soak-ci $$b ($$v): $(SOAK_CI_CONNS) connections, $(SOAK_CI_BYTES)"; \
		$(SOAK_DIR)/$$b/$$v --conns $(SOAK_CI_CONNS) --bytes $(SOAK_CI_BYTES) \
			$(SOAK_CI_ARGS) $(SOAK_ARGS); done; done

soak-valgrind: $(SOAK_BACKENDS:%=$(SOAK_DIR)/%/soak)
	@set -e; for b in $(SOAK_BACKENDS); do echo "== soak-valgrind $$b"; \
		$(VALGRIND) --trace-children=yes $(SOAK_DIR)/$$b/soak --conns 50 --bytes 4M \
			--idle-pct 10 --cancel-rate 200 $(SOAK_ARGS); done
