# CLI tests of the figures (issue 8): every analysis draws figures/*.html + index.html by default
# (inline plotly.js), --no-figures skips them, `actlens report` re-draws a finished run, and bad
# uses fail with one line. The pages themselves are opened in Chromium by tests/browser/.
set(FG_O ${O}/figures)
set(FG_ENV "ACTLENS=$<TARGET_FILE:actlens>")  # no ACTLENS_PLOTLY: the defaults

actlens_cli_test(fig_lda_default 0 "results in" ${FG_O}/lda -- lda --data ${EXAMPLE} --layer 22 --out ${FG_O}/lda)
set_tests_properties(cli.fig_lda_default PROPERTIES ENVIRONMENT "${FG_ENV}")
add_test(NAME cli.fig_lda_default_files
         COMMAND sh -c "test -s ${FG_O}/lda/index.html && grep -q 'figures/layer22_component_1.html' ${FG_O}/lda/index.html && grep -q 'plotly.js v[0-9]' ${FG_O}/lda/figures/layer22_component_1.html && grep -q 'actlens-figure-spec' ${FG_O}/lda/figures/layer22_eigenvalues.html && test ! -e ${FG_O}/lda/figures/plotly.min.js && grep -q '\"plotly\": \"inline\"' ${FG_O}/lda/run.json && grep -q '\"plotly_version\"' ${FG_O}/lda/run.json")
set_tests_properties(cli.fig_lda_default_files PROPERTIES DEPENDS cli.fig_lda_default)

# --plotly file: one plotly.min.js beside small pages
actlens_cli_test(fig_rsa_file 0 "results in" ${FG_O}/rsa -- rsa ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings/small50.txt ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings/small300.txt --words ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings/seed_words.txt --permutations 10 --plotly file --out ${FG_O}/rsa)
add_test(NAME cli.fig_rsa_file_files
         COMMAND sh -c "test -s ${FG_O}/rsa/figures/plotly.min.js && test -s ${FG_O}/rsa/figures/cosine_matrices.html && grep -q 'src=\"plotly.min.js\"' ${FG_O}/rsa/figures/rsa_scatter.html && test $(wc -c < ${FG_O}/rsa/figures/rsa_scatter.html) -lt 200000")
set_tests_properties(cli.fig_rsa_file_files PROPERTIES DEPENDS cli.fig_rsa_file)

actlens_cli_test(fig_none 0 "results in" ${FG_O}/none -- pca --activations ${PCA_REF}/l2_seed/X.npy --labels ${PCA_REF}/l2_seed/labels.csv --no-figures --out ${FG_O}/none)
add_test(NAME cli.fig_none_files
         COMMAND sh -c "test -s ${FG_O}/none/projections.csv && test ! -e ${FG_O}/none/figures && test ! -e ${FG_O}/none/index.html")
set_tests_properties(cli.fig_none_files PROPERTIES DEPENDS cli.fig_none)
# ... and `actlens report` draws them afterwards, from the outputs alone
actlens_cli_test(fig_report_redraw 0 "2 figures, open" - -- report ${FG_O}/none)
set_tests_properties(cli.fig_report_redraw PROPERTIES DEPENDS cli.fig_none_files ENVIRONMENT "${FG_ENV}")
add_test(NAME cli.fig_report_redraw_files
         COMMAND sh -c "test -s ${FG_O}/none/figures/scatter_3d.html && test -s ${FG_O}/none/figures/explained_variance.html && test -s ${FG_O}/none/index.html && grep -q '\"plotly_version\"' ${FG_O}/none/run.json")
set_tests_properties(cli.fig_report_redraw_files PROPERTIES DEPENDS cli.fig_report_redraw)

# --png without a browser: the figures are written, the PNGs skipped with a warning
actlens_cli_test(fig_png_without_chromium 0 "results in" ${FG_O}/png -- tsne ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings/small50.txt --words ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings/seed_words.txt --perplexity 5 --png --out ${FG_O}/png)
set_tests_properties(cli.fig_png_without_chromium PROPERTIES ENVIRONMENT "${FG_ENV};ACTLENS_CHROMIUM=${WORK}/no-such-chromium")
add_test(NAME cli.fig_png_without_chromium_files
         COMMAND sh -c "test -s ${FG_O}/png/figures/embedding.html && test ! -e ${FG_O}/png/figures/embedding.png && grep -q 'skipped: no Chromium' ${FG_O}/png/run.json")
set_tests_properties(cli.fig_png_without_chromium_files PROPERTIES DEPENDS cli.fig_png_without_chromium)

# --- bad uses: one line, non-zero exit
actlens_cli_test(fig_bad_plotly 2 "--plotly" ${FG_O}/e1 -- pca --activations ${PCA_REF}/l2_seed/X.npy --plotly offline --out ${FG_O}/e1)
actlens_cli_test(report_missing_folder 1 "does-not-exist: no such folder" - -- report ${WORK}/does-not-exist)
actlens_cli_test(report_not_a_run 1 "run\\.json: missing: not an actlens results folder" - -- report ${CMAKE_CURRENT_SOURCE_DIR}/data/embeddings)
actlens_cli_test(fig_process_run 0 "results in" ${FG_O}/process -- process beliefs --process rrxor --depth 4 --n-ctx 3 --out ${FG_O}/process)
actlens_cli_test(report_no_figures_for_command 1 "'process beliefs' runs have no figures" - -- report ${FG_O}/process)
set_tests_properties(cli.report_no_figures_for_command PROPERTIES DEPENDS cli.fig_process_run)
# a run missing one of its outputs: the error names the file
add_test(NAME cli.fig_broken_run_setup
         COMMAND sh -c "rm -rf ${FG_O}/broken && cp -r ${FG_O}/lda ${FG_O}/broken && rm ${FG_O}/broken/layer22/role_projections.csv ${FG_O}/broken/layer22/class_means_projected.csv")
set_tests_properties(cli.fig_broken_run_setup PROPERTIES DEPENDS cli.fig_lda_default_files)
actlens_cli_test(report_missing_output 1 "class_means_projected\\.csv" - -- report ${FG_O}/broken)
set_tests_properties(cli.report_missing_output PROPERTIES DEPENDS cli.fig_broken_run_setup)
