# CLI tests: the real actlens binary on the example data and on broken copies of it.
# Each failure case must exit non-zero with ONE clear line and leave no output folder behind.
set(CLI_DIR ${CMAKE_CURRENT_SOURCE_DIR}/cli)
set(EXAMPLE ${CMAKE_CURRENT_SOURCE_DIR}/data/roles_example)
set(BAD ${CMAKE_CURRENT_SOURCE_DIR}/data/bad)
set(WORK ${CMAKE_CURRENT_BINARY_DIR}/cli_work)

add_test(NAME cli.setup COMMAND ${CLI_DIR}/make_broken.sh ${EXAMPLE} ${BAD} ${WORK}/broken)
set_tests_properties(cli.setup PROPERTIES FIXTURES_SETUP cli_data)

# actlens_cli_test(NAME EXIT REGEX OUTDIR args...)
# Figures: one shared plotly.min.js per run (ACTLENS_PLOTLY=file) rather than 4.8 MB inside every
# page of ~200 runs; figure_tests.cmake and the browser test exercise the default (inline).
function(actlens_cli_test name exit_code regex outdir)
  add_test(NAME cli.${name} COMMAND ${CLI_DIR}/expect.sh ${exit_code} ${regex} ${outdir} ${ARGN})
  set_tests_properties(cli.${name} PROPERTIES FIXTURES_REQUIRED cli_data
                       ENVIRONMENT "ACTLENS=$<TARGET_FILE:actlens>;ACTLENS_PLOTLY=file")
endfunction()

