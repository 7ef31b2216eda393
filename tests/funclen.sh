#!/bin/sh
# No function of the library longer than 60 lines (its body, braces
# included), so each reads at once. Prints the longest few; fails on any
# over the limit.
set -eu
cd "$(dirname "$0")/.."
limit=${1:-60}
awk -v limit="$limit" '
    /^\{$/ { start = NR; name = prev; next }
    /^\}/ && start { n = NR - start + 1; print n "\t" name; start = 0 }
    NF { prev = $0 }
' multitask.c | sort -rn > "${TMPDIR:-/tmp}/mt_funclen.$$"
over=$(awk -F'\t' -v limit="$limit" '$1 > limit' "${TMPDIR:-/tmp}/mt_funclen.$$")
echo "longest functions of multitask.c (lines):"
head -n 3 "${TMPDIR:-/tmp}/mt_funclen.$$" | sed 's/^/  /'
rm -f "${TMPDIR:-/tmp}/mt_funclen.$$"
if [ -n "$over" ]; then
    echo "FAIL: over $limit lines:"; echo "$over" | sed 's/^/  /'; exit 1
fi
echo "ok   every function of multitask.c is at most $limit lines"
