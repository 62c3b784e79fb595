#!/usr/bin/env bash
# Builds broken copies of the example role dataset for the CLI error tests (CTest fixture).
#   make_broken.sh SRC_DATASET BAD_FIXTURES WORKDIR
set -euo pipefail
src="$1"; bad="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
copy() { cp -r "$src" "$work/$1"; }

mkdir -p "$work/no_pt/response_activations" "$work/no_pt/extract_scores"

copy missing_score;  rm "$work/missing_score/extract_scores/pirate.json"

copy key_mismatch    # drop one scored key: the activation 'pos_p0_q0' then has no score
sed -i '/"pos_p0_q0"/d' "$work/key_mismatch/extract_scores/chef.json"

copy truncated;      f="$work/truncated/response_activations/poet.pt"
truncate -s $(( $(stat -c %s "$f") / 2 )) "$f"

copy corrupt;        f="$work/corrupt/response_activations/wizard.pt"
head -c 4096 /dev/urandom > "$f"

copy malicious;      cp "$bad/malicious.pt" "$work/malicious/response_activations/judge.pt"
copy legacy;         cp "$bad/legacy.pt" "$work/legacy/response_activations/judge.pt"
copy badjson;        echo '{"pos_p0_q0": 3,' > "$work/badjson/extract_scores/nurse.json"
touch "$work/.ready"
