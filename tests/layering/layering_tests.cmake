# Included by tests/CMakeLists.txt: CTest proof that the layers of docs/ARCHITECTURE.md are
# enforced by the include roots of cmake/Layers.cmake (label `layering`, a few seconds; the model
# control compiles LibTorch's headers once, under a minute).
#
# Each file here is compiled by an EXCLUDE_FROM_ALL object library set up as a source file of
# that layer sees the world: it links the layer's library (its include root + the roots of the
# layers below + actlens_base) and has the layer's private src/<layer> folder. A test builds it
# with `cmake --build`:
#   layering.<layer>_cannot_include_<above>  WILL_FAIL: <layer>_includes_<above>.cpp includes a
#                                            header of a layer above, which must not be found
#   layering.<layer>_can_include_<below>     the control: the same includes minus that one header
#                                            must build, so a failure above is the include rule,
#                                            not a broken setup
# Every header a *_cannot_* file names is included by some control too (io/npy.hpp by
# io_includes_core.cpp, report/writers.hpp by report_includes_io.cpp): a renamed header fails a
# control instead of letting a *_cannot_* test pass on a name that no longer exists.
set(ACTLENS_LAYERING_DIR ${CMAKE_CURRENT_LIST_DIR})

# actlens_layering_test(<test name> <layer> <source> <WILL_FAIL: TRUE|FALSE>)
function(actlens_layering_test name layer source will_fail)
  get_filename_component(stem ${source} NAME_WE)
  set(target actlens_layering_${stem})
  add_library(${target} OBJECT ${ACTLENS_LAYERING_DIR}/${source})
  # Not part of `all`: a *_cannot_* target never compiles; only its test builds it.
  set_target_properties(${target} PROPERTIES EXCLUDE_FROM_ALL TRUE)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/${layer})
  target_link_libraries(${target} PRIVATE actlens_${layer} actlens_warnings)
  add_test(NAME layering.${name}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --config $<CONFIG>
                   --target ${target})
  # RESOURCE_LOCK: two ninja processes must not work in one build tree at once (ctest -j).
  set_tests_properties(layering.${name} PROPERTIES LABELS layering WILL_FAIL ${will_fail}
                       RESOURCE_LOCK actlens_build_tree TIMEOUT 600)
endfunction()

actlens_layering_test(core_can_include_core core core_includes_core.cpp FALSE)
actlens_layering_test(core_cannot_include_io core core_includes_io.cpp TRUE)
actlens_layering_test(io_can_include_core io io_includes_core.cpp FALSE)
actlens_layering_test(io_cannot_include_report io io_includes_report.cpp TRUE)
actlens_layering_test(report_can_include_io report report_includes_io.cpp FALSE)
if(TARGET actlens_model)  # ACTLENS_WITH_TORCH
  actlens_layering_test(model_can_include_io model model_includes_io.cpp FALSE)
  actlens_layering_test(model_cannot_include_report model model_includes_report.cpp TRUE)
endif()
