#pragma once
// The role-activation layout of the persona-subspace pipeline (seed lda-role-activations):
//   DIR/response_activations/{role}.pt   torch.save dict "{pos|default}_p{i}_q{j}" -> [n_layers, d]
//   DIR/extract_scores/{role}.json       same keys -> 0..3 or "REFUSAL"
//   DIR/pca/layer{L}_pos23.pt            role mean vectors + fitted sklearn objects (optional)
// Files whose name contains "default" are skipped, as the seed does. A class is
// "{role}_pos_{score}" for each selected score with at least min_samples responses.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "actlens/io/labeled_rows.hpp"
#include "actlens/io/torch_file.hpp"

namespace actlens::io {

struct RoleDatasetOptions {
  std::vector<int> scores{2, 3};  // order of the classes: all roles of scores[0], then scores[1]...
  int min_samples = 10;
  bool ignore_extra_scores = false;  // scores for keys without activations: error unless set
};

class RoleDataset final : public LabeledRows {
 public:
  // Lists and validates the whole dataset (pickles and score files, no tensor data).
  static std::unique_ptr<RoleDataset> open(const std::filesystem::path& dir,
                                           const RoleDatasetOptions& options);

  int n_layers() const override { return n_layers_; }
  std::int64_t dim() const override { return dim_; }
  const std::vector<ClassInfo>& classes() const override { return classes_; }
  std::int64_t n_samples() const override { return n_samples_; }
  std::size_t n_chunks() const override { return files_.size(); }
  Chunk read_chunk(std::size_t i, const std::vector<int>& layers) const override;
  std::string describe() const override;
  std::uint64_t input_bytes() const override { return bytes_; }

  const std::filesystem::path& dir() const { return dir_; }
  std::size_t n_role_files() const { return files_.size(); }

 private:
  struct Sample {
    std::string key;
    int class_id;
    pickle::Tensor tensor;
  };
  struct RoleFile {
    std::string role;
    std::shared_ptr<TorchFile> file;
    std::vector<Sample> samples;  // selected samples only
  };
  std::filesystem::path dir_;
  std::vector<RoleFile> files_;
  std::vector<ClassInfo> classes_;
  int n_layers_ = 0;
  std::int64_t dim_ = 0;
  std::int64_t n_samples_ = 0;
  std::uint64_t bytes_ = 0;
};

// Role mean vectors of DIR/pca/layer{L}_pos23.pt at one layer.
struct RoleVectors {
  std::vector<std::string> roles;  // pos_2 roles then pos_3 roles
  std::vector<int> scores;         // 2 or 3 per row
  RowMatrixF vectors;              // [n, d]
  RowMatrixD pca_components;       // [n_pcs, d] from the fitted sklearn PCA (0 rows if absent)
};
// Throws actlens::Error naming the file and key on a layout mismatch.
RoleVectors read_role_vectors(const std::filesystem::path& pca_file, int layer);

}  // namespace actlens::io
