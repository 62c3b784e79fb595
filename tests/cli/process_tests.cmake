# CLI tests of `actlens process` (seed belief-geometry-steering): the seed's MSP counts, the
# files `process beliefs` writes, and refusals of bad input. The numbers themselves are checked
# against numpy by tests/reference/test_msp_reference.cpp.
set(PR_O ${O}/process)
set(PR_BAD ${CMAKE_CURRENT_SOURCE_DIR}/data/processes)
set(PR_CFG ${CMAKE_SOURCE_DIR}/configs/processes)

actlens_cli_test(process_info_rrxor 0 "Bayes-optimal loss \\(mean over k = 1\\.\\.10\\): 0\\.57818507[0-9]* nats" - -- process info --process rrxor --depth 11 --n-ctx 10 --json ${WORK}/process_info_rrxor.json)
add_test(NAME cli.process_info_counts
         COMMAND sh -c "grep -q '\"n_tree_beliefs\": 1723' ${WORK}/process_info_rrxor.json && grep -q '\"n_unique_beliefs\": 36' ${WORK}/process_info_rrxor.json && grep -q '\"n_inputs\": 436' ${WORK}/process_info_rrxor.json")
set_tests_properties(cli.process_info_counts PROPERTIES DEPENDS cli.process_info_rrxor)
actlens_cli_test(process_info_file 0 "Bayes-optimal loss \\(mean over k = 1\\.\\.10\\): 0\\.57818507" - -- process info --process-file ${PR_CFG}/rrxor.json)
actlens_cli_test(process_info_mess3 0 "Bayes-optimal loss \\(mean over k = 1\\.\\.6\\)" - -- process info --process mess3 --x 0.15 --alpha 0.6 --depth 6 --n-ctx 6)
actlens_cli_test(process_beliefs_rrxor 0 "results in" ${PR_O}/rrxor -- process beliefs --process rrxor --depth 11 --n-ctx 10 --out ${PR_O}/rrxor)
add_test(NAME cli.process_beliefs_files
         COMMAND sh -c "test $(wc -l < ${PR_O}/rrxor/beliefs.csv) = 37 && test $(wc -l < ${PR_O}/rrxor/tree.csv) = 1724 && grep -q ',State T,' ${PR_O}/rrxor/beliefs.csv && grep -q ',State F,' ${PR_O}/rrxor/beliefs.csv && test -s ${PR_O}/rrxor/inputs.npy && test -s ${PR_O}/rrxor/input_beliefs.npy && test -s ${PR_O}/rrxor/input_belief_indices.npy && test -s ${PR_O}/rrxor/run.json && test -s ${PR_O}/rrxor/process.json")
set_tests_properties(cli.process_beliefs_files PROPERTIES DEPENDS cli.process_beliefs_rrxor)
# process.json names only the beliefs whose name is not "belief <index>" (rrxor: State T, State F),
# and reads back as a process file with the same loss.
add_test(NAME cli.process_json_names_only_states
         COMMAND sh -c "grep -q '\"default\": \"belief <index>\"' ${PR_O}/rrxor/process.json && test $(grep -c '\"State [TF]\"' ${PR_O}/rrxor/process.json) = 2 && ! grep -q '\"belief [0-9]' ${PR_O}/rrxor/process.json")
set_tests_properties(cli.process_json_names_only_states PROPERTIES DEPENDS cli.process_beliefs_rrxor)
actlens_cli_test(process_json_reads_back 0 "Bayes-optimal loss \\(mean over k = 1\\.\\.10\\): 0\\.57818507" - -- process info --process-file ${PR_O}/rrxor/process.json --depth 11 --n-ctx 10)
set_tests_properties(cli.process_json_reads_back PROPERTIES DEPENDS cli.process_beliefs_rrxor)
# A file written before (every name in "unique_belief_names") still loads.
actlens_cli_test(process_json_old_names 0 "Bayes-optimal loss \\(mean over k = 1\\.\\.10\\): 0\\.57818507" - -- process info --process-file ${PR_BAD}/rrxor_old_process.json --depth 11 --n-ctx 10)
# mess3 at depth 11 has 265,720 unique beliefs: process.json stays small (it was 6 MB).
actlens_cli_test(process_beliefs_mess3 0 "results in" ${PR_O}/mess3 -- process beliefs --process mess3 --depth 11 --n-ctx 10 --out ${PR_O}/mess3)
add_test(NAME cli.process_json_mess3_small
         COMMAND sh -c "test $(wc -c < ${PR_O}/mess3/process.json) -lt 20000 && grep -q '\"n_unique_beliefs\": 2[0-9][0-9][0-9][0-9][0-9]' ${PR_O}/mess3/process.json")
set_tests_properties(cli.process_json_mess3_small PROPERTIES DEPENDS cli.process_beliefs_mess3)

# --- bad input: one line, exit 1 (data) or 2 (usage), nothing written
actlens_cli_test(process_unknown 2 "--process: unknown 'rrxorr'" ${PR_O}/u1 -- process beliefs --process rrxorr --out ${PR_O}/u1)
actlens_cli_test(process_depth_too_large 2 "--depth: .* to depth 40 has more than 1000 nodes" ${PR_O}/u2 -- process beliefs --process rrxor --depth 40 --max-nodes 1000 --out ${PR_O}/u2)
actlens_cli_test(process_depth_below_ctx 2 "--depth 5: must be >= --n-ctx \\(10\\)" ${PR_O}/u3 -- process beliefs --depth 5 --out ${PR_O}/u3)
actlens_cli_test(process_mess3_x 2 "--x: must be in \\[0, 0\\.5\\]" - -- process info --process mess3 --x 0.9)
actlens_cli_test(process_bad_rows 1 "bad_row_sum\\.json: row 0 \\(state 'A'\\) of sum_x transitions\\[x\\] sums to 0\\.9" ${PR_O}/e1 -- process beliefs --process-file ${PR_BAD}/bad_row_sum.json --out ${PR_O}/e1)
actlens_cli_test(process_negative 1 "negative\\.json: transitions\\[1\\]\\[1\\]\\[1\\]" - -- process info --process-file ${PR_BAD}/negative.json)
actlens_cli_test(process_missing_file 1 "nope\\.json: cannot open" - -- process info --process-file ${PR_BAD}/nope.json)