set(B ${WORK}/broken)
set(O ${WORK}/out)
# --- what works
actlens_cli_test(lda_example 0 "results in" ${O}/example -- lda --data ${EXAMPLE} --layer 22 --out ${O}/example)
actlens_cli_test(lda_multilayer 0 "results in" ${O}/multi -- lda --data ${EXAMPLE} --layers 0,22,45 --out ${O}/multi)
actlens_cli_test(lda_config_toml 0 "results in" ${O}/toml -- lda --config ${CMAKE_SOURCE_DIR}/configs/lda-example.toml --data ${EXAMPLE} --out ${O}/toml)
actlens_cli_test(lda_config_json 0 "results in" ${O}/json -- lda --config ${CMAKE_SOURCE_DIR}/configs/lda-example.json --data ${EXAMPLE} --out ${O}/json)
actlens_cli_test(lda_nan_skip 0 "results in" ${O}/nanskip -- lda --data ${BAD}/nan_roles --layers all --min-samples 5 --nan skip --out ${O}/nanskip)
actlens_cli_test(version 0 "^[0-9]+\\.[0-9]+\\.[0-9]+$" - -- --version)
# --- bad input: one line, exit 1, nothing written
actlens_cli_test(missing_dir 1 "no such directory" ${O}/e1 -- lda --data ${WORK}/does-not-exist --layer 22 --out ${O}/e1)
actlens_cli_test(no_pt_files 1 "no role \\.pt files" ${O}/e2 -- lda --data ${B}/no_pt --layer 22 --out ${O}/e2)
actlens_cli_test(missing_score_file 1 "pirate\\.json: missing" ${O}/e3 -- lda --data ${B}/missing_score --layer 22 --out ${O}/e3)
actlens_cli_test(key_mismatch 1 "chef\\.pt: key 'pos_p0_q0' has no score" ${O}/e4 -- lda --data ${B}/key_mismatch --layer 22 --out ${O}/e4)
actlens_cli_test(layer_out_of_range 1 "layer out of range. valid layers are 0\\.\\.45" ${O}/e5 -- lda --data ${EXAMPLE} --layer 46 --out ${O}/e5)
actlens_cli_test(truncated_zip 1 "poet\\.pt.*(truncated|corrupt)" ${O}/e6 -- lda --data ${B}/truncated --layer 22 --out ${O}/e6)
actlens_cli_test(corrupt_zip 1 "wizard\\.pt.*(truncated|corrupt|not a ZIP|zip)" ${O}/e7 -- lda --data ${B}/corrupt --layer 22 --out ${O}/e7)
actlens_cli_test(nan_in_activations 1 "beta\\.pt: key 'pos_p0_q3' has NaN/Inf at layer 2.*--nan skip" ${O}/e8 -- lda --data ${BAD}/nan_roles --layers all --min-samples 5 --out ${O}/e8)
actlens_cli_test(empty_class_set 1 "no class has at least 100000" ${O}/e9 -- lda --data ${EXAMPLE} --layer 22 --min-samples 100000 --out ${O}/e9)
actlens_cli_test(malicious_pickle 1 "refusing to unpickle global 'os\\.system'" ${O}/e10 -- lda --data ${B}/malicious --layer 22 --out ${O}/e10)
actlens_cli_test(legacy_torch 1 "legacy .*re-save" ${O}/e11 -- lda --data ${B}/legacy --layer 22 --out ${O}/e11)
actlens_cli_test(bad_score_json 1 "nurse\\.json: not valid JSON" ${O}/e12 -- lda --data ${B}/badjson --layer 22 --out ${O}/e12)
actlens_cli_test(missing_activations_file 1 "nope\\.npy: no such file" ${O}/e13 -- lda --activations ${WORK}/nope.npy --labels ${WORK}/nope.csv --out ${O}/e13)
actlens_cli_test(label_count_mismatch 1 "labels for 900 rows" ${O}/e14 -- lda --activations ${CMAKE_CURRENT_SOURCE_DIR}/reference/lda/dense_standard/X.npy --labels ${CMAKE_CURRENT_SOURCE_DIR}/reference/lda/rankdef_standard/labels.csv --out ${O}/e14)
# --- usage errors: exit 2
actlens_cli_test(unknown_flag 2 "see --help" - -- lda --no-such-flag)
actlens_cli_test(config_unknown_key 2 "--config .*unknown_key\\.toml: key 'no_such_key' is not an option of .actlens lda." ${O}/u5 -- lda --config ${BAD}/unknown_key.toml --data ${EXAMPLE} --out ${O}/u5)
actlens_cli_test(bad_scaler 2 "--scaler" ${O}/u2 -- lda --data ${EXAMPLE} --layer 22 --scaler zscore --out ${O}/u2)
actlens_cli_test(no_layer 2 "choose layers with --layer" ${O}/u3 -- lda --data ${EXAMPLE} --out ${O}/u3)
actlens_cli_test(both_inputs 2 "either --data" ${O}/u4 -- lda --data ${EXAMPLE} --activations x.npy --layer 1 --out ${O}/u4)
# --- compare: same results pass, different ones fail with a table
actlens_cli_test(compare_same 0 "^same: " - -- compare ${O}/example ${O}/toml)
set_tests_properties(cli.compare_same PROPERTIES DEPENDS "cli.lda_example;cli.lda_config_toml")
actlens_cli_test(compare_differs 1 "^differ: " - -- compare ${O}/example ${O}/multi)
set_tests_properties(cli.compare_differs PROPERTIES DEPENDS "cli.lda_example;cli.lda_multilayer")
# --ignore-key: a run that differs only in an option that changes nothing (no NaN to skip) is the
# same once run.json's "options" are left out
actlens_cli_test(lda_nan_skip_example 0 "results in" ${O}/nanskip_example -- lda --data ${EXAMPLE} --layer 22 --nan skip --out ${O}/nanskip_example)
actlens_cli_test(compare_options_differ 1 "^differ: " - -- compare ${O}/example ${O}/nanskip_example)
actlens_cli_test(compare_ignore_key 0 "^same: " - -- compare --ignore-key options ${O}/example ${O}/nanskip_example)
set_tests_properties(cli.compare_options_differ cli.compare_ignore_key PROPERTIES
                     DEPENDS "cli.lda_example;cli.lda_nan_skip_example")
