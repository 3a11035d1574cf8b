# op25b — build, test, install.  `make` builds ./op25b; `make check` runs every test.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
LENSDIR    ?= $(DATADIR)/op25b/lenses
DESTDIR    ?=
VERSION    := 0.1.0

PKGS     := augeas libsystemd libcrypto libssl jansson
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -fstack-protector-strong \
            $(shell pkg-config --cflags $(PKGS))
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -DOP25B_VERSION='"$(VERSION)"' -DOP25B_LENSDIR='"$(LENSDIR)"' \
            -DOP25B_SYSCONFDIR='"$(SYSCONFDIR)"'
LDLIBS   += $(shell pkg-config --libs $(filter-out augeas libsystemd,$(PKGS))) -ldl
B        ?= build

# src/ is grouped by layer, top to bottom: cli (verbs, options), facts (what is read from outside
# before planning), plan (pure edits of parsed trees), store (journal, atomic writes, transactions),
# system (units, firewall, postfix tools), conf (the files in memory: Augeas trees and their edits,
# which plans make, the store records and the system checks), net (TLS, SMTP), base.
# Headers are included by name; each layer's folder is on the quote include path.
LAYERS   := cli facts plan store system conf net base
INCFLAGS := $(LAYERS:%=-iquote src/%)
CPPFLAGS += $(INCFLAGS)
SRCS  := $(sort $(wildcard $(LAYERS:%=src/%/*.c)))
HDRS  := $(sort $(wildcard $(LAYERS:%=src/%/*.h)))
OBJS  := $(SRCS:src/%.c=$(B)/%.o)
LIBOBJS := $(filter-out $(B)/cli/main.o,$(OBJS))
UNITS := $(sort $(wildcard tests/unit/test_*.c))
UNITBINS := $(UNITS:tests/unit/%.c=$(B)/unit/%)

all: op25b

# Replaced by a rename: a test running ./op25b while another rebuilds it never execs a half-copied
# file (seen: a segfault in t-hostile while t-e2e ran make).
op25b: $(B)/op25b
	cp $< $@.tmp && mv -f $@.tmp $@

$(B)/op25b: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The paths and version compiled in: `make install PREFIX=/usr` after a plain `make` rebuilds with
# the new LENSDIR instead of installing a binary that looks in /usr/local (the stamp changes only
# when they do).
BUILD_PATHS := $(VERSION) $(LENSDIR) $(SYSCONFDIR)
$(B)/paths.stamp: FORCE | $(B)
	@[ "$$(cat $@ 2>/dev/null)" = "$(BUILD_PATHS)" ] || echo "$(BUILD_PATHS)" > $@

# -MMD -MP: each object depends on the headers it really includes (build/**/*.d).
$(B)/%.o: src/%.c $(B)/paths.stamp | $(B)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(OBJS:.o=.d)

$(B) $(B)/unit:
	mkdir -p $@

# The compiler flags a test driver needs to include op25b's headers (tests/t-units.sh, t-firewall.sh).
print-incflags:
	@echo $(INCFLAGS)

$(B)/libop25b.a: $(LIBOBJS)
	@rm -f $@ # ar r keeps members whose source is gone (a moved or deleted .c)
	ar rcs $@ $^

$(B)/unit/%: tests/unit/%.c $(B)/libop25b.a $(HDRS) | $(B)/unit
	$(CC) $(CPPFLAGS) $(CFLAGS) $(shell pkg-config --cflags check) -o $@ $< \
	    $(B)/libop25b.a $(LDLIBS) $(shell pkg-config --libs check)

units: $(UNITBINS)

deps:
	sh tests/deps.sh

# Unit tests (Check), then the CLI/integration tests, which print "N passed, N failed, N skipped".
check: deps
	$(MAKE) op25b units
	sh tests/run-units.sh $(UNITBINS)
	sh tests/run.sh

# The fast inner loop: the Check unit tests (seconds), then those plus the CLI tests on fixture
# trees (no services, no namespaces; under two minutes here). `make check` stays the full suite.
QUICK_TESTS := tests/t-layers.sh tests/t-escape.sh tests/t-special.sh tests/t-smtps.sh tests/t-submission.sh tests/t-config.sh \
               tests/t-lens.sh tests/t-man.sh tests/t-hostile.sh tests/t-realworld.sh tests/t-json.sh tests/t-cli.sh \
               tests/t-relay-secret.sh tests/t-catrust.sh
QUICK_TESTS += tests/t-steps.sh tests/t-stack.sh tests/t-origin.sh tests/t-path.sh
check-unit: op25b units
	sh tests/run-units.sh $(UNITBINS)

check-quick: check-unit
	sh tests/run.sh $(QUICK_TESTS)

# Debian 11, 12 and 13 for real: op25b built and tested inside a cached root of each release, with
# that release's compiler, libraries, Postfix, Dovecot, systemd and firewalld (tests/distro/run.sh).
check-distros: deps
	bash tests/distro/run.sh

demo: deps
	$(MAKE) op25b
	sh tests/demo.sh

install: op25b
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LENSDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 755 op25b $(DESTDIR)$(SBINDIR)/op25b
	install -m 644 lenses/*.aug $(DESTDIR)$(LENSDIR)/
	install -m 644 man/op25b.8 $(DESTDIR)$(MANDIR)/man8/op25b.8
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSCONFDIR)/op25b
	install -m 644 man/op25b.conf.5 $(DESTDIR)$(MANDIR)/man5/op25b.conf.5
	install -m 644 completion/op25b.bash $(DESTDIR)$(BASHCOMPDIR)/op25b
	test -e $(DESTDIR)$(SYSCONFDIR)/op25b/op25b.conf || \
	    install -m 600 etc/op25b.conf $(DESTDIR)$(SYSCONFDIR)/op25b/op25b.conf

# What install put there, except the configuration file (it may hold the admin's settings).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/op25b $(DESTDIR)$(MANDIR)/man8/op25b.8 $(DESTDIR)$(MANDIR)/man5/op25b.conf.5 \
	    $(DESTDIR)$(BASHCOMPDIR)/op25b
	rm -f $(addprefix $(DESTDIR)$(LENSDIR)/,$(notdir $(wildcard lenses/*.aug)))
	-rmdir $(DESTDIR)$(LENSDIR) $(DESTDIR)$(DATADIR)/op25b 2>/dev/null

clean:
	rm -rf $(B) op25b

FORCE:

.PHONY: all units deps check demo install uninstall clean FORCE dist rpm rpmlint lens-check print-incflags check-unit check-quick check-distros

# ---- Packaging: configuration file, man pages, completion, tarball, RPM ----
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
RPMDIR      ?= $(abspath $(B))/rpm
DISTNAME    := op25b-$(VERSION)
DISTTAR     := $(B)/$(DISTNAME).tar.gz

# The tarball holds the checkout's files: tracked ones, and new ones that .gitignore does not
# exclude (so it works before a commit too); outside a git checkout, every file but $(B) and .git.
dist: | $(B)
	@v=$$(sed -n 's/^Version:[[:space:]]*//p' op25b.spec); [ "$$v" = "$(VERSION)" ] || \
	    { echo "op25b.spec: Version is '$$v', the Makefile says $(VERSION)" >&2; exit 1; }
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" = "$(CURDIR)" ]; then \
	    git ls-files --cached --others --exclude-standard; \
	else \
	    find . \( -path './$(B)' -o -path ./.git \) -prune -o \( -type f -o -type l \) -print | sed 's|^\./||'; \
	fi | while IFS= read -r f; do if [ -f "$$f" ] || [ -L "$$f" ]; then printf '%s\n' "$$f"; fi; done \
	    | LC_ALL=C sort -u > $(B)/dist-files
	tar --owner=0 --group=0 --numeric-owner --transform 's,^,$(DISTNAME)/,S' \
	    -czf $(DISTTAR) -T $(B)/dist-files
	@echo "$(DISTTAR): $$(wc -l < $(B)/dist-files) files"

# rpmbuild checks BuildRequires against the rpm database: on Debian it is empty, hence --nodeps.
rpm: dist
	rm -rf $(RPMDIR)
	mkdir -p $(RPMDIR)
	nodeps=; [ -n "$$(rpm -qa 2>/dev/null | head -n 1)" ] || nodeps=--nodeps; \
	rpmbuild -ta $$nodeps --define "_topdir $(RPMDIR)" $(DISTTAR)

rpmlint: rpm
	rpmlint -r op25b.rpmlintrc op25b.spec $(RPMDIR)/SRPMS/*.rpm $(RPMDIR)/RPMS/*/*.rpm

lens-check:
	for t in lenses/tests/*.aug; do augparse -I lenses "$$t" || exit 1; done

# Further targets (sanitizers, fuzzing, benchmark) live in mk/*.mk, one concern per file.
-include $(wildcard mk/*.mk)
