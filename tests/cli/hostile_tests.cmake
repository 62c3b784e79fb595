# CLI tests on hostile text inputs ("Trust on any machine"): FIFOs, devices and folders where a
# file is expected, JSON/TOML nested 100k deep, score files and GPT-2 configs with values of the
# wrong type, absurd --threads/--permutations, unknown commands, control characters in names,
# folders with 100k entries. Each must end with exit 1 or 2, ONE error line naming the
# file/key/flag, nothing written, within 10 s (TIMEOUT: a FIFO used to block forever).
# The inputs are made at test time by make_hostile.sh (FIFOs are never committed).
set(HW ${WORK}/hostile)
set(HO ${O}/hostile)
set(HROLES ${CMAKE_CURRENT_SOURCE_DIR}/data/roles_example)
set(HMODELS ${CMAKE_CURRENT_SOURCE_DIR}/data/models)
set(HX ${CMAKE_CURRENT_SOURCE_DIR}/reference/lda/dense_standard/X.npy)
set(HTEXTS ${CMAKE_CURRENT_SOURCE_DIR}/data/capture/texts.csv)

add_test(NAME cli.hostile_setup COMMAND ${CLI_DIR}/make_hostile.sh ${HROLES} ${HMODELS} ${HW})
set_tests_properties(cli.hostile_setup PROPERTIES FIXTURES_SETUP hostile_data TIMEOUT 120)

function(hostile_test name)
  actlens_cli_test(${name} ${ARGN})
  # 10 s is the promise (release runs take well under 1 s each); 30 s of slack for the ASan
  # build on a loaded CI machine. A hang (a FIFO read) still fails.
  set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED "cli_data;hostile_data" TIMEOUT 30)
endfunction()

# --- 1. not regular files: one line, never a hang
hostile_test(hostile_config_fifo_toml 2 "--config .*fifo\\.toml: not a regular file \\(it is a pipe\\)" ${HO}/c1 -- lda --config ${HW}/fifo.toml --data ${HROLES} --layer 22 --out ${HO}/c1)
hostile_test(hostile_config_fifo_json 2 "--config .*fifo\\.json: not a regular file \\(it is a pipe\\)" ${HO}/c2 -- pca --config ${HW}/fifo.json --activations ${HX} --out ${HO}/c2)
hostile_test(hostile_config_dev_zero 2 "--config .*zero\\.json: not a regular file \\(it is a device\\)" ${HO}/c3 -- lda --config ${HW}/zero.json --data ${HROLES} --layer 22 --out ${HO}/c3)
hostile_test(hostile_config_folder 2 "--config .*folder\\.toml: is a folder, give a TOML or JSON file" ${HO}/c4 -- lda --config ${HW}/folder.toml --data ${HROLES} --layer 22 --out ${HO}/c4)
hostile_test(hostile_config_deep_json 2 "--config .*deep_config\\.json: nested deeper than 512 levels at line 1" ${HO}/c5 -- lda --config ${HW}/deep_config.json --data ${HROLES} --layer 22 --out ${HO}/c5)
hostile_test(hostile_config_deep_toml 2 "--config .*deep_config\\.toml: nested deeper than 512 levels at line 1" ${HO}/c6 -- lda --config ${HW}/deep_config.toml --data ${HROLES} --layer 22 --out ${HO}/c6)
hostile_test(hostile_score_fifo 1 "nurse\\.json: not a regular file \\(it is a pipe\\). give the path of a score file" ${HO}/s1 -- lda --data ${HW}/scores_fifo --layer 22 --out ${HO}/s1)
hostile_test(hostile_score_dev_zero 1 "nurse\\.json: not a regular file \\(it is a device\\)" ${HO}/s2 -- lda --data ${HW}/scores_zero --layer 22 --out ${HO}/s2)
hostile_test(hostile_score_folder 1 "nurse\\.json: not a regular file \\(it is a folder\\)" ${HO}/s3 -- lda --data ${HW}/scores_folder --layer 22 --out ${HO}/s3)
hostile_test(hostile_score_deep 1 "nurse\\.json: nested deeper than 512 levels at line 1" ${HO}/s4 -- lda --data ${HW}/scores_deep --layer 22 --out ${HO}/s4)
# nlohmann's "[json.exception.parse_error.101]" never reaches the user
hostile_test(hostile_json_plain_words 1 "nurse\\.json: not valid JSON at line [0-9]+, column [0-9]+: [^][]*$" ${HO}/s5 -- lda --data ${WORK}/broken/badjson --layer 22 --out ${HO}/s5)
hostile_test(hostile_compare_deep 1 "run\\.json: nested deeper than 512 levels" - -- compare ${HW}/run_deep ${HW}/run_ok)
hostile_test(hostile_report_deep 1 "run\\.json: nested deeper than 512 levels" - -- report ${HW}/run_deep)
hostile_test(hostile_process_deep 1 "deep_process\\.json: nested deeper than 512 levels" - -- process info --process-file ${HW}/deep_process.json)
hostile_test(hostile_corpus_fifo_jsonl 1 "fifo\\.jsonl: not a regular file \\(it is a pipe\\)" ${HO}/t1.csv -- corpus filter --input ${HW}/fifo.jsonl --keywords monday --out ${HO}/t1.csv)
hostile_test(hostile_corpus_fifo_csv 1 "fifo\\.csv: not a regular file \\(it is a pipe\\)" ${HO}/t2.csv -- corpus filter --input ${HW}/fifo.csv --keywords monday --out ${HO}/t2.csv)
hostile_test(hostile_corpus_urandom 1 "urandom\\.jsonl: not a regular file \\(it is a device\\)" ${HO}/t3.csv -- corpus filter --input ${HW}/urandom.jsonl --keywords monday --out ${HO}/t3.csv)
hostile_test(hostile_corpus_folder 1 "folder\\.csv: not a regular file \\(it is a folder\\)" ${HO}/t4.csv -- corpus filter --input ${HW}/folder.csv --keywords monday --out ${HO}/t4.csv)
hostile_test(hostile_labels_fifo 1 "fifo\\.txt: not a regular file \\(it is a pipe\\)" ${HO}/l1 -- pca --activations ${HX} --labels ${HW}/fifo.txt --out ${HO}/l1)
hostile_test(hostile_labels_urandom 1 "urandom\\.txt: not a regular file \\(it is a device\\)" ${HO}/l2 -- pca --activations ${HX} --labels ${HW}/urandom.txt --out ${HO}/l2)
hostile_test(hostile_labels_csv_dev_zero 1 "zero\\.csv: not a regular file \\(it is a device\\)" ${HO}/l3 -- pca --activations ${HX} --labels ${HW}/zero.csv --out ${HO}/l3)
hostile_test(hostile_embeddings_fifo 1 "fifo\\.vec: not a regular file \\(it is a pipe\\)" ${HO}/m1 -- tsne ${HW}/fifo.vec --words a,b,c --perplexity 1 --out ${HO}/m1)
hostile_test(hostile_model_config_fifo 1 "config\\.json: not a regular file \\(it is a pipe\\)" ${HO}/m2 -- capture --model ${HW}/gpt2_config_fifo --input ${HTEXTS} --out ${HO}/m2)

