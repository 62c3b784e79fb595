# CLI tests of `actlens pca` and `actlens ged` (the GPT-2 seeds' analyses). The numbers in the
# files they write are checked against sklearn / the seed's code by hidden Catch2 cases
# ("[.cli-output]" in tests/reference/test_{pca,ged}_reference.cpp) that run after them.
set(PCA_REF ${CMAKE_CURRENT_SOURCE_DIR}/reference/pca)
set(GED_REF ${CMAKE_CURRENT_SOURCE_DIR}/reference/ged)
set(AB ${CMAKE_CURRENT_SOURCE_DIR}/data/analysis)
set(PO ${O}/pca)
set(GO ${O}/ged)

# --- pca on every sklearn fixture, with the options its meta.json names
set(PCA_RUNS "")
function(pca_case name)
  actlens_cli_test(pca_${name} 0 "results in" ${PO}/${name} -- pca --activations ${PCA_REF}/${name}/X.npy --labels ${PCA_REF}/${name}/labels.csv ${ARGN} --out ${PO}/${name})
  set(PCA_RUNS ${PCA_RUNS} cli.pca_${name} PARENT_SCOPE)
endfunction()
pca_case(tall -k 3 --normalize none --apply-to ${PCA_REF}/tall/apply_X.npy)
pca_case(tall_full -k all --normalize none)
pca_case(wide -k 5 --normalize none)
pca_case(wide_full -k all --normalize none --solver gram)
pca_case(l2_seed)
pca_case(standard -k 4 --normalize standard)
pca_case(gap_randomized -k 5 --normalize none --solver lanczos)
add_test(NAME cli.pca_files_equal_sklearn COMMAND actlens_tests "Files written by actlens pca equal sklearn")
set_tests_properties(cli.pca_files_equal_sklearn PROPERTIES DEPENDS "${PCA_RUNS}"
                     ENVIRONMENT "ACTLENS_PCA_OUT=${PO}")

# --- ged on the seed fixtures' saved activations ([N, L, D] files + labels)
set(GED_RUNS "")
foreach(c tiny_him_her synthetic_wide synthetic_tall)
  actlens_cli_test(ged_${c} 0 "results in" ${GO}/${c} -- ged --activations ${GED_REF}/${c}/train.npy --labels ${GED_REF}/${c}/train_labels.csv --test ${GED_REF}/${c}/test.npy --test-labels ${GED_REF}/${c}/test_labels.csv --out ${GO}/${c})
  list(APPEND GED_RUNS cli.ged_${c})
endforeach()
add_test(NAME cli.ged_files_equal_seed COMMAND actlens_tests "Files written by actlens ged equal the seed")
set_tests_properties(cli.ged_files_equal_seed PROPERTIES DEPENDS "${GED_RUNS}"
                     ENVIRONMENT "ACTLENS_GED_OUT=${GO};ACTLENS_GED_CASES=tiny_him_her,synthetic_wide,synthetic_tall")
# the plain component rule and a subset of layers
actlens_cli_test(ged_pca_variance 0 "results in" ${GO}/plain -- ged --activations ${GED_REF}/synthetic_wide/train.npy --labels ${GED_REF}/synthetic_wide/train_labels.csv --layers 1-2 --pca-variance 99 --out ${GO}/plain)
add_test(NAME cli.ged_pca_variance_keeps_one_more
         COMMAND sh -c "grep -q '^0,layer1,.*,16,' ${GO}/plain/ged_layers.csv && grep -q '^1,layer2,.*,21,' ${GO}/plain/ged_layers.csv")
set_tests_properties(cli.ged_pca_variance_keeps_one_more PROPERTIES DEPENDS cli.ged_pca_variance)
# --a/--b: one file per class gives the same table as one file with labels
actlens_cli_test(ged_labels_small 0 "results in" ${GO}/labels_small -- ged --activations ${AB}/good.npy --labels ${AB}/two_classes.csv --pca-variance 95 --out ${GO}/labels_small)
# (--classes a,b: the labels' names, which ged_layers.csv records in class_a/class_b)
actlens_cli_test(ged_two_files 0 "results in" ${GO}/pair -- ged --a ${AB}/class_a.npy --b ${AB}/class_b.npy --classes a,b --pca-variance 95 --out ${GO}/pair)
add_test(NAME cli.ged_two_files_equal_labels COMMAND ${CMAKE_COMMAND} -E compare_files ${GO}/pair/ged_layers.csv ${GO}/labels_small/ged_layers.csv)
set_tests_properties(cli.ged_two_files_equal_labels PROPERTIES DEPENDS "cli.ged_two_files;cli.ged_labels_small")
# ged_layers.csv says which labels "a" and "b" of its column names are: class_a/class_b columns
# (the tiny him/her fixture: labels "him" and "her", him first).
add_test(NAME cli.ged_columns_name_classes
         COMMAND sh -c "head -1 ${GO}/tiny_him_her/ged_layers.csv | grep -q '^index,layer,class_a,class_b,train_abs_t_a_gt_b,' && test $(grep -c '^[0-9]*,[^,]*,him,her,' ${GO}/tiny_him_her/ged_layers.csv) = $(($(wc -l < ${GO}/tiny_him_her/ged_layers.csv) - 1))")
set_tests_properties(cli.ged_columns_name_classes PROPERTIES DEPENDS cli.ged_tiny_him_her)

