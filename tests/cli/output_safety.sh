#!/usr/bin/env bash
# What --out may replace, and what a run leaves behind when it fails or is interrupted.
#   output_safety.sh SCENARIO WORK EXAMPLE
# $ACTLENS is the binary; EXAMPLE the bundled role-activation folder (tests/data/roles_example).
# Every scenario prints "ok: ..." and exits 0, or prints "FAIL: ..." and exits 1.
set -uo pipefail
scenario="$1"; work="$2/$1"; example="$3"
rm -rf "$work"; mkdir -p "$work"; cd "$work" || exit 1

fail() { echo "FAIL: $*"; [ -f err ] && { echo "--- stderr:"; cat err; }; exit 1; }
run() { "$ACTLENS" "$@" >out 2>err; }
lda() { run lda --data "$example" --layer 22 --no-figures "$@"; }
one_error_line() {
  [ "$(grep -c 'error:' err)" = 1 ] || fail "expected exactly one error line"
  tail -n 1 err | grep -q 'error:' || fail "the error is not the last stderr line"
  grep -Eq "Assertion|terminate called|Aborted|stack trace|Segmentation" err && fail "abort-like message"
  true
}
no_leftovers() {  # no staging, old or lock entries beside $1
  local name; name="$(basename "$1")"
  local left; left="$(ls -A "$(dirname "$1")" | grep -E "^\.$name\.(tmp|old)-|^\.$name\.lock$" || true)"
  [ -z "$left" ] || fail "left behind: $left"
}
fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }

case "$scenario" in
foreign_file)  # a file actlens did not write, beside an earlier result: refused, nothing replaced
  lda --out res || fail "first run: exit $?"
  echo precious > res/notes.txt
  before="$(fingerprint res)"
  lda --out res; rc=$?
  [ $rc = 2 ] || fail "exit $rc, expected 2"
  one_error_line
  grep -q "holds notes.txt .*did not write" err || fail "message does not name notes.txt"
  [ "$(fingerprint res)" = "$before" ] || fail "the folder changed"
  no_leftovers res
  ;;
old_run_json)  # the issue's example: a run.json (not ours) and a precious file
  mkdir d; echo '{}' > d/run.json; echo precious > d/notes.txt
  lda --out d; rc=$?
  [ $rc = 2 ] || fail "exit $rc, expected 2"
  one_error_line
  [ "$(cat d/notes.txt)" = precious ] || fail "notes.txt is gone"
  no_leftovers d
  ;;
replace_own)  # our own earlier result is replaced, also after `actlens report` re-drew figures
  run lda --data "$example" --layer 22 --out res || fail "first run: exit $?"
  [ -f res/.actlens.json ] || fail "no marker"
  run report res || fail "report: exit $?"
  lda --out res || fail "second run: exit $?"
  [ ! -e res/index.html ] || fail "old figures survived the replacement"
  no_leftovers res
  ;;
out_is_input)  # an input folder given as --out
  lda --out res || fail "first run: exit $?"
  cp -r "$example" data
  before="$(fingerprint data)"
  run lda --data data --layer 22 --out data; rc=$?
  [ $rc = 2 ] || fail "exit $rc, expected 2"
  one_error_line
  grep -q "is an input of this run" err || fail "message"
  [ "$(fingerprint data)" = "$before" ] || fail "the input changed"
  run lda --data data --layer 22 --out data/sub; rc=$?
  [ $rc = 2 ] || fail "inside: exit $rc, expected 2"
  grep -q "lies inside .*an input of this run" err || fail "inside: message"
  [ "$(fingerprint data)" = "$before" ] || fail "inside: the input folder changed"
  run lda --data data --layer 22 --out "$work"; rc=$?
  [ $rc = 2 ] || fail "holds: exit $rc, expected 2"
  grep -q "holds .*data, an input of this run" err || fail "holds: message"
  ;;
dbscan_on_itself)  # dbscan reading a t-SNE result must not replace it
  run tsne "$(dirname "$(dirname "$example")")/reference/tsne/seed/X.npy" --perplexity 5 --no-figures --out t ||
    fail "tsne: exit $?"
  before="$(fingerprint t)"
  run dbscan t --eps 5 --no-figures --out t; rc=$?
  [ $rc = 2 ] || fail "exit $rc, expected 2"
  one_error_line
  [ "$(fingerprint t)" = "$before" ] || fail "the t-SNE result changed"
  ;;
lock_held)  # another run holds --out: say so, touch nothing
  lda --out res || fail "first run: exit $?"
  before="$(fingerprint res)"
  flock -n .res.lock sleep 5 &
  holder=$!
  sleep 0.5
  lda --out res; rc=$?
  kill $holder 2>/dev/null; wait $holder 2>/dev/null
  [ $rc = 2 ] || fail "exit $rc, expected 2"
  one_error_line
  grep -q "another actlens run.* is writing this folder" err || fail "message"
  [ "$(fingerprint res)" = "$before" ] || fail "the folder changed"
  ;;
signals)  # SIGINT/SIGTERM at every phase: exit 130, the old result intact, nothing left
  lda --out res || fail "first run: exit $?"
  before="$(fingerprint res)"
  for point in open accumulate solve write figures commit accumulate:TERM commit:TERM; do
    ACTLENS_TEST_SIGNAL=$point run lda --data "$example" --layer 22 --out res; rc=$?
    [ $rc = 130 ] || fail "$point: exit $rc, expected 130"
    one_error_line
    grep -q "interrupted; nothing was written" err || fail "$point: message"
    [ "$(fingerprint res)" = "$before" ] || fail "$point: the old result changed"
    no_leftovers res
  done
  ;;
leftovers)  # staging folders of killed runs are removed; a hidden old result is put back
  lda --out res || fail "first run: exit $?"
  mkdir -p .res.tmp-999999999/x .res.old-999999998
  lda --out res || fail "second run: exit $?"
  no_leftovers res
  before="$(fingerprint res)"
  mv res .res.old-999999997  # killed between the two renames of commit: no res
  run lda --data "$example" --layer 99 --out res  # any later run to res puts it back...
  [ -d res ] && fail "restored by a run that failed before it took the lock"
  lda --out res || fail "third run: exit $?"
  grep -q "restored the earlier results" err || fail "no 'restored' message"
  no_leftovers res
  ;;
trailing_slash)
  lda --out res/ || fail "exit $?"
  [ -f res/run.json ] || fail "no res/run.json"
  no_leftovers res
  lda --out res/ || fail "second run: exit $?"
  ;;
*)
  fail "unknown scenario $scenario"
  ;;
esac
echo "ok: $scenario"
