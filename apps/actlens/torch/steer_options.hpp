#pragma once
// The flags of `actlens steer`, shared by its two modes:
//   belief mode (--process): a HookedTransformer trained on a process; the vector per hook is the
//     mean activation at positions whose MSP belief is --to minus that at positions whose belief
//     is --from (every position of every MSP input, as the seed), and the report is the seed's
//     4-bar table of next-token probabilities;
//   text mode (no --process): a GPT-2 folder; the vector per hook is the contrastive mean
//     difference between two labelled text sets (--positive minus --negative), or is read from
//     --vector; the report is the top-k next tokens of each --prompt with and without steering.
// In both modes the vector times each multiplier is added at every position of every hook; the
// math is model/steering.hpp's, the runners only parse, load, call and write.
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "command.hpp"

namespace actlens::cli {

struct SteerOptions {
  std::string model;  // folder (HookedTransformer or GPT-2)
  std::vector<std::string> hooks = {"blocks.*.hook_resid_post"};
  std::string layers = "all";
  std::vector<double> multipliers = {1.0};
  std::string device = "cpu";

  // belief mode
  std::string process;   // builtin name or JSON file
  std::string from, to;  // belief names ("State T", "T") or unique-belief indices
  int depth = 0;         // MSP depth; 0: the model's n_ctx + 1
  int length = 0;        // prompt length (inputs cut to it, duplicates dropped); 0: n_ctx

  // text mode
  std::string positive, negative;  // text files / CSV (same readers as capture --input)
  std::string text_column = "text";
  std::string aggregate = "mean";  // positions of a text that enter its mean (capture's specs)
  std::string vector;              // .npy [d] (every hook) or [n_hooks, d]
  std::vector<std::string> prompts;
  std::string prompts_file;
  std::string tokenizer;  // default: the model folder
  int top_k = 10;
  int batch_size = 16;
  std::string dtype = "float32";
};

// Text mode; implemented in steer_gpt2.cpp. Writes into cmd.output().
int run_gpt2_steer(const SteerOptions& opts, Command& cmd);

// steering_vectors.npy of both modes: vectors [n_hooks, d] as float32.
void write_steering_vectors(const std::filesystem::path& file, const torch::Tensor& vectors);

}  // namespace actlens::cli
