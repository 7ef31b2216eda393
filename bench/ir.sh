#!/usr/bin/env bash
# Instructions per operation (callgrind): each operation of bench/ir_ops.c
# at N and 2N; (Ir(2N) - Ir(N)) / (ops(2N) - ops(N)). Instruction counts
# repeat exactly for the same binary, so one run of each size is enough.
# Usage: bench/ir.sh BINARY [N [OP...]]   Prints a markdown table (of the
# OPs only, when given).
set -euo pipefail
bin=$1
n=${2:-20000}
shift $(( $# < 2 ? $# : 2 ))
only=" $* "
command -v valgrind >/dev/null || { echo "(valgrind missing: no instruction counts)"; exit 0; }

ir() { # total instructions of one run
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

echo "| operation | instructions per operation |"
echo "|---|---|"
for spec in "yield:2:a yield (2 tasks)" "spawn:1:add + run + finish a task" \
    "await:1:await a child that ends at once" \
    "spawn8:1:add 8 tasks, run them in one cycle (per task)" \
    "group:1:spawn into a group + join, 8 children per join (per child)" \
    "group1:1:spawn into a group + join, one child per join (per child)" \
    "queue:1:queue hand-off, capacity 1 (per item)" \
    "choose:1:the same, consumer in a 2-clause MT_CHOOSE (per item)" \
    "event:2:event set/wait ping-pong (per wake-up)" "sem:2:semaphore signal/wait ping-pong (per wake-up)" \
    "sleep:2:sleep on a virtual clock (per sleep)" \
    "ring:1:event wake-ups round a ring of 100 tasks (per wake-up)" \
    "idle:1:the same, each wait with a 30000-tick timeout (per wake-up)" \
    "idle100:1:the same, each wait with a 100-tick timeout (per wake-up)"; do
    op=${spec%%:*}; rest=${spec#*:}; per=${rest%%:*}; what=${rest#*:}
    [ "$only" = "  " ] || [[ $only == *" $op "* ]] || continue
    a=$(ir "$op" "$n"); b=$(ir "$op" $((2 * n)))
    awk -v a="$a" -v b="$b" -v n="$n" -v per="$per" -v w="$what" \
        'BEGIN { printf "| %s | %.1f |\n", w, (b - a) / (n * per) }'
done
