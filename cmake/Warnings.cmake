# An INTERFACE target carrying the project's warning flags; every target of ours links it
# privately, so third-party headers (Eigen, CLI11) are not held to them.
add_library(actlens_warnings INTERFACE)
target_compile_options(actlens_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough
  # g++ 12 reports false positives inside libstdc++ for these two at -O2
  -Wno-maybe-uninitialized -Wno-restrict)
if(ACTLENS_WERROR)
  target_compile_options(actlens_warnings INTERFACE -Werror)
endif()
