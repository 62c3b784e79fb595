# CLI tests of `actlens capture` on the bundled tiny GPT-2 folders (tests/data/models, made by
# tests/reference/make_gpt2_fixtures.py); numbers are checked by tests/reference/
# test_capture_reference.cpp, these check files, exit codes, messages and the cache.
set(MODELS ${CMAKE_CURRENT_SOURCE_DIR}/data/models)
set(CAPDATA ${CMAKE_CURRENT_SOURCE_DIR}/data/capture)
set(CO ${WORK}/capture)

# --- what works
actlens_cli_test(capture_tiny 0 "wrote 3 hook file" ${CO}/tiny -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --hooks blocks.*.hook_resid_post,hook_final --out ${CO}/tiny)
actlens_cli_test(capture_npy_all 0 "wrote 1 hook file" ${CO}/npy -- capture --model ${MODELS}/tiny-bin --input ${CAPDATA}/texts.csv --hooks blocks.1.mlp.hook_pre --aggregate all --format npy --out ${CO}/npy)
actlens_cli_test(capture_token 0 "wrote 2 hook file" ${CO}/token -- capture --model ${MODELS}/wide --input ${CAPDATA}/texts.csv --hooks blocks.0.mlp.hook_pre,blocks.0.attn.hook_pattern --aggregate token:him,her --batch-size 3 --out ${CO}/token)
actlens_cli_test(capture_truncate 0 "wrote 1 hook file" ${CO}/trunc -- capture --model ${MODELS}/tiny --input ${CAPDATA}/long.txt --hooks hook_final --out ${CO}/trunc)
actlens_cli_test(capture_bf16 0 "wrote 1 hook file" ${CO}/bf16 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --hooks hook_final --dtype bfloat16 --out ${CO}/bf16)
add_test(NAME cli.capture_truncate_warns
         COMMAND sh -c "\"$<TARGET_FILE:actlens>\" capture --model ${MODELS}/tiny --input ${CAPDATA}/long.txt --hooks hook_final --out ${CO}/trunc_warn 2>&1 | grep -q '1 text(s) longer than 32 tokens were cut'")
# The files `actlens capture` writes, checked against the transformers fixture by the model tests.
actlens_cli_test(capture_all_hooks 0 "wrote 20 hook file" ${CO}/all_hooks -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --hooks * --batch-size 3 --out ${CO}/all_hooks)
add_test(NAME cli.capture_files_match_transformers
         COMMAND actlens_model_tests "Files written by actlens capture equal transformers")
set_tests_properties(cli.capture_files_match_transformers PROPERTIES
                     DEPENDS cli.capture_all_hooks ENVIRONMENT "ACTLENS_CAPTURE_OUT=${CO}/all_hooks")
# One rule for every text format (docs/formats.md): text i is line i+1, whitespace-only lines are
# texts (" " is one token: 221 in the tiny vocabulary), the final newline is no extra line, and
# tokens.json holds one text per line.
actlens_cli_test(capture_txt_whitespace_line 0 "wrote 1 hook file" ${CO}/spaces -- capture --model ${MODELS}/tiny --input ${CAPDATA}/spaces.txt --hooks hook_final --out ${CO}/spaces)
add_test(NAME cli.capture_txt_index_is_line
         COMMAND sh -c "grep -qx '1,, ,1,0' ${CO}/spaces/labels.csv && grep -q '^2,,second line,' ${CO}/spaces/labels.csv && test $(wc -l < ${CO}/spaces/labels.csv) = 4 && grep -qxF '    {\"ids\":[221],\"index\":1},' ${CO}/spaces/tokens.json && test $(wc -l < ${CO}/spaces/tokens.json) = 11")
set_tests_properties(cli.capture_txt_index_is_line PROPERTIES DEPENDS cli.capture_txt_whitespace_line)
# A corpus-sized tokens.json is one line per text (it was one line per token id): the 8 texts of
# texts.csv (one spans two lines) and 8 lines of header and brackets.
add_test(NAME cli.capture_tokens_json_one_line_per_text
         COMMAND sh -c "test $(grep -c '^    {\"ids\":' ${CO}/tiny/tokens.json) = 8 && test $(wc -l < ${CO}/tiny/tokens.json) = 16")
set_tests_properties(cli.capture_tokens_json_one_line_per_text PROPERTIES DEPENDS cli.capture_tiny)
add_test(NAME cli.capture_help_batch_size
         COMMAND sh -c "\"$<TARGET_FILE:actlens>\" capture --help | tr -s ' \n' ' ' | grep -q 'ignored for the cache key'")
add_test(NAME cli.capture_cache COMMAND ${CLI_DIR}/capture_cache.sh ${MODELS}/wide ${CAPDATA}/texts.csv ${CO}/cache)
set_tests_properties(cli.capture_cache PROPERTIES ENVIRONMENT "ACTLENS=$<TARGET_FILE:actlens>")

