# AddressSanitizer + UndefinedBehaviorSanitizer build in its own directory (tests/t-sanitize.sh
# runs the unit tests and a set of CLI runs with it, and valgrind on the normal binary).
# Under build/ so that git and `make dist` ignore it; `make sanitize ASAN_B=build-asan` works too.
ASAN_B     ?= $(B)/asan
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

sanitize-build:
	CFLAGS='-O1 -g $(SAN_FLAGS)' LDFLAGS='$(SAN_FLAGS)' $(MAKE) --no-print-directory B=$(ASAN_B) \
	    $(ASAN_B)/op25b $(UNITS:tests/unit/%.c=$(ASAN_B)/unit/%)

sanitize: sanitize-build
	sh tests/run.sh tests/t-sanitize.sh

.PHONY: sanitize sanitize-build
