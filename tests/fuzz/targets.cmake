# The fuzz targets (tests/fuzz/fuzz_<name>.cpp), shared by the libFuzzer build (CMakeLists.txt
# here) and the replay tests of the normal build (replay_tests.cmake). `config` also compiles
# apps/actlens/cli_common.cpp (the --config reader lives there).
set(ACTLENS_FUZZ_TARGETS
  pickle zip torch npy npz safetensors embeddings tokenizer_files tokenizer config process_json
  csv text_corpus scores)