# --- 2. score files: JSON integers 0..3 or "REFUSAL", nothing else
set(_score_msg "nurse\\.json: key 'pos_p0_q3': score must be an integer 0\\.\\.3 or \"REFUSAL\", got")
foreach(case_got
        "refusal_lower|\"refusal\"" "float_whole|2\\.0" "float|2\\.5" "bool|true" "null|null"
        "too_big|4" "negative|-1" "wraps|4294967298" "huge_float|1e\\+30" "object|a JSON object"
        "array|a JSON array")
  string(REPLACE "|" ";" _pair "${case_got}")
  list(GET _pair 0 _case)
  list(GET _pair 1 _got)
  hostile_test(hostile_score_${_case} 1 "${_score_msg} ${_got}. fix the score file$" ${HO}/sc_${_case} -- lda --data ${HW}/scores_${_case} --layer 22 --out ${HO}/sc_${_case})
endforeach()

# --- 3. GPT-2 config.json: wrong types name the key; a wte that does not fit the config
hostile_test(hostile_gpt2_n_embd_string 1 "config\\.json: key 'n_embd' must be an integer 0\\.\\.[0-9]+, got \"64\"" ${HO}/g1 -- capture --model ${HW}/gpt2_n_embd_string --input ${HTEXTS} --out ${HO}/g1)
hostile_test(hostile_gpt2_eps_string 1 "config\\.json: key 'layer_norm_epsilon' must be a number, got \"1e-05\"" ${HO}/g2 -- capture --model ${HW}/gpt2_eps_string --input ${HTEXTS} --out ${HO}/g2)
hostile_test(hostile_gpt2_act_number 1 "config\\.json: key 'activation_function' must be a string, got 7" ${HO}/g3 -- capture --model ${HW}/gpt2_act_number --input ${HTEXTS} --out ${HO}/g3)
hostile_test(hostile_gpt2_deep_config 1 "config\\.json: nested deeper than 512 levels" ${HO}/g4 -- capture --model ${HW}/gpt2_deep_config --input ${HTEXTS} --out ${HO}/g4)
hostile_test(hostile_wte_vocab_mismatch 1 "model\\.safetensors: wte\\.weight: shape \\[500, 64\\], but .*config\\.json says \\[vocab_size, n_embd\\] = \\[400, 64\\]" ${HO}/g5 -- tsne ${HW}/gpt2_vocab_mismatch --words the,and,of --gpt2-leading-space --perplexity 1 --out ${HO}/g5)
hostile_test(hostile_wte_n_embd_mismatch 1 "wte\\.weight: shape \\[500, 64\\], but .*config\\.json says \\[vocab_size, n_embd\\] = \\[500, 32\\]" ${HO}/g6 -- tsne ${HW}/gpt2_n_embd_mismatch --words the,and,of --gpt2-leading-space --perplexity 1 --out ${HO}/g6)
hostile_test(hostile_wte_n_embd_string 1 "config\\.json: key 'n_embd' must be a positive integer, got \"64\"" ${HO}/g7 -- tsne ${HW}/gpt2_n_embd_string --words the,and,of --gpt2-leading-space --perplexity 1 --out ${HO}/g7)

