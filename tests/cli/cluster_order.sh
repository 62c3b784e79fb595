#!/usr/bin/env bash
# `actlens cluster A B` keeps the order given (issue 18): listing, cluster.json's keys, run.json's
# summary and the figure links on index.html all name A before B, in both orders, so no sort by
# folder name (small300 before small50) passes.
#   cluster_order.sh ACTLENS EMBEDDINGS_DIR OUT
set -euo pipefail
actlens="$1" emb="$2" out="$3"
rm -rf "$out"
first() {  # which of the two names comes first in a file
  local file="$1" a="$2" b="$3" ia ib
  ia=$(grep -bo -- "$a" "$file" | head -1 | cut -d: -f1)
  ib=$(grep -bo -- "$b" "$file" | head -1 | cut -d: -f1)
  [ -n "$ia" ] && [ -n "$ib" ] || { echo "FAIL: $file does not name both $a and $b"; exit 1; }
  [ "$ia" -lt "$ib" ] && echo "$a" || echo "$b"
}
for order in "small50 small300" "small300 small50"; do
  set -- $order
  dir="$out/$1_$2"
  "$actlens" -q cluster "$emb/$1.txt" "$emb/$2.txt" --words "$emb/seed_words.txt" \
    --out "$dir" > /dev/null
  for f in listing.txt cluster.json run.json index.html; do
    got=$(first "$dir/$f" "\"$1\"\\|Clusters in $1:\\|figures/$1_" \
                          "\"$2\"\\|Clusters in $2:\\|figures/$2_")
    case "$got" in
      *"$1"*) echo "ok: $f names $1 first" ;;
      *) echo "FAIL: $f names $2 before $1 (given: $1 $2)"; exit 1 ;;
    esac
  done
done
