#!/bin/bash
# The command line as users type it: `help VERB` and `VERB --help` show that verb's usage and only
# its options; options may come before the verb (with "--opt=value" or "--opt value"); an option
# that is not one of the verb's is refused with exit 2, naming the option and the verb.
. "$(dirname "$0")/lib/testlib.sh"

OUT=$SCRATCH/out
root=$(new_root debian12)

"$OP25B" help status >"$OUT" 2>&1; rc=$?
check "help status: exit 0, status's usage line, not apply's" \
	bash -c "[ $rc = 0 ] && grep -q '^  op25b status' '$OUT' && ! grep -q '^  op25b apply' '$OUT'"
check "help status: status's options (--root, --json), not apply's (--mode, --relayhost)" \
	bash -c "grep -q -- '--root=DIR' '$OUT' && grep -q -- '--json' '$OUT' && ! grep -q -- '--mode=' '$OUT' && ! grep -q -- '--relayhost' '$OUT'"
"$OP25B" status --help >"$SCRATCH/out2" 2>&1; rc=$?
check "status --help: exit 0, the same text as help status" bash -c "[ $rc = 0 ] && cmp -s '$OUT' '$SCRATCH/out2'"
"$OP25B" probe --help >"$OUT" 2>&1
check "probe --help: no --root (probe works on no system)" bash -c "grep -q '^  op25b probe' '$OUT' && ! grep -q -- '--root' '$OUT'"
"$OP25B" help >"$OUT" 2>&1; rc=$?
check "help: exit 0, every verb" bash -c "[ $rc = 0 ] && for v in apply revert status probe verify log; do grep -q \"^  op25b \$v\" '$OUT' || exit 1; done"
"$OP25B" help frobnicate >"$OUT" 2>&1; rc=$?
check "help frobnicate: exit 2, says there is no such verb" bash -c "[ $rc = 2 ] && grep -q 'help frobnicate: no such verb' '$OUT'"

"$OP25B" status --json --root="$root" >"$SCRATCH/after" 2>&1
"$OP25B" --json --root="$root" status >"$OUT" 2>&1; rc=$?
check "options before the verb: --json --root=DIR status works as status --json --root=DIR" \
	bash -c "[ $rc = 0 ] && cmp -s '$OUT' '$SCRATCH/after'"
"$OP25B" -q --root "$root" --timeout 5 status --json >"$OUT" 2>&1; rc=$?
check "options before the verb with separate values (--root DIR --timeout 5)" \
	bash -c "[ $rc = 0 ] && cmp -s '$OUT' '$SCRATCH/after'"
"$OP25B" --root="$root" >"$OUT" 2>&1; rc=$?
check "options without a verb: exit 2, a verb is required" bash -c "[ $rc = 2 ] && grep -q 'a verb is required' '$OUT'"

"$OP25B" status --zone=public --root="$root" >"$OUT" 2>&1; rc=$?
check "status --zone: exit 2, names the option and the verb" bash -c "[ $rc = 2 ] && grep -q 'status: --zone is not an option of this verb' '$OUT'"
"$OP25B" --mode=smtps status --root="$root" >"$OUT" 2>&1; rc=$?
check "--mode before status: refused the same way (exit 2)" bash -c "[ $rc = 2 ] && grep -q 'status: --mode' '$OUT'"
"$OP25B" probe 127.0.0.1 --root="$root" >"$OUT" 2>&1; rc=$?
check "probe --root: exit 2, names the option and the verb" bash -c "[ $rc = 2 ] && grep -q 'probe: --root is not an option of this verb' '$OUT'"
finish
