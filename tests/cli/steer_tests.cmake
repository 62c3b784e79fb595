# CLI tests of `actlens steer` in text mode (a GPT-2 folder, no --process) on the bundled tiny
# GPT-2. The numbers in the files it writes (steering vectors, next-token probabilities) are
# checked against Hugging Face transformers (tests/reference/make_steer_gpt2_fixtures.py) by the
# hidden Catch2 case "[.cli-output-steer]" (tests/reference/test_steer_gpt2_cli_output.cpp), which
# runs after the CLI runs; these check exit codes, messages and that failures leave nothing.
set(ST_MODEL ${CMAKE_CURRENT_SOURCE_DIR}/data/models/tiny)
set(ST_DATA ${CMAKE_CURRENT_SOURCE_DIR}/data/steer)
set(ST_O ${WORK}/steer_text)
set(ST_ARGS --model ${ST_MODEL} --positive ${ST_DATA}/positive.txt --negative ${ST_DATA}/negative.txt)

# --- what works: the two reference cases (contrastive vector; vector from a file)
actlens_cli_test(steer_text_contrastive 0 "results in" ${ST_O}/contrastive -- steer ${ST_ARGS} --prompts-file ${ST_DATA}/prompts.txt --multipliers=-8,2,8 --top-k 5 --out ${ST_O}/contrastive)
actlens_cli_test(steer_text_vector 0 "results in" ${ST_O}/vector -- steer --model ${ST_MODEL} --vector ${ST_DATA}/vector.npy --hooks hook_embed,blocks.1.hook_resid_post --prompt "Once upon a time" --prompt "He said" --multipliers 0.5,-3 --top-k 5 --batch-size 2 --out ${ST_O}/vector)
# one [d] vector for every hook (with a layer filter, the default multiplier); --layers on the
# contrastive vector keeps that layer's row
actlens_cli_test(steer_text_one_row 0 "results in" ${ST_O}/one_row -- steer --model ${ST_MODEL} --vector ${ST_DATA}/row_vector.npy --layers 0-1 --prompt "She said that" --out ${ST_O}/one_row)
actlens_cli_test(steer_text_layers 0 "results in" ${ST_O}/layers -- steer ${ST_ARGS} --layers 1 --prompt "She said that" --out ${ST_O}/layers)
add_test(NAME cli.steer_text_outputs
         COMMAND actlens_tests "[.cli-output-steer]")
set_tests_properties(cli.steer_text_outputs PROPERTIES
  DEPENDS "cli.steer_text_contrastive;cli.steer_text_vector;cli.steer_text_one_row;cli.steer_text_layers"
  ENVIRONMENT "ACTLENS_STEER_OUT=${ST_O}")
# the table on stdout: a header per prompt, the unsteered column and each multiplier
add_test(NAME cli.steer_text_table
         COMMAND sh -c "\"$<TARGET_FILE:actlens>\" -q steer --model ${ST_MODEL} --positive ${ST_DATA}/positive.txt --negative ${ST_DATA}/negative.txt --prompt 'She said that' --multipliers=-8,8 --top-k 3 --out ${ST_O}/table | tr -s ' ' > ${ST_O}/table.txt && grep -q '^prompt 1 of 1 (7 tokens): .She said that.' ${ST_O}/table.txt && grep -q '^rank unsteered m=-8 m=+8' ${ST_O}/table.txt && test $(grep -c '^ *[123] ' ${ST_O}/table.txt) = 3 && grep -q '^KL ' ${ST_O}/table.txt")

# --- bad input: one line naming the file/flag, exit 1 (data) or 2 (usage), nothing written
actlens_cli_test(steer_text_both_sources 2 "either with --vector or with --positive and --negative, not both" ${ST_O}/u1 -- steer ${ST_ARGS} --vector ${ST_DATA}/vector.npy --prompt "He said" --out ${ST_O}/u1)
actlens_cli_test(steer_text_no_source 2 "no steering vector" ${ST_O}/u2 -- steer --model ${ST_MODEL} --prompt "He said" --out ${ST_O}/u2)
actlens_cli_test(steer_text_positive_only 2 "--positive needs --negative" ${ST_O}/u3 -- steer --model ${ST_MODEL} --positive ${ST_DATA}/positive.txt --prompt "He said" --out ${ST_O}/u3)
actlens_cli_test(steer_text_no_prompt 2 "no prompt. give --prompt" ${ST_O}/u4 -- steer ${ST_ARGS} --out ${ST_O}/u4)
actlens_cli_test(steer_text_pattern_hook 2 "blocks\\.0\\.attn\\.hook_pattern cannot be steered" ${ST_O}/u5 -- steer ${ST_ARGS} --hooks blocks.0.attn.hook_pattern --prompt "He said" --out ${ST_O}/u5)
actlens_cli_test(steer_text_mlp_hook 2 "blocks\\.1\\.mlp\\.hook_post cannot be steered.*d_mlp" ${ST_O}/u6 -- steer ${ST_ARGS} --hooks blocks.*.hook_resid_post,blocks.1.mlp.hook_post --prompt "He said" --out ${ST_O}/u6)
actlens_cli_test(steer_text_top_k_zero 2 "--top-k 0: must be >= 1" ${ST_O}/u7 -- steer ${ST_ARGS} --prompt "He said" --top-k 0 --out ${ST_O}/u7)
actlens_cli_test(steer_text_top_k_vocab 2 "--top-k 501: the model has only 500 tokens" ${ST_O}/u8 -- steer ${ST_ARGS} --prompt "He said" --top-k 501 --out ${ST_O}/u8)
actlens_cli_test(steer_text_unknown_hook 2 "matches no hook point" ${ST_O}/u9 -- steer ${ST_ARGS} --hooks blocks.*.resid_post --prompt "He said" --out ${ST_O}/u9)
actlens_cli_test(steer_text_vector_shape 1 "vector\\.npy: shape \\[2, 64\\] does not fit 3 hook\\(s\\) of d_model 64: expected \\[64\\].*or \\[3, 64\\]" ${ST_O}/e1 -- steer --model ${ST_MODEL} --vector ${ST_DATA}/vector.npy --hooks hook_embed,blocks.*.hook_resid_post --prompt "He said" --out ${ST_O}/e1)
actlens_cli_test(steer_text_vector_nan 1 "nan_vector\\.npy: element 3 is NaN" ${ST_O}/e2 -- steer --model ${ST_MODEL} --vector ${ST_DATA}/nan_vector.npy --prompt "He said" --out ${ST_O}/e2)
actlens_cli_test(steer_text_vector_missing 1 "nope\\.npy: no such file. check --vector" ${ST_O}/e3 -- steer --model ${ST_MODEL} --vector ${ST_DATA}/nope.npy --prompt "He said" --out ${ST_O}/e3)
actlens_cli_test(steer_text_missing_positive 1 "nope\\.txt: no such file. check --positive" ${ST_O}/e4 -- steer --model ${ST_MODEL} --positive ${ST_DATA}/nope.txt --negative ${ST_DATA}/negative.txt --prompt "He said" --out ${ST_O}/e4)
actlens_cli_test(steer_text_empty_negative 1 "empty\\.csv: holds no texts \\(--negative\\)" ${ST_O}/e5 -- steer --model ${ST_MODEL} --positive ${ST_DATA}/positive.txt --negative ${CMAKE_CURRENT_SOURCE_DIR}/data/capture/empty.csv --prompt "He said" --out ${ST_O}/e5)
actlens_cli_test(steer_text_layer_range 1 "--layers 5: layer out of range. valid layers are 0\\.\\.1" ${ST_O}/e6 -- steer ${ST_ARGS} --layers 5 --prompt "He said" --out ${ST_O}/e6)
actlens_cli_test(steer_text_missing_model 1 "no-such-model: not a folder" ${ST_O}/e7 -- steer --model ${ST_O}/no-such-model --vector ${ST_DATA}/vector.npy --prompt "He said" --out ${ST_O}/e7)
actlens_cli_test(steer_text_long_prompt 1 "--prompt 2: the prompt has [0-9]+ tokens, more than the model's n_positions \\(32\\)" ${ST_O}/e8 -- steer ${ST_ARGS} --prompt "He said" --prompt "This prompt is far too long for the tiny model, which sees only thirty-two tokens" --out ${ST_O}/e8)
actlens_cli_test(steer_text_missing_prompts_file 1 "nope\\.txt: no such file. check --prompts-file" ${ST_O}/e9 -- steer ${ST_ARGS} --prompts-file ${ST_DATA}/nope.txt --out ${ST_O}/e9)

add_test(NAME cli.steer_text_setup COMMAND ${CMAKE_COMMAND} -E rm -rf ${ST_O})
add_test(NAME cli.steer_text_mkdir COMMAND ${CMAKE_COMMAND} -E make_directory ${ST_O})
set_tests_properties(cli.steer_text_setup PROPERTIES FIXTURES_SETUP steer_text_clean)
set_tests_properties(cli.steer_text_mkdir PROPERTIES FIXTURES_SETUP steer_text_dir
                     FIXTURES_REQUIRED steer_text_clean)
get_property(_steer_text_tests DIRECTORY PROPERTY TESTS)
list(FILTER _steer_text_tests INCLUDE REGEX "^cli\\.steer_text_")
list(REMOVE_ITEM _steer_text_tests cli.steer_text_setup cli.steer_text_mkdir)
set_tests_properties(${_steer_text_tests} PROPERTIES FIXTURES_REQUIRED "cli_data;steer_text_dir")
