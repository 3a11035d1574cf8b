# op25b — build, test, install.  `make` builds ./op25b; `make check` runs every test.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR    ?= $(PREFIX)/sbin
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
LENSDIR    ?= $(DATADIR)/op25b/lenses
DESTDIR    ?=
VERSION    := 0.1.0

PKGS     := augeas libsystemd libcrypto libssl
CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -fstack-protector-strong \
            $(shell pkg-config --cflags $(PKGS))
CPPFLAGS += -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -DOP25B_VERSION='"$(VERSION)"' -DOP25B_LENSDIR='"$(LENSDIR)"' \
            -DOP25B_SYSCONFDIR='"$(SYSCONFDIR)"'
LDLIBS   += $(shell pkg-config --libs $(PKGS))
B        ?= build

SRCS  := $(sort $(wildcard src/*.c))
OBJS  := $(SRCS:src/%.c=$(B)/%.o)
LIBOBJS := $(filter-out $(B)/main.o,$(OBJS))
UNITS := $(sort $(wildcard tests/unit/test_*.c))
UNITBINS := $(UNITS:tests/unit/%.c=$(B)/unit/%)

all: op25b

op25b: $(B)/op25b
	cp $< $@

$(B)/op25b: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%.o: src/%.c $(wildcard src/*.h) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B) $(B)/unit:
	mkdir -p $@

$(B)/libop25b.a: $(LIBOBJS)
	ar rcs $@ $^

$(B)/unit/%: tests/unit/%.c $(B)/libop25b.a $(wildcard src/*.h) | $(B)/unit
	$(CC) $(CPPFLAGS) -Isrc $(CFLAGS) $(shell pkg-config --cflags check) -o $@ $< \
	    $(B)/libop25b.a $(LDLIBS) $(shell pkg-config --libs check)

units: $(UNITBINS)

deps:
	sh tests/deps.sh

# Unit tests (Check), then the CLI/integration tests, which print "N passed, N failed, N skipped".
check: deps
	$(MAKE) op25b units
	sh tests/run-units.sh $(UNITBINS)
	sh tests/run.sh

demo: deps
	$(MAKE) op25b
	sh tests/demo.sh

install: op25b
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LENSDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 755 op25b $(DESTDIR)$(SBINDIR)/op25b
	install -m 644 lenses/*.aug $(DESTDIR)$(LENSDIR)/
	install -m 644 man/op25b.8 $(DESTDIR)$(MANDIR)/man8/op25b.8

clean:
	rm -rf $(B) op25b

.PHONY: all units deps check demo install clean
