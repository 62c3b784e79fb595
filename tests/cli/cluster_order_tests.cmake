# `actlens cluster A B` keeps the order given in its listing, cluster.json, run.json and figure
# links (issue 18: it sorted by folder name, small300 before small50); both orders are run.
add_test(NAME cli.cluster_keeps_given_order
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/cluster_order.sh $<TARGET_FILE:actlens>
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings
                 ${CMAKE_CURRENT_BINARY_DIR}/cli-cluster-order)
set_tests_properties(cli.cluster_keeps_given_order PROPERTIES ENVIRONMENT "ACTLENS_PLOTLY=file")