# --- bad input: one line, exit 1 (data) or 2 (usage), nothing written
actlens_cli_test(pca_nan 1 "nan\\.npy: row 7 has NaN/Inf" ${PO}/e1 -- pca --activations ${AB}/nan.npy --out ${PO}/e1)
actlens_cli_test(pca_label_count 1 "short_labels\\.csv: 5 labels for 20 rows" ${PO}/e2 -- pca --activations ${AB}/good.npy --labels ${AB}/short_labels.csv --out ${PO}/e2)
actlens_cli_test(pca_constant 1 "every feature is constant" ${PO}/e3 -- pca --activations ${AB}/constant.npy --out ${PO}/e3)
actlens_cli_test(pca_missing 1 "nope\\.npy: no such file" ${PO}/e4 -- pca --activations ${WORK}/nope.npy --out ${PO}/e4)
actlens_cli_test(pca_layer_range 1 "layer 5 is out of range \\(0\\.\\.1\\)" ${PO}/e5 -- pca --activations ${AB}/good_layers.npy --layer 5 --out ${PO}/e5)
actlens_cli_test(pca_too_many_k 2 "-k 9: at most min\\(samples, features\\) = 8" ${PO}/u1 -- pca --activations ${AB}/good.npy -k 9 --out ${PO}/u1)
actlens_cli_test(pca_k_zero 2 "--components: a positive number of components or .all." ${PO}/u2 -- pca --activations ${AB}/good.npy -k 0 --out ${PO}/u2)
actlens_cli_test(pca_no_layer 2 "--layer: .*holds 2 layers" ${PO}/u3 -- pca --activations ${AB}/good_layers.npy --out ${PO}/u3)
actlens_cli_test(pca_bad_normalize 2 "--normalize: use .l2., .center., .standard. or .none." ${PO}/u4 -- pca --activations ${AB}/good.npy --normalize zscore --out ${PO}/u4)
actlens_cli_test(ged_one_class 1 "one_class\\.csv: GED compares two classes, but the labels have 1" ${GO}/e1 -- ged --activations ${AB}/good.npy --labels ${AB}/one_class.csv --out ${GO}/e1)
actlens_cli_test(ged_lone_sample 1 "each class needs at least 2 training rows \\(got 19 and 1\\)" ${GO}/e2 -- ged --activations ${AB}/good.npy --labels ${AB}/lone_b.csv --out ${GO}/e2)
actlens_cli_test(ged_three_classes 1 "labels have 3 \\(a, b, c\\). pick two with --classes" ${GO}/e3 -- ged --activations ${AB}/good.npy --labels ${AB}/three_classes.csv --out ${GO}/e3)
actlens_cli_test(ged_label_count 1 "has 20 rows but .*short_labels\\.csv has 5 labels" ${GO}/e4 -- ged --activations ${AB}/good.npy --labels ${AB}/short_labels.csv --out ${GO}/e4)
actlens_cli_test(ged_nan 1 "nan\\.npy: row 7 has NaN/Inf" ${GO}/e5 -- ged --activations ${AB}/nan.npy --labels ${AB}/two_classes.csv --out ${GO}/e5)
actlens_cli_test(ged_inf_layer 1 "inf_layers\\.npy \\(layer1\\): row 12 has NaN/Inf" ${GO}/e6 -- ged --activations ${AB}/inf_layers.npy --labels ${AB}/two_classes.csv --out ${GO}/e6)
actlens_cli_test(ged_constant 1 "activations are constant" ${GO}/e7 -- ged --activations ${AB}/constant.npy --labels ${AB}/two_classes.csv --out ${GO}/e7)
actlens_cli_test(ged_test_class_missing 1 "no test row is labelled 'c'" ${GO}/e8 -- ged --activations ${AB}/good.npy --labels ${AB}/three_classes.csv --classes a,c --test ${AB}/good.npy --test-labels ${AB}/two_classes.csv --out ${GO}/e8)
actlens_cli_test(ged_layer_range 1 "--layers 3: layer out of range" ${GO}/e9 -- ged --activations ${AB}/good_layers.npy --labels ${AB}/two_classes.csv --layers 3 --out ${GO}/e9)
actlens_cli_test(ged_test_width 1 "test rows have 12 features, training rows 8" ${GO}/e10 -- ged --activations ${AB}/good.npy --labels ${AB}/two_classes.csv --test ${AB}/wider.npy --test-labels ${AB}/two_classes.csv --out ${GO}/e10)
actlens_cli_test(pca_apply_wider 1 "wider\\.npy: rows have 12 features, but the fit set" ${PO}/e7 -- pca --activations ${AB}/good.npy --apply-to ${AB}/wider.npy --out ${PO}/e7)
actlens_cli_test(ged_no_labels 2 "--labels: .*has no labels\\.csv" ${GO}/u1 -- ged --activations ${AB}/good.npy --out ${GO}/u1)
actlens_cli_test(ged_half_pair 2 "--a and --b go together" ${GO}/u2 -- ged --a ${AB}/good.npy --out ${GO}/u2)
actlens_cli_test(ged_bad_shrinkage 2 "--shrinkage: must be a number in 0\\.\\.1" ${GO}/u3 -- ged --activations ${AB}/good.npy --labels ${AB}/two_classes.csv --shrinkage 2 --out ${GO}/u3)
