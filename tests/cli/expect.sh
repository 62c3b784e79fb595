#!/usr/bin/env bash
# Runs one actlens command and checks how it ended.
#   expect.sh EXIT REGEX OUTDIR -- actlens-args...
# EXIT: expected exit code. REGEX: extended regex the LAST stderr line (or stdout line when
# stderr is empty) must match (for failures,
# stderr must be exactly one line). OUTDIR: a folder that must exist afterwards when EXIT is 0 and
# must NOT exist (no partial output, no staging leftovers) otherwise; "-" to skip.
# A failure must print exactly one 'error:' line (after any log lines) and no abort or trace.
set -uo pipefail
want="$1"; regex="$2"; outdir="$3"; shift 3
[ "$1" = "--" ] && shift
err="$(mktemp)"; out="$(mktemp)"
"$ACTLENS" "$@" >"$out" 2>"$err"
got=$?
lines=$(grep -c '' "$err" || true)
last="$(tail -n 1 "$err")"
# commands that report on stdout (--version, compare): match their last line instead
[ -z "$last" ] && last="$(tail -n 1 "$out")"
fail() { echo "FAIL: $*"; echo "--- command: $ACTLENS $*"; echo "--- stderr:"; cat "$err"; rm -f "$err" "$out"; exit 1; }
[ "$got" = "$want" ] || fail "exit code $got, expected $want"
if [ "$want" != 0 ] && [ "$lines" != 0 ]; then
  # log lines may come first; the failure itself is exactly one line, and the last one
  errors=$(grep -c 'error:' "$err" || true)
  [ "$errors" = 1 ] || fail "stderr has $errors error lines, expected exactly one"
  echo "$last" | grep -q 'error:' || fail "the error is not the last stderr line"
  grep -Eq "Assertion|terminate called|Aborted|stack trace|Segmentation" "$err" && fail "abort-like message"
fi
echo "$last" | grep -Eq -- "$regex" || fail "last stderr line does not match /$regex/"
if [ "$outdir" != "-" ]; then
  if [ "$want" = 0 ]; then
    [ -d "$outdir" ] || fail "output folder $outdir missing"
  else
    [ ! -e "$outdir" ] || fail "partial output left in $outdir"
    ls -a "$(dirname "$outdir")" | grep -q "^\.$(basename "$outdir")\.tmp-" && fail "staging folder left behind"
  fi
fi
rm -f "$err" "$out"
echo "ok: exit $got, '$last'"