# --- corpus filter: labelled texts from documents (the seeds' keyword filters). Its output is one
# CSV file, not a folder: good runs pass "-" and a second test compares the file with the Python
# reference (tests/reference/make_corpus_fixtures.py); failures pass the CSV path, which must not
# exist afterwards.
set(CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/data/corpus/docs.jsonl)
set(CORPUS_REF ${CMAKE_CURRENT_SOURCE_DIR}/reference/corpus)
set(GPT2_VOCAB ${CMAKE_CURRENT_SOURCE_DIR}/data/tokenizer/gpt2)
set(C ${O}/corpus)
file(WRITE ${WORK}/corpus-filter.toml "keywords = [\"monday\", \"friday\"]\nmax-per-label = 1\n")
actlens_cli_test(corpus_filter_days 0 "wrote 28 texts to" - -- corpus filter --input ${CORPUS} --keywords monday,tuesday,wednesday,thursday,friday,saturday,sunday --out ${C}/days.csv)
add_test(NAME cli.corpus_filter_days_equals_python COMMAND ${CMAKE_COMMAND} -E compare_files ${C}/days.csv ${CORPUS_REF}/expected_days.csv)
set_tests_properties(cli.corpus_filter_days_equals_python PROPERTIES DEPENDS cli.corpus_filter_days)
actlens_cli_test(corpus_filter_window 0 "wrote 7 texts to" - -- corpus filter --input ${CORPUS} --keywords him,her --window 10 --tokenizer ${GPT2_VOCAB} --out ${C}/window.csv)
add_test(NAME cli.corpus_filter_window_equals_python COMMAND ${CMAKE_COMMAND} -E compare_files ${C}/window.csv ${CORPUS_REF}/expected_window_him_her.csv)
set_tests_properties(cli.corpus_filter_window_equals_python PROPERTIES DEPENDS cli.corpus_filter_window)
actlens_cli_test(corpus_filter_config 0 "wrote 2 texts to" - -- corpus filter --config ${WORK}/corpus-filter.toml --input ${CORPUS} --out ${C}/config.csv)
actlens_cli_test(corpus_filter_bundled_days 0 "wrote 142 texts to" - -- corpus filter --input ${CMAKE_CURRENT_SOURCE_DIR}/data/days/texts.csv --keywords monday,tuesday,wednesday,thursday,friday,saturday,sunday --out ${C}/bundled_days.csv)
actlens_cli_test(corpus_filter_bundled_him_her 0 "wrote 108 texts to" - -- corpus filter --input ${CMAKE_CURRENT_SOURCE_DIR}/data/him_her/sentences.csv --keywords him,her --window 1 --tokenizer ${GPT2_VOCAB} --out ${C}/bundled_him_her.csv)
actlens_cli_test(corpus_missing_input 1 "nope\\.jsonl: no such file. check --input" ${C}/e1.csv -- corpus filter --input ${WORK}/nope.jsonl --keywords monday --out ${C}/e1.csv)
actlens_cli_test(corpus_no_match 1 "docs\\.jsonl: no document matched any keyword" ${C}/e2.csv -- corpus filter --input ${CORPUS} --keywords xyzzy,plugh --out ${C}/e2.csv)
actlens_cli_test(corpus_no_window_fits 1 "no window of 500 tokens around any keyword" ${C}/e3.csv -- corpus filter --input ${CORPUS} --keywords him --window 500 --tokenizer ${GPT2_VOCAB} --out ${C}/e3.csv)
actlens_cli_test(corpus_window_without_tokenizer 2 "--window needs --tokenizer" ${C}/u1.csv -- corpus filter --input ${CORPUS} --keywords him --window 10 --out ${C}/u1.csv)
actlens_cli_test(corpus_window_zero 2 "--window: must be at least 1" ${C}/u2.csv -- corpus filter --input ${CORPUS} --keywords him --window 0 --tokenizer ${GPT2_VOCAB} --out ${C}/u2.csv)
actlens_cli_test(corpus_empty_keyword 2 "--keywords: empty keyword in 'monday,,friday'" ${C}/u3.csv -- corpus filter --input ${CORPUS} --keywords monday,,friday --out ${C}/u3.csv)
actlens_cli_test(corpus_no_keywords 2 "--keywords is required" ${C}/u4.csv -- corpus filter --input ${CORPUS} --out ${C}/u4.csv)