# --- 4. usage caps, checked while parsing (before any work), in every command
set(_threads_msg "--threads: must be an integer 0\\.\\.1024 \\(0 = all cores\\), got")
hostile_test(hostile_threads_negative 2 "${_threads_msg} '-1'" ${HO}/u1 -- lda --data ${HROLES} --layer 22 --threads=-1 --out ${HO}/u1)
hostile_test(hostile_threads_huge 2 "${_threads_msg} '100000'" ${HO}/u2 -- pca --activations ${HX} --threads 100000 --out ${HO}/u2)
hostile_test(hostile_threads_overflow 2 "${_threads_msg} '99999999999999999999'" ${HO}/u3 -- tsne ${HX} --threads 99999999999999999999 --out ${HO}/u3)
hostile_test(hostile_threads_torch 2 "${_threads_msg} '5000'" ${HO}/u4 -- capture --model ${HMODELS}/tiny --input ${HTEXTS} --threads 5000 --out ${HO}/u4)
file(WRITE ${WORK}/hostile-threads.toml "threads = 4096\n")
hostile_test(hostile_threads_config 2 "${_threads_msg} '4096'" ${HO}/u5 -- lda --config ${WORK}/hostile-threads.toml --data ${HROLES} --layer 22 --out ${HO}/u5)
hostile_test(hostile_permutations_billions 2 "--permutations: must be an integer 0\\.\\.10000000 .*got '5000000000'" ${HO}/u6 -- rsa ${HX} ${HX} --permutations 5000000000 --out ${HO}/u6)

# --- 5. the command word; messages free of library jargon and of control characters
hostile_test(hostile_unknown_command 2 "actlens: error: unknown command 'tokenize'. commands: lda, .*pca, .*compare" - -- tokenize --input x)
hostile_test(hostile_no_command 2 "actlens: error: no command given. commands: lda, " - -- -v)
hostile_test(hostile_missing_value 2 "--layer: needs a value \\(see --help\\)$" - -- lda --data ${HROLES} --layer)
# a newline or carriage return in a name is shown escaped: it cannot fake a second error line
hostile_test(hostile_newline_in_name 1 "nl.nactlens lda: error: fake: no such directory" ${HO}/n1 -- lda --data "${HW}/nl\nactlens lda: error: fake" --layer 22 --out ${HO}/n1)
hostile_test(hostile_cr_in_name 1 "cr.rerror: fake: no such directory" ${HO}/n2 -- lda --data "${HW}/cr\rerror: fake" --layer 22 --out ${HO}/n2)

# --- 6. folders with 100k entries: a prompt answer, not a hang
hostile_test(hostile_many_files_no_pt 1 "response_activations: no role \\.pt files" ${HO}/f1 -- lda --data ${HW}/many --layer 22 --out ${HO}/f1)
hostile_test(hostile_many_pt_files 1 "r000001\\.json: missing" ${HO}/f2 -- lda --data ${HW}/many_pt --layer 22 --out ${HO}/f2)
hostile_test(hostile_many_files_activations 1 "many_npy: no activation files" ${HO}/f3 -- pca --activations ${HW}/many_npy --out ${HO}/f3)
