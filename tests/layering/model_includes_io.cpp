// Positive control of layering.model_cannot_include_report (layering_tests.cmake; only with
// ACTLENS_WITH_TORCH): built as a file of model/ is (include dirs of actlens_model + src/model),
// it must compile: model/ sees its own headers, io's and core's.
#include "actlens/core/finite.hpp"
#include "actlens/error.hpp"
#include "actlens/io/npy.hpp"
#include "actlens/model/hooks.hpp"