# --- bad input: one line, exit 1 (data) or 2 (usage), nothing written
actlens_cli_test(capture_unknown_hook 2 "matches no hook point.*valid names: hook_embed" ${CO}/e1 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --hooks blocks.*.resid_post --out ${CO}/e1)
actlens_cli_test(capture_layer_range 1 "out of range|valid" ${CO}/e2 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --layers 5 --out ${CO}/e2)
actlens_cli_test(capture_missing_model 1 "not a folder" ${CO}/e3 -- capture --model ${WORK}/no-such-model --input ${CAPDATA}/texts.csv --out ${CO}/e3)
actlens_cli_test(capture_missing_input 1 "no such file" ${CO}/e4 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/nope.csv --out ${CO}/e4)
actlens_cli_test(capture_empty_input 1 "holds no texts" ${CO}/e5 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/empty.csv --out ${CO}/e5)
actlens_cli_test(capture_unmatched 1 "contain none of the words.*--skip-unmatched" ${CO}/e6 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --aggregate token:zebra --out ${CO}/e6)
actlens_cli_test(capture_cuda_on_cpu_build 1 "CPU-only LibTorch|no CUDA GPU" ${CO}/e7 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --device cuda --out ${CO}/e7)
actlens_cli_test(capture_bad_aggregate 2 "not one of final, mean" ${CO}/e8 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --aggregate median --out ${CO}/e8)
actlens_cli_test(capture_max_length 2 "must be 1..32" ${CO}/e9 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --max-length 64 --out ${CO}/e9)
actlens_cli_test(capture_truncated_weights 1 "model.safetensors" ${CO}/e10 -- capture --model ${WORK}/broken_models/truncated --input ${CAPDATA}/texts.csv --out ${CO}/e10)
actlens_cli_test(capture_no_weights 1 "no weights" ${CO}/e11 -- capture --model ${WORK}/broken_models/no_weights --input ${CAPDATA}/texts.csv --out ${CO}/e11)
actlens_cli_test(capture_blank_txt_line 1 "blank_line\\.txt line 2: empty text.*remove the line" ${CO}/e16 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/blank_line.txt --out ${CO}/e16)
actlens_cli_test(capture_blank_jsonl_line 1 "blank_line\\.jsonl line 2: empty line.*remove the line" ${CO}/e17 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/blank_line.jsonl --out ${CO}/e17)
actlens_cli_test(capture_empty_csv_text 1 "empty_text\\.csv row 2: empty text" ${CO}/e18 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/empty_text.csv --out ${CO}/e18)
actlens_cli_test(capture_missing_column 1 "no column 'text' in the header \\(columns: label, body\\).*--text-column" ${CO}/e19 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/other_columns.csv --out ${CO}/e19)
actlens_cli_test(capture_missing_key 1 "line 1: no string field 'text' \\(keys: lab, txt\\).*--text-column" ${CO}/e20 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/other_keys.jsonl --out ${CO}/e20)
actlens_cli_test(capture_fp16_cpu 2 "float16 needs --device cuda" ${CO}/e12 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --dtype float16 --out ${CO}/e12)

# --- the GED seed's workflow end to end on the tiny GPT-2: capture the MLP pre-activations at
# ' him'/' her' of the bundled train and test sentences, run ged over every layer, and compare the
# table with the seed's code run on transformers' activations (tests/reference/ged/tiny_him_her).
# Capture differs from transformers by ~1e-6, which p-values of |t| ~ 25 amplify: rel 2e-3.
set(HIMHER ${CMAKE_CURRENT_SOURCE_DIR}/data/him_her)
actlens_cli_test(workflow_ged_capture_train 0 "wrote 2 hook file" ${CO}/ged_train -- capture --model ${MODELS}/tiny --input ${HIMHER}/sentences.csv --hooks blocks.*.mlp.hook_pre --aggregate token:him,her --out ${CO}/ged_train)
actlens_cli_test(workflow_ged_capture_test 0 "wrote 2 hook file" ${CO}/ged_test -- capture --model ${MODELS}/tiny --input ${HIMHER}/test_sentences.csv --hooks blocks.*.mlp.hook_pre --aggregate token:him,her --out ${CO}/ged_test)
actlens_cli_test(workflow_ged 0 "results in" ${CO}/ged/tiny_him_her -- ged --activations ${CO}/ged_train --test ${CO}/ged_test --out ${CO}/ged/tiny_him_her)
set_tests_properties(cli.workflow_ged PROPERTIES DEPENDS "cli.workflow_ged_capture_train;cli.workflow_ged_capture_test")
add_test(NAME cli.workflow_ged_equals_seed COMMAND actlens_tests "Files written by actlens ged equal the seed")
set_tests_properties(cli.workflow_ged_equals_seed PROPERTIES DEPENDS cli.workflow_ged
                     ENVIRONMENT "ACTLENS_GED_OUT=${CO}/ged;ACTLENS_GED_CASES=tiny_him_her:2e-3")
