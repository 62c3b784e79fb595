#pragma once
// A two-class activation set, as GED compares them (train or test): either one input (an array
// file or a folder of per-layer files, see activation_set.hpp) with a class label per row, or one
// input per class. In the labelled form, rows of labels other than the two are left out.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actlens/io/activation_set.hpp"
#include "actlens/io/array.hpp"

namespace actlens::io {

struct TwoClassOptions {
  std::string key = "activations";     // array name inside .npz/.safetensors/.pt files
  std::string label_column = "label";  // label column of CSV label files
};

class TwoClassInput {
 public:
  // One input with labels. `labels` empty: the folder's labels.csv, else UsageError naming
  // `labels_flag`. `classes` (a, b) empty: filled with the file's labels in order of first
  // appearance, an Error when there are not exactly two; else an Error when a class has no row.
  // `role` ("train", "test") names the set in messages.
  static TwoClassInput open_labeled(const std::string& role, const std::filesystem::path& path,
                                    const std::filesystem::path& labels,
                                    const TwoClassOptions& options,
                                    std::vector<std::string>& classes,
                                    const std::string& labels_flag);
  // One input per class; `classes` (a, b) label the rows.
  static TwoClassInput open_pair(const std::string& role, const std::filesystem::path& a,
                                 const std::filesystem::path& b, const TwoClassOptions& options,
                                 const std::vector<std::string>& classes);

  // The rows of layer `name` (an io::LayerRef name) as float64 [n, d]: the kept rows in input
  // order, or class a's rows then class b's. Throws Error naming the file for a missing layer, a
  // row with NaN/Inf, a label count that differs from the rows, or classes of different widths.
  // The one-input-per-class form learns its class flags from the first layer read.
  RowMatrixD read(const std::string& name);

  const std::string& role() const { return role_; }
  bool labeled() const { return sets_.size() == 1; }
  const std::vector<ActivationSet>& sets() const { return sets_; }  // 1 (labelled) or 2 (a, b)
  const std::vector<std::filesystem::path>& label_files() const { return label_files_; }
  // Per row of read(): true for class b, the row's label, and its row number in the input
  // (labelled form) or in the concatenation of a and b.
  const std::vector<bool>& is_b() const { return is_b_; }
  const std::vector<std::string>& labels() const { return labels_; }
  std::int64_t source_row(std::size_t i) const {
    return labeled() ? keep_[i] : static_cast<std::int64_t>(i);
  }

 private:
  std::string role_;
  std::vector<ActivationSet> sets_;
  std::vector<std::int64_t> keep_;  // labelled form: rows of the input that belong to a or b
  std::vector<bool> is_b_;
  std::vector<std::string> labels_;
  std::vector<std::string> classes_;
  std::int64_t n_input_rows_ = 0;  // labelled form: rows the labels file describes
  std::vector<std::filesystem::path> label_files_;
};

}  // namespace actlens::io
