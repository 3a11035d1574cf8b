# Fault injection (tests/t-fault.sh, t-concurrency.sh, t-secrets.sh): an LD_PRELOAD shim that kills
# op25b or fails a call at the Nth write/fsync/rename/unlink/spawn/exec (tests/fault/inject.c).
FAULT_SO := $(B)/fault/inject.so

fault: $(FAULT_SO)

$(FAULT_SO): tests/fault/inject.c
	@mkdir -p $(@D)
	$(CC) -O1 -g -Wall -Wextra -fPIC -shared -o $@ $< -ldl

.PHONY: fault
