#pragma once
// The few BLAS/LAPACK routines core needs, behind small wrappers. The Fortran symbols are declared
// only in lapack.cpp (Eigen with EIGEN_USE_BLAS declares some of them differently).
#include <cstddef>

namespace actlens::core::lapack {

// Checked narrowing of Eigen sizes to LAPACK's 32-bit ints.
int to_int(std::ptrdiff_t n);

// c[n, n] (column-major, lower triangle) += a^T a where a is [k, n] row-major (= [n, k] col-major).
void syrk_lower_add(const double* a, int n, int k, double* c);

// c[n, n] (column-major, lower triangle) = a^T a in float32, a [k, n] row-major.
void ssyrk_lower(const float* a, int n, int k, float* c);

// In-place Cholesky of the lower triangle; returns LAPACK's info (0 = success).
int potrf_lower(double* a, int n);
// Solves A X = B with A's Cholesky factor from potrf_lower; b is [n, nrhs] column-major.
void potrs_lower(const double* factor, int n, double* b, int nrhs);
// Eigenvalues ascending into w, eigenvectors overwrite a (column-major); returns info.
int syevd(double* a, int n, double* w);
// Generalized symmetric-definite problem A x = lambda B x (A symmetric, B positive definite; lower
// triangles used): eigenvalues ascending into w, eigenvectors overwrite a, normalised so that
// x^T B x = 1 (as scipy.linalg.eigh(a, b)); b is overwritten by its Cholesky factor. Returns info
// (> n: B is not positive definite).
int sygvd(double* a, double* b, int n, double* w);
// Minimum-norm least squares min ||b - a x|| by SVD with divide and conquer (dgelsd, scipy.linalg.
// lstsq's default driver). a [m, n] column-major (lda = m) is overwritten; b [max(m, n), nrhs]
// column-major (ldb = max(m, n)) holds the right-hand sides in its first m rows and receives x in
// its first n rows; s [min(m, n)] receives the singular values, descending; singular values
// <= rcond * s[0] count as zero (rcond < 0: machine epsilon). Returns info (> 0: the SVD did not
// converge) and the effective rank in `rank`.
int gelsd(int m, int n, int nrhs, double* a, double* b, double* s, double rcond, int& rank);

}  // namespace actlens::core::lapack
