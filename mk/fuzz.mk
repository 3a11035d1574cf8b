# libFuzzer targets (tests/fuzz/fuzz_*.c) on the parsers that read untrusted bytes: SMTP replies,
# the relay host, the command line and the configuration file. Built with clang in $(FUZZ_B) with
# -fsanitize=fuzzer,address,undefined; `make fuzz` runs each for FUZZ_TIME seconds from its seed
# corpus tests/fuzz/corpus/NAME/ (new inputs go to $(FUZZ_B)/corpus/NAME, crashes to
# $(FUZZ_B)/crash-NAME-*, under build/ so that git and `make dist` ignore them; a crash that is fixed is kept in the seed corpus as a regression test).
FUZZ_CC      ?= clang
FUZZ_B       ?= $(B)/fuzz
FUZZ_TIME    ?= 20
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -std=gnu11 $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(shell pkg-config --cflags $(PKGS))
FUZZ_CPPFLAGS := $(filter-out -D_FORTIFY_SOURCE=%,$(CPPFLAGS))
FUZZ_OBJS    := $(patsubst src/%.c,$(FUZZ_B)/obj/%.o,$(filter-out src/cli/main.c,$(SRCS)))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)

fuzz-build: $(FUZZ_BINS)

$(FUZZ_B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/libop25b.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_B)/libop25b.a $(HDRS)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(INCFLAGS) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_B)/libop25b.a $(LDLIBS)

# Each target for FUZZ_TIME seconds; the last lines of each run (executions, coverage) are shown.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_B)/corpus/$$t; \
	    echo "== fuzz_$$t: $(FUZZ_TIME) s"; \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    $(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -close_fd_mask=3 \
	        -artifact_prefix=$(FUZZ_B)/crash-$$t- $(FUZZ_B)/corpus/$$t tests/fuzz/corpus/$$t \
	        > $(FUZZ_B)/fuzz_$$t.log 2>&1 || { tail -n 40 $(FUZZ_B)/fuzz_$$t.log; exit 1; }; \
	    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )|cov: ' $(FUZZ_B)/fuzz_$$t.log | tail -n 3; \
	done

# Replay the seed corpus once (every kept crash input is a regression test).
fuzz-regress: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_B)/fuzz_$$t -runs=0 -close_fd_mask=3 tests/fuzz/corpus/$$t >/dev/null 2>&1 || \
	        { echo "fuzz_$$t: a corpus input fails"; $(FUZZ_B)/fuzz_$$t -runs=0 -close_fd_mask=3 tests/fuzz/corpus/$$t 2>&1 | tail -n 30; exit 1; }; \
	    echo "fuzz_$$t: corpus replayed"; \
	done

fuzz-clean:
	rm -rf $(FUZZ_B)

.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean
