# CLI tests of the belief-geometry pipeline (seed belief-geometry-steering): train a tiny model on
# RRXOR for a few steps, regress its residual streams onto the beliefs, steer T <-> F; and the
# refusals of bad input. Numbers are checked elsewhere: the model against TransformerLens
# (tests/model/test_hooked_transformer.cpp), the regression against sklearn
# (tests/reference/test_regression_reference.cpp), the MSP against numpy.
set(BG_O ${O}/belief)
set(BG_TINY ${BG_O}/tiny)
set(BG_TRAIN_FLAGS --process rrxor --n-layers 2 --d-model 16 --n-heads 2 --d-head 8 --d-mlp 32 --steps 40 --batch-size 16 --eval-every 20 --threads 1)

actlens_cli_test(train_tiny 0 "results in" ${BG_TINY} -- train ${BG_TRAIN_FLAGS} --checkpoint-every 10 --out ${BG_TINY})
set_tests_properties(cli.train_tiny PROPERTIES FIXTURES_SETUP belief_model)
add_test(NAME cli.train_tiny_files
         COMMAND sh -c "test -s ${BG_TINY}/model.pt && test -s ${BG_TINY}/config.json && test -s ${BG_TINY}/run.json && test -s ${BG_TINY}/checkpoints/step_20/model.pt && test $(wc -l < ${BG_TINY}/train_log.csv) = 3 && grep -q '\"d_model\": 16' ${BG_TINY}/config.json && grep -q '\"bayes_optimal_loss_nats\"' ${BG_TINY}/run.json")
set_tests_properties(cli.train_tiny_files PROPERTIES DEPENDS cli.train_tiny FIXTURES_REQUIRED belief_model)
# Every checkpoint's config.json has exact_loss_nats like the final model's: step 20 (an evaluation
# step) the log's exact loss, step 10 and 30 (evaluated for the checkpoint) a loss at or above the
# Bayes-optimal one (0.578185 nats, the exact evaluation's lower bound).
add_test(NAME cli.train_checkpoint_exact_loss
         COMMAND sh -c "for s in 10 20 30; do grep -q '\"step\": '$s ${BG_TINY}/checkpoints/step_$s/config.json && grep -Eq '\"exact_loss_nats\": 0\\.[5-9][0-9]*' ${BG_TINY}/checkpoints/step_$s/config.json || exit 1; done; ckpt=$(sed -n 's/.*\"exact_loss_nats\": \\([0-9.e+-]*\\).*/\\1/p' ${BG_TINY}/checkpoints/step_20/config.json); log=$(awk -F, '$1 == 20 { print $4 }' ${BG_TINY}/train_log.csv); awk -v a=$ckpt -v b=$log 'BEGIN { d = a - b; exit !(a > 0.578185 && d < 1e-12 && d > -1e-12) }'")
set_tests_properties(cli.train_checkpoint_exact_loss PROPERTIES DEPENDS cli.train_tiny FIXTURES_REQUIRED belief_model)
# The same seed gives the same weights: training is deterministic on one thread.
actlens_cli_test(train_tiny_again 0 "results in" ${BG_O}/tiny2 -- train ${BG_TRAIN_FLAGS} --out ${BG_O}/tiny2)
add_test(NAME cli.train_deterministic COMMAND ${CMAKE_COMMAND} -E compare_files ${BG_TINY}/model.pt ${BG_O}/tiny2/model.pt)
set_tests_properties(cli.train_deterministic PROPERTIES DEPENDS "cli.train_tiny;cli.train_tiny_again")
actlens_cli_test(train_config_file 0 "results in" ${BG_O}/cfg -- train --config ${CMAKE_SOURCE_DIR}/configs/rrxor.toml --steps 2 --eval-every 1 --d-model 16 --n-heads 2 --d-head 8 --d-mlp 32 --n-layers 1 --out ${BG_O}/cfg)

actlens_cli_test(beliefs_tiny 0 "results in" ${BG_O}/beliefs -- beliefs --model ${BG_TINY} --out ${BG_O}/beliefs)
set_tests_properties(cli.beliefs_tiny PROPERTIES FIXTURES_REQUIRED belief_model)
add_test(NAME cli.beliefs_tiny_files
         COMMAND sh -c "test $(wc -l < ${BG_O}/beliefs/simplex_points.csv) = 4361 && test $(wc -l < ${BG_O}/beliefs/simplex_beliefs.csv) = 37 && grep -q '^blocks.1.hook_resid_post,16,' ${BG_O}/beliefs/metrics.csv && grep -q '^concatenated,32,' ${BG_O}/beliefs/metrics.csv && test -s ${BG_O}/beliefs/regression_coef.npy && test -s ${BG_O}/beliefs/predictions.npy")
set_tests_properties(cli.beliefs_tiny_files PROPERTIES DEPENDS cli.beliefs_tiny)
actlens_cli_test(beliefs_split 0 "results in" ${BG_O}/beliefs_split -- beliefs --model ${BG_TINY} --process rrxor --test-fraction 0.25 --layers 1 --out ${BG_O}/beliefs_split)
set_tests_properties(cli.beliefs_split PROPERTIES FIXTURES_REQUIRED belief_model)

actlens_cli_test(steer_tiny 0 "results in" ${BG_O}/steer -- steer --model ${BG_TINY} --from T --to F --multipliers 1,2 --out ${BG_O}/steer)
set_tests_properties(cli.steer_tiny PROPERTIES FIXTURES_REQUIRED belief_model)
add_test(NAME cli.steer_tiny_table
         COMMAND sh -c "test $(wc -l < ${BG_O}/steer/steering.csv) = 9 && grep -q ',State T -> State F,' ${BG_O}/steer/steering.csv && grep -q ',State F -> State T,' ${BG_O}/steer/steering.csv && test -s ${BG_O}/steer/steering_vectors.npy")
set_tests_properties(cli.steer_tiny_table PROPERTIES DEPENDS cli.steer_tiny)
actlens_cli_test(steer_intermediate 0 "results in" ${BG_O}/steer2 -- steer --model ${BG_TINY} --from "#3" --to 4 --length 2 --out ${BG_O}/steer2)
set_tests_properties(cli.steer_intermediate PROPERTIES FIXTURES_REQUIRED belief_model)
# RRXOR has states named 0 and 1 and beliefs numbered 0 and 1: a bare "1" must not be guessed.
actlens_cli_test(steer_belief_ambiguous 2 "--from 1: ambiguous: the belief named 'State 1' or belief index 1 .*'#1'" ${BG_O}/u8 -- steer --model ${BG_TINY} --from 1 --to F --out ${BG_O}/u8)
set_tests_properties(cli.steer_belief_ambiguous PROPERTIES FIXTURES_REQUIRED belief_model)
actlens_cli_test(steer_belief_bad_index 2 "--from '#x': write a belief index as #N" ${BG_O}/u9 -- steer --model ${BG_TINY} --from "#x" --to F --out ${BG_O}/u9)
set_tests_properties(cli.steer_belief_bad_index PROPERTIES FIXTURES_REQUIRED belief_model)

# --- bad input: one line, exit 1 (data) or 2 (usage), nothing written
actlens_cli_test(train_unknown_process 2 "--process: unknown 'rrxorr'" ${BG_O}/u1 -- train --process rrxorr --out ${BG_O}/u1)
actlens_cli_test(train_zero_steps 2 "--steps: must be >= 1" ${BG_O}/u2 -- train --steps 0 --out ${BG_O}/u2)
actlens_cli_test(train_bad_process_file 1 "bad_row_sum\\.json: row 0" ${BG_O}/e1 -- train --process ${PR_BAD}/bad_row_sum.json --out ${BG_O}/e1)
actlens_cli_test(train_heads 1 "d_model|n_heads|d_head" ${BG_O}/e2 -- train --d-model 0 --out ${BG_O}/e2)
actlens_cli_test(beliefs_missing_model 1 "nope.*(missing|not a folder|no such)" ${BG_O}/e3 -- beliefs --model ${BG_O}/nope --out ${BG_O}/e3)
actlens_cli_test(beliefs_wrong_process 1 "3 symbols, but the model's d_vocab is 2" ${BG_O}/e4 -- beliefs --model ${BG_TINY} --process mess3 --out ${BG_O}/e4)
set_tests_properties(cli.beliefs_wrong_process PROPERTIES FIXTURES_REQUIRED belief_model)
actlens_cli_test(beliefs_bad_fraction 2 "--test-fraction" ${BG_O}/u3 -- beliefs --model ${BG_TINY} --test-fraction 1 --out ${BG_O}/u3)
actlens_cli_test(beliefs_depth_too_large 2 "--depth" ${BG_O}/u4 -- beliefs --model ${BG_TINY} --depth 60 --out ${BG_O}/u4)
set_tests_properties(cli.beliefs_depth_too_large PROPERTIES FIXTURES_REQUIRED belief_model)
actlens_cli_test(steer_belief_out_of_range 2 "--from 99: belief index out of range. the MSP has 36" ${BG_O}/u5 -- steer --model ${BG_TINY} --from 99 --to F --out ${BG_O}/u5)
set_tests_properties(cli.steer_belief_out_of_range PROPERTIES FIXTURES_REQUIRED belief_model)
actlens_cli_test(steer_unknown_belief 2 "--to 'X': no such belief" ${BG_O}/u6 -- steer --model ${BG_TINY} --from T --to X --out ${BG_O}/u6)
set_tests_properties(cli.steer_unknown_belief PROPERTIES FIXTURES_REQUIRED belief_model)
actlens_cli_test(steer_pattern_hook 2 "not a residual-width activation" ${BG_O}/u7 -- steer --model ${BG_TINY} --from T --to F --hooks blocks.0.attn.hook_pattern --out ${BG_O}/u7)
set_tests_properties(cli.steer_pattern_hook PROPERTIES FIXTURES_REQUIRED belief_model)
# A checkpoint missing a weight: the 2-block tiny model's config.json with a 1-block model.pt.
add_test(NAME cli.belief_broken_setup
         COMMAND sh -c "rm -rf ${BG_O}/broken && mkdir -p ${BG_O}/broken && cp ${BG_TINY}/config.json ${BG_O}/broken/ && cp ${BG_O}/cfg/model.pt ${BG_O}/broken/model.pt")
set_tests_properties(cli.belief_broken_setup PROPERTIES DEPENDS "cli.train_config_file" FIXTURES_REQUIRED belief_model FIXTURES_SETUP belief_broken)
actlens_cli_test(beliefs_missing_weight 1 "model\\.pt.*blocks\\.1\\." ${BG_O}/e5 -- beliefs --model ${BG_O}/broken --out ${BG_O}/e5)
set_tests_properties(cli.beliefs_missing_weight PROPERTIES FIXTURES_REQUIRED belief_broken)