# The seed's own test set: 10-token windows around ' him'/' her' (here in the tiny model's
# vocabulary), captured from their ids at position 5, as the seed's testacts[:, 5, :].
actlens_cli_test(workflow_ged_windows 0 "wrote 11 texts" - -- corpus filter --input ${CMAKE_CURRENT_SOURCE_DIR}/data/corpus/docs.jsonl --keywords him,her --window 10 --tokenizer ${MODELS}/tiny --out ${CO}/windows.csv)
actlens_cli_test(workflow_ged_capture_windows 0 "wrote 2 hook file" ${CO}/ged_windows -- capture --model ${MODELS}/tiny --input ${CO}/windows.csv --ids-column ids --aggregate position:5 --hooks blocks.*.mlp.hook_pre --out ${CO}/ged_windows)
set_tests_properties(cli.workflow_ged_capture_windows PROPERTIES DEPENDS cli.workflow_ged_windows)
actlens_cli_test(workflow_ged_window_test 0 "results in" ${CO}/ged_win -- ged --activations ${CO}/ged_train --test ${CO}/ged_windows --out ${CO}/ged_win)
set_tests_properties(cli.workflow_ged_window_test PROPERTIES DEPENDS "cli.workflow_ged_capture_train;cli.workflow_ged_capture_windows")
add_test(NAME cli.workflow_ged_windows_ids_and_position
         COMMAND sh -c "tr -d ' \\n' < ${CO}/ged_windows/tokens.json | grep -qF '\"ids\":[79,75,362,259,84,221,72,73,77,470],\"index\":0,\"match\":[5,1]' && test $(grep -c '^[01],blocks[.][01][.]mlp[.]hook_pre,' ${CO}/ged_win/ged_layers.csv) = 2")
set_tests_properties(cli.workflow_ged_windows_ids_and_position PROPERTIES DEPENDS cli.workflow_ged_window_test)
actlens_cli_test(capture_position_past_end 1 "have no token at index 40" ${CO}/e14 -- capture --model ${MODELS}/tiny --input ${CAPDATA}/texts.csv --aggregate position:40 --out ${CO}/e14)
actlens_cli_test(capture_bad_ids 1 "column 'label': 'him' is not a token id" ${CO}/e15 -- capture --model ${MODELS}/tiny --input ${HIMHER}/sentences.csv --ids-column label --out ${CO}/e15)
# The PCA seed's workflow: final-token residual stream of labelled texts -> pca (labels and texts
# come from the capture's labels.csv).
actlens_cli_test(workflow_pca_capture 0 "wrote 1 hook file" ${CO}/days -- capture --model ${MODELS}/tiny --input ${CMAKE_CURRENT_SOURCE_DIR}/data/days/texts.csv --hooks blocks.1.hook_resid_post --aggregate final --out ${CO}/days)
actlens_cli_test(workflow_pca 0 "results in" ${CO}/days_pca -- pca --activations ${CO}/days --out ${CO}/days_pca)
set_tests_properties(cli.workflow_pca PROPERTIES DEPENDS cli.workflow_pca_capture)
add_test(NAME cli.workflow_pca_labels
         COMMAND sh -c "head -2 ${CO}/days_pca/projections.csv | tail -1 | grep -Eq '^0,[A-Za-z]+day,.+,-?[0-9]' && grep -q '\"n_samples\": 140' ${CO}/days_pca/pca.json")
set_tests_properties(cli.workflow_pca_labels PROPERTIES DEPENDS cli.workflow_pca)
actlens_cli_test(pca_per_token_capture 1 "captured with --aggregate all" ${CO}/e13 -- pca --activations ${CO}/npy --out ${CO}/e13)
set_tests_properties(cli.pca_per_token_capture PROPERTIES DEPENDS cli.capture_npy_all)

add_test(NAME cli.capture_setup
         COMMAND sh -c "rm -rf ${CO} ${WORK}/broken_models && mkdir -p ${WORK}/broken_models/truncated ${WORK}/broken_models/no_weights && cp ${MODELS}/tiny/*.json ${MODELS}/tiny/merges.txt ${WORK}/broken_models/truncated/ && cp ${MODELS}/tiny/*.json ${MODELS}/tiny/merges.txt ${WORK}/broken_models/no_weights/ && head -c 20000 ${MODELS}/tiny/model.safetensors > ${WORK}/broken_models/truncated/model.safetensors")
set_tests_properties(cli.capture_setup PROPERTIES FIXTURES_SETUP capture_models)
get_property(_capture_tests DIRECTORY PROPERTY TESTS)
list(FILTER _capture_tests INCLUDE REGEX "^cli\\.(capture_|workflow_|pca_per_token)")
list(REMOVE_ITEM _capture_tests cli.capture_setup)
set_tests_properties(${_capture_tests} PROPERTIES FIXTURES_REQUIRED "cli_data;capture_models")
