# --out safety (tests/cli/output_safety.sh): never delete a file actlens did not write, never
# replace an input, one run per folder (a lock), Ctrl-C/SIGTERM at every phase leaves the old
# result, killed runs' leftovers are cleaned and a hidden old result is put back.
foreach(s foreign_file old_run_json replace_own out_is_input dbscan_on_itself lock_held signals
          leftovers trailing_slash)
  add_test(NAME cli.output_safety.${s}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/output_safety.sh ${s}
                   ${CMAKE_CURRENT_BINARY_DIR}/cli_work/output_safety
                   ${CMAKE_CURRENT_SOURCE_DIR}/data/roles_example)
  set_tests_properties(cli.output_safety.${s} PROPERTIES
                       ENVIRONMENT "ACTLENS=$<TARGET_FILE:actlens>;ACTLENS_PLOTLY=file"
                       TIMEOUT 300)
endforeach()
