#include "lapack.hpp"

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>
#include <vector>

// Fortran calling convention: LP64 ints, trailing hidden string lengths as gfortran passes them.
extern "C" {
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc,
            std::size_t uplo_len, std::size_t trans_len);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc,
            std::size_t uplo_len, std::size_t trans_len);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info,
             std::size_t uplo_len);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info, std::size_t uplo_len);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info,
             std::size_t jobz_len, std::size_t uplo_len);
void dsygvd_(const int* itype, const char* jobz, const char* uplo, const int* n, double* a,
             const int* lda, double* b, const int* ldb, double* w, double* work, const int* lwork,
             int* iwork, const int* liwork, int* info, std::size_t jobz_len, std::size_t uplo_len);
void dgelsd_(const int* m, const int* n, const int* nrhs, double* a, const int* lda, double* b,
             const int* ldb, double* s, const double* rcond, int* rank, double* work,
             const int* lwork, int* iwork, int* info);
}

namespace actlens::core::lapack {

int to_int(std::ptrdiff_t n) {
  if (n < 0 || n > INT_MAX)
    throw std::invalid_argument("matrix dimension " + std::to_string(n) +
                                " exceeds what 32-bit LAPACK accepts");
  return static_cast<int>(n);
}

void syrk_lower_add(const double* a, int n, int k, double* c) {
  if (n == 0 || k == 0) return;
  const double one = 1.0;
  dsyrk_("L", "N", &n, &k, &one, a, &n, &one, c, &n, 1, 1);
}

void ssyrk_lower(const float* a, int n, int k, float* c) {
  if (n == 0 || k == 0) return;
  const float one = 1.0f, zero = 0.0f;
  ssyrk_("L", "N", &n, &k, &one, a, &n, &zero, c, &n, 1, 1);
}

int potrf_lower(double* a, int n) {
  int info = 0;
  if (n > 0) dpotrf_("L", &n, a, &n, &info, 1);
  return info;
}

void potrs_lower(const double* factor, int n, double* b, int nrhs) {
  int info = 0;
  if (n > 0 && nrhs > 0) dpotrs_("L", &n, &nrhs, factor, &n, b, &n, &info, 1);
  if (info != 0) throw std::invalid_argument("dpotrs failed with info " + std::to_string(info));
}

int syevd(double* a, int n, double* w) {
  if (n == 0) return 0;
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_("V", "L", &n, a, &n, w, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevd_("V", "L", &n, a, &n, w, work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1);
  return info;
}

int sygvd(double* a, double* b, int n, double* w) {
  if (n == 0) return 0;
  const int itype = 1;  // A x = lambda B x
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsygvd_(&itype, "V", "L", &n, a, &n, b, &n, w, &work_query, &lwork, &iwork_query, &liwork, &info,
          1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(work_query) + 1;
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsygvd_(&itype, "V", "L", &n, a, &n, b, &n, w, work.data(), &lwork, iwork.data(), &liwork, &info,
          1, 1);
  return info;
}

int gelsd(int m, int n, int nrhs, double* a, double* b, double* s, double rcond, int& rank) {
  rank = 0;
  if (m == 0 || n == 0 || nrhs == 0) return 0;
  const int lda = m, ldb = m > n ? m : n;
  int info = 0, lwork = -1, iwork_query = 0;
  double work_query = 0;
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, s, &rcond, &rank, &work_query, &lwork, &iwork_query,
          &info);
  if (info != 0) return info;
  // The query's double may exceed INT_MAX for huge problems; to_int rejects that.
  lwork = to_int(static_cast<std::ptrdiff_t>(work_query) + 1);
  // Some LAPACKs leave iwork[0] unset on a query; fall back to the documented bound
  // 3 min(m, n) nlvl + 11 min(m, n), with nlvl <= 32 for any 32-bit size.
  const int minmn = m < n ? m : n;
  const std::size_t liwork = std::max<std::size_t>(static_cast<std::size_t>(iwork_query),
                                                   static_cast<std::size_t>(minmn) * (3 * 32 + 11));
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(liwork);
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, s, &rcond, &rank, work.data(), &lwork, iwork.data(),
          &info);
  return info;
}

}  // namespace actlens::core::lapack
