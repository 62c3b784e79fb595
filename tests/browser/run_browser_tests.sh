#!/usr/bin/env bash
# Browser test of the figures (issues 8 and 18): runs every analysis that draws figures on the
# bundled data (LDA of the role example: components, eigenvalues, PCA cosine; PCA of the day set:
# 3-D scatter, explained variance; capture + GED with the tiny GPT-2, RSA, t-SNE (2-D and 3-D),
# DBSCAN and cluster on the seed's 20 words, a tiny RRXOR model's training loss, beliefs (simplex,
# R^2 per layer) and steering), then opens each figure page in headless Chromium
# (actlens_browser_check: no console errors, rendered SVG/WebGL with the spec's traces and
# points, the counts and 3-D traces below from the data, no title/tick label cut off by the
# figure's edge, no labels on top of each other, 3-D scenes in view, a screenshot that is not
# blank). Screenshots land in OUT/screenshots.
#   run_browser_tests.sh ACTLENS BROWSER_CHECK CHROMEDRIVER OUT
set -euo pipefail
actlens="$1" check="$2" driver="$3" out="$4"
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../data"
ref="$here/../reference"
rm -rf "$out" && mkdir -p "$out/runs"
r="$out/runs"
run() { "$actlens" -q "$@"; }

run lda --data "$data/roles_example" --layer 22 -k 10 --out "$r/lda"
run pca --activations "$ref/pca/l2_seed/X.npy" --labels "$ref/pca/l2_seed/labels.csv" --out "$r/pca"
run capture --model "$data/models/tiny" --input "$data/him_her/sentences.csv" \
  --hooks 'blocks.*.mlp.hook_pre' --aggregate token:him,her --out "$r/capture"
run capture --model "$data/models/tiny" --input "$data/him_her/test_sentences.csv" \
  --hooks 'blocks.*.mlp.hook_pre' --aggregate token:him,her --out "$r/capture_test"
run ged --activations "$r/capture" --test "$r/capture_test" --out "$r/ged"
emb="$data/embeddings"
run rsa "$emb/small50.txt" "$emb/small300.txt" --words "$emb/seed_words.txt" \
  --groups "$emb/seed_groups.csv" --permutations 100 --plotly file --out "$r/rsa"
run cluster "$emb/small50.txt" "$emb/small300.txt" --words "$emb/seed_words.txt" --out "$r/cluster"
run tsne "$emb/small50.txt" --words "$emb/seed_words.txt" --normalize l2 --perplexity 5 --out "$r/tsne"
run dbscan "$r/tsne" --eps 20 --min-samples 3 --out "$r/dbscan"
# 3-D: t-SNE to 3 dimensions, DBSCAN of those 3 columns, and cluster doing both (its 3-D spread
# needs a wider eps for clusters, noise, links and centroids all to be drawn)
run tsne "$emb/small50.txt" --words "$emb/seed_words.txt" --normalize l2 --perplexity 5 --dims 3 \
  --out "$r/tsne3d"
run dbscan "$r/tsne3d" --eps 120 --min-samples 2 --out "$r/dbscan3d"
run cluster "$emb/small50.txt" --words "$emb/seed_words.txt" --dims 3 --eps 120 --min-samples 2 \
  --out "$r/cluster3d"
run train --process rrxor --n-layers 2 --d-model 16 --n-heads 2 --d-head 8 --d-mlp 32 \
  --steps 40 --batch-size 16 --eval-every 20 --threads 1 --out "$r/train"
run beliefs --model "$r/train" --threads 1 --out "$r/beliefs"
run steer --model "$r/train" --from T --to F --multipliers 1,2 --threads 1 --out "$r/steer"
# `actlens report` re-draws a run (here the PCA one, into a copy) with the same pages
cp -r "$r/pca" "$r/pca_redrawn" && rm -rf "$r/pca_redrawn/figures" "$r/pca_redrawn/index.html"
run report "$r/pca_redrawn"

# Counts the pages must show, from the data rather than from the pages:
rows() { echo $(($(wc -l < "$1") - 1)); }
n_pca=$(rows "$ref/pca/l2_seed/labels.csv")
n_words=$(grep -c . "$emb/seed_words.txt")
n_pairs=$((n_words * (n_words - 1) / 2))
n_roles=$(rows "$r/lda/layer22/role_projections.csv")
n_layers=$(rows "$r/ged/ged_layers.csv")
cat > "$out/expect.txt" <<EXPECT
$r/pca/figures/scatter_3d.html 1 $n_pca
$r/pca_redrawn/figures/scatter_3d.html 1 $n_pca
$r/rsa/figures/rsa_scatter.html 1 $n_pairs
$r/rsa/figures/within_between.html 8 $((2 * n_pairs))
$r/rsa/figures/cosine_matrices.html 2 2
$r/lda/layer22/../figures/layer22_component_1.html 4 $((2 * n_roles))
$r/tsne/figures/embedding.html 1 $n_words
$r/ged/figures/t_and_r.html 5 $((5 * n_layers))
$r/steer/figures/steering.html 4 16
$r/tsne3d/figures/embedding.html 1 $n_words scatter3d
$r/cluster3d/figures/small50_clusters.html -1 -1 scatter3d
$r/dbscan3d/figures/clusters.html -1 -1 scatter3d
EXPECT
for f in "$r"/*/index.html; do
  grep -q 'href="figures/' "$f" || { echo "no figure links in $f"; exit 1; }
done
pages=("$r"/*/figures/*.html)
echo "${#pages[@]} figure pages"
"$check" --driver "$driver" --screenshots "$out/screenshots" --expect "$out/expect.txt" "${pages[@]}"
