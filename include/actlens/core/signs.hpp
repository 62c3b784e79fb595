#pragma once
// The sign convention of every component (LDA, PCA, GED): eigenvectors and singular vectors are
// defined up to sign, so results are made comparable across runs and libraries by flipping each
// row so that its largest-magnitude coordinate is positive (sklearn's svd_flip does the same).
#include "actlens/core/types.hpp"

namespace actlens::core {

// rows: [k, d] components, flipped in place.
void normalize_signs(RowMatrixXd& rows);

}  // namespace actlens::core
