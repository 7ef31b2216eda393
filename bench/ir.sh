#!/usr/bin/env bash
# Instructions per operation (callgrind): each operation of bench/ir_ops.c
# at N and 2N; (Ir(2N) - Ir(N)) / (ops(2N) - ops(N)). Instruction counts
# repeat exactly for the same binary, so one run of each size is enough.
# Usage: bench/ir.sh BINARY [N [OP...]]   Prints a markdown table (of the
# OPs only, when given), with the floor beside an operation that has one.
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

ir_per() { # instructions per operation of OP ($1), PER operations a run ($2)
    local a b
    a=$(ir "$1" "$n"); b=$(ir "$1" $((2 * n)))
    if [ -z "$a" ] || [ -z "$b" ]; then # e.g. DWARF 5 (clang) on valgrind < 3.20: build with -gdwarf-4
        echo "bench/ir.sh: callgrind could not run $bin $1" >&2
        echo "-"
        return
    fi
    awk -v a="$a" -v b="$b" -v n="$n" -v per="$2" 'BEGIN { printf "%.1f", (b - a) / (n * per) }'
}

declare -A floor_ir
echo "| operation | instructions per operation | floor (no library) | ratio to floor |"
echo "|---|---|---|---|"
# op:per:floor:what. The floors (bench/floor.c): hand-written state machines
# doing the same work; floor-spawn mallocs and frees each machine,
# floor-spawn-hot reuses one frame, as the spawn row does.
for spec in "yield:2:floor-yield:a yield (2 tasks)" \
    "spawn:1:floor-spawn-hot:add + run + finish a task (frame reused)" \
    "spawn:1:floor-spawn:the same, beside a floor that mallocs and frees" \
    "await:1:-:await a child that ends at once" \
    "spawn8:1:-:add 8 tasks, run them in one cycle (per task)" \
    "group:1:-:spawn into a group + join, 8 children per join (per child)" \
    "group1:1:-:spawn into a group + join, one child per join (per child)" \
    "queue:1:floor-mailbox:queue hand-off, capacity 1 (per item)" \
    "queue-idle:1:floor-mailbox-idle:the same, 100 other tasks waiting (floor: 100 polling)" \
    "choose:1:floor-mailbox:the same, consumer in a 2-clause MT_CHOOSE (per item)" \
    "event:2:floor-flag:event set/wait ping-pong (per wake-up)" \
    "sem:2:floor-flag:semaphore signal/wait ping-pong (per wake-up)" \
    "sleep:2:-:sleep on a virtual clock (per sleep)" \
    "ring:1:-:event wake-ups round a ring of 100 tasks (per wake-up)" \
    "idle:1:-:the same, each wait with a 30000-tick timeout (per wake-up)" \
    "idle100:1:-:the same, each wait with a 100-tick timeout (per wake-up)"; do
    IFS=: read -r op per fl what <<<"$spec"
    [ "$only" = "  " ] || [[ $only == *" $op "* ]] || continue
    v=$(ir_per "$op" "$per")
    if [ "$fl" = - ]; then
        echo "| $what | $v | - | - |"
        continue
    fi
    [ -n "${floor_ir[$fl]:-}" ] || floor_ir[$fl]=$(ir_per "$fl" "$per")
    if [ "$v" = - ] || [ "${floor_ir[$fl]}" = - ]; then
        echo "| $what | $v | ${floor_ir[$fl]} ($fl) | - |"
        continue
    fi
    awk -v v="$v" -v f="${floor_ir[$fl]}" -v w="$what" -v fl="$fl" \
        'BEGIN { printf "| %s | %s | %s (%s) | %.2f |\n", w, v, f, fl, v / f }'
done
