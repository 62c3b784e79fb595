# Included by tests/CMakeLists.txt: every fuzz target (tests/fuzz/fuzz_<t>.cpp) linked with a
# plain main() (replay_main.cpp) instead of libFuzzer, and run as CTest test fuzz.replay.<t> over
# its committed regressions (tests/fuzz/regressions/<t>/) and seed corpus (tests/fuzz/corpus/<t>/).
# So every crash the fuzzers found stays a test of the normal build and of the asan preset.
set(ACTLENS_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
include(${ACTLENS_FUZZ_DIR}/targets.cmake)
add_library(actlens_fuzz_replay_main OBJECT ${ACTLENS_FUZZ_DIR}/replay_main.cpp)
target_link_libraries(actlens_fuzz_replay_main PRIVATE actlens_warnings)
foreach(t ${ACTLENS_FUZZ_TARGETS})
  add_executable(fuzz_replay_${t} ${ACTLENS_FUZZ_DIR}/fuzz_${t}.cpp
                                  $<TARGET_OBJECTS:actlens_fuzz_replay_main>)
  target_link_libraries(fuzz_replay_${t} PRIVATE actlens_io actlens_core actlens_warnings)
  target_compile_definitions(fuzz_replay_${t} PRIVATE
                             ACTLENS_FUZZ_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data")
  add_test(NAME fuzz.replay.${t}
           COMMAND fuzz_replay_${t} ${ACTLENS_FUZZ_DIR}/regressions/${t}
                   ${ACTLENS_FUZZ_DIR}/corpus/${t})
  set_tests_properties(fuzz.replay.${t} PROPERTIES TIMEOUT 300)
endforeach()
target_sources(fuzz_replay_config PRIVATE ${PROJECT_SOURCE_DIR}/apps/actlens/cli_common.cpp)
target_include_directories(fuzz_replay_config PRIVATE ${PROJECT_SOURCE_DIR}/apps/actlens)
target_link_libraries(fuzz_replay_config PRIVATE actlens_report CLI11::CLI11 spdlog::spdlog
                                                 tomlplusplus::tomlplusplus)
