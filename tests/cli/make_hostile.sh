#!/usr/bin/env bash
# Builds the hostile inputs of tests/cli/hostile_tests.cmake (CTest fixture): FIFOs (made here,
# never committed), links to devices, JSON/TOML nested 100k deep, score files and GPT-2 configs
# with values of the wrong type, a folder with 100k entries.
#   make_hostile.sh ROLES_DATASET MODELS_DIR WORKDIR
set -euo pipefail
roles="$1"; models="$2"; w="$3"
rm -rf "$w"; mkdir -p "$w"

# --- not regular files: FIFOs (open() of one used to block forever), devices, folders
mkfifo "$w/fifo.json" "$w/fifo.toml" "$w/fifo.csv" "$w/fifo.txt" "$w/fifo.jsonl" "$w/fifo.vec"
ln -s /dev/zero "$w/zero.json"
ln -s /dev/zero "$w/zero.csv"
ln -s /dev/urandom "$w/urandom.txt"
ln -s /dev/urandom "$w/urandom.jsonl"
mkdir -p "$w/folder.toml" "$w/folder.csv" "$w/folder.txt"

# --- nested 100k deep (parsed recursively, this overflowed the stack)
deep() { head -c 100000 /dev/zero | tr '\0' "$1"; }
{ printf '{"a": '; deep '['; } > "$w/deep_config.json"
{ printf 'a = '; deep '['; } > "$w/deep_config.toml"
deep '[' > "$w/deep.json"
{ printf '{"transitions": '; deep '['; } > "$w/deep_process.json"

# --- role datasets whose nurse.json holds one bad score (the activations are linked, not copied)
scores() {  # scores NAME VALUE
  local d="$w/scores_$1"
  mkdir -p "$d"
  ln -s "$roles/response_activations" "$d/response_activations"
  cp -r "$roles/extract_scores" "$d/extract_scores"
  sed -i "s/\"pos_p0_q3\": 3/\"pos_p0_q3\": $2/" "$d/extract_scores/nurse.json"
}
scores refusal_lower '"refusal"'
scores float_whole 2.0
scores float 2.5
scores bool true
scores null null
scores too_big 4
scores negative -1
scores wraps 4294967298
scores huge_float 1e30
scores object '{"a": 1}'
scores array '[3]'
# score files that are not regular files or nest too deep
for kind in fifo zero folder deep; do
  d="$w/scores_$kind"
  mkdir -p "$d"
  ln -s "$roles/response_activations" "$d/response_activations"
  cp -r "$roles/extract_scores" "$d/extract_scores"
  rm "$d/extract_scores/nurse.json"
done
mkfifo "$w/scores_fifo/extract_scores/nurse.json"
ln -s /dev/zero "$w/scores_zero/extract_scores/nurse.json"
mkdir "$w/scores_folder/extract_scores/nurse.json"
cp "$w/deep.json" "$w/scores_deep/extract_scores/nurse.json"

# --- GPT-2 folders with a config.json value of the wrong type, or a config that does not fit
# the weights
gpt2() {  # gpt2 NAME SED-EXPRESSION
  local d="$w/gpt2_$1"
  mkdir -p "$d"
  cp "$models/tiny/"* "$d/"
  sed -i "$2" "$d/config.json"
  grep -q . "$d/config.json"
}
gpt2 n_embd_string 's/"n_embd": 64/"n_embd": "64"/'
gpt2 eps_string 's/"layer_norm_epsilon": 1e-05/"layer_norm_epsilon": "1e-05"/'
gpt2 act_number 's/"activation_function": "gelu_new"/"activation_function": 7/'
gpt2 vocab_mismatch 's/"vocab_size": 500/"vocab_size": 400/'
gpt2 n_embd_mismatch 's/"n_embd": 64/"n_embd": 32/'
gpt2 deep_config "s/\"n_head\": 4/\"n_head\": 4, \"x\": $(head -c 600 /dev/zero | tr '\0' '[')/"
mkdir -p "$w/gpt2_config_fifo"
cp "$models/tiny/"* "$w/gpt2_config_fifo/"
rm "$w/gpt2_config_fifo/config.json"
mkfifo "$w/gpt2_config_fifo/config.json"

# --- a results folder whose run.json nests 100k deep (`actlens compare` segfaulted on it)
mkdir -p "$w/run_deep" "$w/run_ok"
cp "$w/deep.json" "$w/run_deep/run.json"
printf '{"command": "lda"}\n' > "$w/run_ok/run.json"

# --- a folder with 100k entries, none of them an activation file
mkdir -p "$w/many/response_activations" "$w/many/extract_scores" "$w/many_npy"
(cd "$w/many/response_activations" && seq -f 'x%06g.txt' 1 100000 | xargs touch)
(cd "$w/many_npy" && seq -f 'x%06g.bin' 1 100000 | xargs touch)
# and 100k role files without score files: the first one fails, at once
mkdir -p "$w/many_pt/response_activations" "$w/many_pt/extract_scores"
(cd "$w/many_pt/response_activations" && seq -f 'r%06g.pt' 1 100000 | xargs touch)

touch "$w/.ready"
