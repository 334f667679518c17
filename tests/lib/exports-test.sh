#!/usr/bin/env bash
# exports-test.sh SHARED STATIC: the libraries define no global symbol
# outside the phc_* API (the solver's names stay inside).
set -euo pipefail
so=$1 a=$2
fail=0
for lib in "$so" "$a"; do
  if [ "$lib" = "$so" ]; then syms=$(nm -D --defined-only "$lib"); else syms=$(nm --defined-only "$lib"); fi
  bad=$(awk 'NF >= 3 && $2 ~ /^[A-Z]$/ && $2 != "U" && $3 !~ /^phc_/ {print $3}' <<<"$syms" \
        | grep -v -E '^(_init|_fini|__bss_start|_edata|_end)$' || true)
  api=$(awk 'NF >= 3 && $2 ~ /^[A-Z]$/ && $3 ~ /^phc_/' <<<"$syms" | wc -l)
  if [ -n "$bad" ]; then echo "exports-test: $lib exports: $bad" >&2; fail=1; fi
  if [ "$api" -lt 10 ]; then echo "exports-test: $lib: only $api phc_* symbols" >&2; fail=1; fi
done
exit $fail
