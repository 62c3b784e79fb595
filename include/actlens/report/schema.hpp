#pragma once
// The files lda, pca, ged and rsa write, named once: the command that writes a file and the
// figure code (src/report/figures_*.cpp) that reads it back take the file names, CSV columns and
// the JSON keys the figures read from here, so the two cannot drift apart. Changing a value
// changes the output format: the bundled runs, the reference tests and `actlens compare` see it.
#include <cstddef>
#include <string>

namespace actlens::schema {

// "<prefix><i + 1>" for 0-based i: the per-component columns ("LD1", "PC3").
inline std::string numbered(const char* prefix, std::size_t i) {
  return prefix + std::to_string(i + 1);
}

// actlens lda: one folder per layer (layer<L>/, or the run folder for [N, d] input) holding
namespace lda {
inline constexpr const char* kLayerDirPrefix = "layer";  // "layer22"
inline constexpr const char* kJson = "lda.json";
inline constexpr const char* kComponents = "components.npy";  // [k, d]
inline constexpr const char* kEigenvalues = "eigenvalues.npy";
inline constexpr const char* kScaler = "scaler.npz";  // mean, scale
// class, role, score, count, LD1..LDk: the scaled class means projected
inline constexpr const char* kClassMeans = "class_means_projected.csv";
// role, score, label, name, norm, LD1..LDk: the pca file's role vectors projected
inline constexpr const char* kRoleProjections = "role_projections.csv";
// component, end, rank, role, label, value: the lowest and highest roles per component
inline constexpr const char* kRankings = "rankings.csv";
// component, PC1..PCp: cosine of each LDA component with each PC of the pca file
inline constexpr const char* kPcaCosine = "pca_cosine.csv";

inline constexpr const char* kClass = "class";
inline constexpr const char* kRole = "role";
inline constexpr const char* kScore = "score";
inline constexpr const char* kCount = "count";
inline constexpr const char* kLabel = "label";
inline constexpr const char* kName = "name";
inline constexpr const char* kNorm = "norm";  // |scaled role vector|: LDi / norm is a cosine
inline constexpr const char* kComponent = "component";
inline constexpr const char* kEnd = "end";  // kLowest or kHighest
inline constexpr const char* kRank = "rank";
inline constexpr const char* kValue = "value";
inline constexpr const char* kLowest = "lowest";
inline constexpr const char* kHighest = "highest";
inline constexpr const char* kLdPrefix = "LD";
inline constexpr const char* kPcPrefix = "PC";

// lda.json keys the figures read
inline constexpr const char* kJsonLayer = "layer";
inline constexpr const char* kJsonEigenvalues = "eigenvalues";
inline constexpr const char* kJsonCumulativeRatio = "cumulative_ratio";
}  // namespace lda

// actlens pca: one run folder
namespace pca {
inline constexpr const char* kJson = "pca.json";
inline constexpr const char* kComponents = "components.npy";  // [k, d]
inline constexpr const char* kMean = "mean.npy";
inline constexpr const char* kExplainedVariance = "explained_variance.npy";
inline constexpr const char* kScaler = "scaler.npz";  // --normalize center|standard
// <stem>.npy [N, k] and <stem>.csv: index, label, text, PC1..PCc
inline constexpr const char* kProjections = "projections";
inline constexpr const char* kProjectionsApplied = "projections_applied";  // --apply-to

inline constexpr const char* kIndex = "index";
inline constexpr const char* kLabel = "label";
inline constexpr const char* kText = "text";
inline constexpr const char* kPcPrefix = "PC";

// pca.json keys the figures read
inline constexpr const char* kJsonSpectrum = "spectrum";
inline constexpr const char* kJsonExplainedVarianceRatio = "explained_variance_ratio";
inline constexpr const char* kJsonComponentsFor = "components_for";
inline constexpr const char* kJsonElbow = "elbow";
}  // namespace pca

// actlens ged: ged_layers.csv and ged.json, and layers/<layer>/ per layer
namespace ged {
inline constexpr const char* kLayers = "ged_layers.csv";  // one row per layer, columns below
inline constexpr const char* kJson = "ged.json";
inline constexpr const char* kLayerDirs = "layers";
// Per layer: <kind>_<direction>.npy for kind filter|pattern|eigenvalues|vector and direction
// kAGtB|kBGtA, and projections.csv (split, row, label, projection_a_gt_b, projection_b_gt_a).
inline constexpr const char* kProjections = "projections.csv";
inline constexpr const char* kAGtB = "a_gt_b";
inline constexpr const char* kBGtA = "b_gt_a";

// ged_layers.csv
inline constexpr const char* kIndex = "index";
inline constexpr const char* kLayer = "layer";
// The labels of class a and class b (the same in every row), so that a CSV reader knows what the
// "a" and "b" of the column names below are without ged.json.
inline constexpr const char* kClassA = "class_a";
inline constexpr const char* kClassB = "class_b";
inline constexpr const char* kTrainAbsTAB = "train_abs_t_a_gt_b";
inline constexpr const char* kTrainPAB = "train_p_a_gt_b";
inline constexpr const char* kTrainAbsTBA = "train_abs_t_b_gt_a";
inline constexpr const char* kTrainPBA = "train_p_b_gt_a";
inline constexpr const char* kPatternAbsR = "pattern_abs_r";
inline constexpr const char* kPatternP = "pattern_p";
inline constexpr const char* kTestAbsTAB = "test_abs_t_a_gt_b";  // empty without a test set
inline constexpr const char* kTestPAB = "test_p_a_gt_b";
inline constexpr const char* kTestAbsTBA = "test_abs_t_b_gt_a";
inline constexpr const char* kTestPBA = "test_p_b_gt_a";
inline constexpr const char* kTopEigenvalueAB = "top_eigenvalue_a_gt_b";
inline constexpr const char* kTopEigenvalueBA = "top_eigenvalue_b_gt_a";
inline constexpr const char* kNComponents = "n_components";
inline constexpr const char* kVarianceKept = "variance_kept";

// layers/<layer>/projections.csv
inline constexpr const char* kSplit = "split";  // "train" or "test"
inline constexpr const char* kRow = "row";
inline constexpr const char* kLabel = "label";
inline constexpr const char* kProjectionAB = "projection_a_gt_b";
inline constexpr const char* kProjectionBA = "projection_b_gt_a";

// ged.json keys the figures read
inline constexpr const char* kJsonClasses = "classes";  // {"a": ..., "b": ...}
inline constexpr const char* kJsonBonferroniAlpha = "bonferroni_alpha";
inline constexpr const char* kJsonComponentRule = "component_rule";
}  // namespace ged

// actlens rsa: one run folder
namespace rsa {
inline constexpr const char* kJson = "rsa.json";
// space_a, space_b, method, r, p, n_pairs, permutation_p
inline constexpr const char* kScores = "rsa_scores.csv";
// rsa_matrix_<method>.csv (three or more spaces): space, <space names>
inline std::string matrix_file(const std::string& method) {
  return "rsa_matrix_" + method + ".csv";
}
// space, group_a, group_b, kind, mean (--groups)
inline constexpr const char* kSelectivity = "selectivity.csv";
// i, j, item_i, item_j, [group_i, group_j, kind,] cos_<space>...: every item pair i < j
inline constexpr const char* kPairs = "pairs.csv";

// The file stem of a space's cosine matrix (<stem>.npy [N, N] and <stem>.csv: word, <items>):
// "cosine_" and the space name with characters other than [A-Za-z0-9._-] as '_'.
inline std::string cosine_stem(const std::string& space) {
  std::string s = space;
  for (char& c : s) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (!keep) c = '_';
  }
  return "cosine_" + s;
}

// pairs.csv
inline constexpr const char* kI = "i";
inline constexpr const char* kJ = "j";
inline constexpr const char* kItemI = "item_i";
inline constexpr const char* kItemJ = "item_j";
inline constexpr const char* kGroupI = "group_i";
inline constexpr const char* kGroupJ = "group_j";
inline constexpr const char* kKind = "kind";  // kWithin or kBetween
inline constexpr const char* kWithin = "within";
inline constexpr const char* kBetween = "between";
inline std::string cosine_column(const std::string& space) {
  return "cos_" + space;
}

// rsa.json keys the figures read
inline constexpr const char* kJsonSpaces = "spaces";  // [{"name": ...}, ...]
inline constexpr const char* kJsonName = "name";
inline constexpr const char* kJsonItems = "items";
inline constexpr const char* kJsonPairs = "pairs";  // [{"a", "b", "method", "r", ...}, ...]
inline constexpr const char* kPairA = "a";
inline constexpr const char* kPairB = "b";
inline constexpr const char* kPairMethod = "method";
inline constexpr const char* kPairR = "r";
}  // namespace rsa

}  // namespace actlens::schema
