#!/usr/bin/env bash
# The capture output folder as a cache: a second identical run recomputes nothing, a new hook is
# added without recomputing the others, --force recomputes, an interrupted run resumes from its
# saved shards and ends with the same bytes as an uninterrupted run.
#   capture_cache.sh MODEL_DIR TEXTS_CSV WORKDIR      (ACTLENS = the binary)
set -euo pipefail
model="$1"; texts="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
run() { "$ACTLENS" capture --model "$model" "$@" 2>"$work/log" || { cat "$work/log"; fail "exit $?: $*"; }; }

run --input "$texts" --hooks blocks.0.hook_resid_post --out "$work/c"
[ -f "$work/c/blocks.0.hook_resid_post.safetensors" ] || fail "no output"
run --input "$texts" --hooks blocks.0.hook_resid_post --out "$work/c"
grep -q "up to date" "$work/log" || fail "second run was not a cache hit: $(cat "$work/log")"
# --batch-size is not part of the key (it changes results only by float32 rounding): the log says
# so rather than calling the options "the same".
run --input "$texts" --hooks blocks.0.hook_resid_post --batch-size 3 --out "$work/c"
grep -q "up to date" "$work/log" || fail "--batch-size recomputed: $(cat "$work/log")"
grep -q "batch-size, --shard-size and --threads change results only by float32 rounding and are ignored for the cache key" "$work/log" \
  || fail "no word on --batch-size being ignored: $(cat "$work/log")"
run --input "$texts" --hooks blocks.0.hook_resid_post,hook_final --out "$work/c"
grep -q "1 of 2 hook(s) reused" "$work/log" || fail "added hook: $(cat "$work/log")"
[ -f "$work/c/hook_final.safetensors" ] || fail "hook_final not written"
run --input "$texts" --hooks blocks.0.hook_resid_post --aggregate mean --out "$work/c"
grep -q "reused\|up to date" "$work/log" && fail "changed options must recompute: $(cat "$work/log")"
run --input "$texts" --hooks blocks.0.hook_resid_post --aggregate mean --out "$work/c" --force
grep -q "wrote 1 hook file" "$work/log" || fail "--force did not recompute"
[ ! -e "$work/c/hook_final.safetensors" ] || fail "stale hook_final (other options) left next to new results"

# Resume: many copies of the texts, one shard per 8 texts, Ctrl-C once two shards are saved.
python_free_copy() { head -n 1 "$texts"; for _ in $(seq 300); do tail -n +2 "$texts"; done; }
python_free_copy > "$work/many.csv"
run --input "$work/many.csv" --hooks blocks.0.hook_resid_post --shard-size 8 --batch-size 8 --threads 1 --out "$work/full"
"$ACTLENS" capture --model "$model" --input "$work/many.csv" --hooks blocks.0.hook_resid_post \
  --shard-size 8 --batch-size 8 --threads 1 --out "$work/resumed" 2>"$work/log1" &
pid=$!
for _ in $(seq 600); do
  n=$(ls "$work"/resumed/.partial-*/shard-*.safetensors 2>/dev/null | wc -l || true)
  [ "$n" -ge 2 ] && break
  sleep 0.05
done
kill -INT "$pid" 2>/dev/null || true
set +e; wait "$pid"; code=$?; set -e
if [ "$code" = 130 ]; then
  grep -q "run the same command again to resume" "$work/log1" || fail "no resume hint: $(cat "$work/log1")"
  [ ! -f "$work/resumed/run.json" ] || fail "run.json written by an interrupted run"
  # Another --shard-size must not take the saved shards (shard i would be other texts).
  cp -r "$work/resumed" "$work/reshard"
  run --input "$work/many.csv" --hooks blocks.0.hook_resid_post --shard-size 5 --batch-size 8 --threads 1 --out "$work/reshard"
  grep -q "resumed:" "$work/log" && fail "shards of --shard-size 8 reused by --shard-size 5: $(cat "$work/log")"
  run --input "$work/many.csv" --hooks blocks.0.hook_resid_post --shard-size 8 --batch-size 8 --threads 1 --out "$work/resumed"
  grep -q "resumed:" "$work/log" || fail "did not resume: $(cat "$work/log")"
else
  [ "$code" = 0 ] || fail "interrupted run exited $code: $(cat "$work/log1")"
  echo "note: the run finished before the interrupt; resume not exercised this time"
fi
cmp "$work/full/blocks.0.hook_resid_post.safetensors" "$work/resumed/blocks.0.hook_resid_post.safetensors" \
  || fail "resumed output differs from an uninterrupted run"
ls -a "$work/resumed" | grep -q '^\.partial-' && fail "partial shards left after completion"
echo "ok: cache hit, added hook, --force, resume"
