# The layers of docs/ARCHITECTURE.md (apps -> model, report -> io -> core), enforced by the
# compiler: each library gets an include root of its own that holds only its own headers, and
# sees the headers of the layers below only through what it links. So a core/ file that includes
# "actlens/io/npy.hpp" fails to compile ("No such file or directory") instead of building because
# every library exported the whole include/ folder. tests/layering/ proves it (CTest label
# `layering`).
#
# The roots are made at configure time under ${ACTLENS_LAYER_INCLUDE} (no copies: symlinks, so an
# edit or a new header in include/actlens/<layer>/ is seen at once):
#   include-layers/<layer>/actlens/<layer> -> include/actlens/<layer>    (core, io, report, model)
#   include-layers/base/actlens/<name>.hpp -> include/actlens/<name>.hpp (each top-level header,
#                                             e.g. error.hpp: shared by every layer)
# The base root is the INTERFACE library actlens_base, which every library links.
# tests/fuzz (its own clang project, scripts/fuzz) still uses include/ as a whole.
set(ACTLENS_LAYER_INCLUDE "${CMAKE_BINARY_DIR}/include-layers")
set(ACTLENS_LAYERS core io report model)

# Makes (or keeps, when it already points there) the symlink `link` -> `target`.
function(actlens_symlink target link)
  if(IS_SYMLINK "${link}")
    file(READ_SYMLINK "${link}" current)
    if(current STREQUAL target)
      return()
    endif()
  endif()
  # No COPY_ON_ERROR: a copy would go stale silently; this build needs a file system with symlinks.
  file(CREATE_LINK "${target}" "${link}" SYMBOLIC)
endfunction()

foreach(layer ${ACTLENS_LAYERS})
  file(MAKE_DIRECTORY "${ACTLENS_LAYER_INCLUDE}/${layer}/actlens")
  actlens_symlink("${PROJECT_SOURCE_DIR}/include/actlens/${layer}"
                  "${ACTLENS_LAYER_INCLUDE}/${layer}/actlens/${layer}")
endforeach()

# The top-level headers one link each (a link to include/actlens itself would expose every
# layer). CONFIGURE_DEPENDS: a header added there re-runs CMake at the next build, which links it.
file(MAKE_DIRECTORY "${ACTLENS_LAYER_INCLUDE}/base/actlens")
file(GLOB ACTLENS_BASE_HEADERS CONFIGURE_DEPENDS LIST_DIRECTORIES false
     "${PROJECT_SOURCE_DIR}/include/actlens/*.hpp")
set(_actlens_base_links "")
foreach(header ${ACTLENS_BASE_HEADERS})
  get_filename_component(name "${header}" NAME)
  actlens_symlink("${header}" "${ACTLENS_LAYER_INCLUDE}/base/actlens/${name}")
  list(APPEND _actlens_base_links "${ACTLENS_LAYER_INCLUDE}/base/actlens/${name}")
endforeach()
# A header removed or moved from include/actlens/ (as core/error.hpp was) loses its link too, so
# nothing keeps compiling against a dangling or stale name.
file(GLOB _actlens_existing_links LIST_DIRECTORIES false "${ACTLENS_LAYER_INCLUDE}/base/actlens/*")
foreach(link ${_actlens_existing_links})
  if(NOT link IN_LIST _actlens_base_links)
    file(REMOVE "${link}")
  endif()
endforeach()

add_library(actlens_base INTERFACE)
target_include_directories(actlens_base INTERFACE "${ACTLENS_LAYER_INCLUDE}/base")
