#include "actlens/io/two_class_input.hpp"

#include <algorithm>

#include "actlens/error.hpp"
#include "actlens/io/nan_policy.hpp"
#include "actlens/io/plain_activations.hpp"

namespace actlens::io {
namespace fs = std::filesystem;

TwoClassInput TwoClassInput::open_labeled(const std::string& role, const fs::path& path,
                                          const fs::path& labels, const TwoClassOptions& options,
                                          std::vector<std::string>& classes,
                                          const std::string& labels_flag) {
  TwoClassInput t;
  t.role_ = role;
  t.sets_.push_back(ActivationSet::open(path, options.key));
  const fs::path lab = labels.empty() ? t.sets_[0].labels_file() : labels;
  if (lab.empty())
    throw UsageError(labels_flag + ": " + path.string() +
                     " has no labels.csv; give the class of each row with " + labels_flag);
  t.label_files_.push_back(lab);
  const auto names = read_labels(lab, options.label_column);
  t.n_input_rows_ = static_cast<std::int64_t>(names.size());
  if (classes.empty()) {
    for (const auto& n : names)
      if (std::find(classes.begin(), classes.end(), n) == classes.end()) classes.push_back(n);
    if (classes.size() != 2) {
      std::string list;
      for (std::size_t i = 0; i < classes.size() && i < 8; ++i)
        list += (i ? ", " : "") + classes[i];
      throw Error(lab.string() + ": GED compares two classes, but the labels have " +
                  std::to_string(classes.size()) + " (" + list +
                  (classes.size() > 8 ? ", ..." : "") + "); pick two with --classes A,B");
    }
  }
  t.classes_ = classes;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const bool a = names[i] == classes[0], b = names[i] == classes[1];
    if (!a && !b) continue;
    t.keep_.push_back(static_cast<std::int64_t>(i));
    t.is_b_.push_back(b);
    t.labels_.push_back(names[i]);
  }
  for (int c = 0; c < 2; ++c)
    if (std::count(t.is_b_.begin(), t.is_b_.end(), c == 1) == 0)
      throw Error(lab.string() + ": no " + role + " row is labelled '" +
                  classes[static_cast<std::size_t>(c)] + "' (column '" + options.label_column +
                  "'); check --classes");
  return t;
}

TwoClassInput TwoClassInput::open_pair(const std::string& role, const fs::path& a,
                                       const fs::path& b, const TwoClassOptions& options,
                                       const std::vector<std::string>& classes) {
  TwoClassInput t;
  t.role_ = role;
  t.classes_ = classes;
  t.sets_.push_back(ActivationSet::open(a, options.key));
  t.sets_.push_back(ActivationSet::open(b, options.key));
  return t;
}

RowMatrixD TwoClassInput::read(const std::string& name) {
  std::vector<RowMatrixD> parts;
  for (const auto& s : sets_) {
    const LayerRef* ref = nullptr;
    for (const auto& l : s.layers())
      if (l.name == name) ref = &l;
    if (!ref)
      throw Error(s.path().string() + ": no layer '" + name + "' (the " + role_ +
                  " inputs must have the same layers as the training set)");
    parts.push_back(s.read(*ref));
    const auto& x = parts.back();
    const std::string where = ref->file.string() + (name.empty() ? "" : " (" + name + ")");
    if (const auto r = first_nonfinite_row(x); r >= 0)
      throw Error(where + ": row " + std::to_string(r) + " has NaN/Inf; fix or drop it");
    if (labeled() && x.rows() != n_input_rows_)
      throw Error(where + " has " + std::to_string(x.rows()) + " rows but " +
                  label_files_[0].string() + " has " + std::to_string(n_input_rows_) +
                  " labels; they must match one to one");
  }
  if (labeled()) {
    RowMatrixD x(static_cast<Eigen::Index>(keep_.size()), parts[0].cols());
    for (std::size_t i = 0; i < keep_.size(); ++i)
      x.row(static_cast<Eigen::Index>(i)) = parts[0].row(keep_[i]);
    return x;
  }
  if (is_b_.empty()) {  // the class flags follow the row counts of the first layer read
    for (std::size_t c = 0; c < 2; ++c)
      for (Eigen::Index r = 0; r < parts[c].rows(); ++r) {
        is_b_.push_back(c == 1);
        labels_.push_back(classes_[c]);
      }
  }
  if (parts[0].cols() != parts[1].cols())
    throw Error(role_ + " layer '" + name + "': class a has " + std::to_string(parts[0].cols()) +
                " features, class b " + std::to_string(parts[1].cols()));
  RowMatrixD x(parts[0].rows() + parts[1].rows(), parts[0].cols());
  x << parts[0], parts[1];
  return x;
}

}  // namespace actlens::io
