#pragma once
// Hidden Markov processes as JSON files:
//   {"name": "rrxor", "states": ["S", "0", ...], "symbols": ["0", "1"],
//    "transitions": [T[0], T[1], ...]}
// where T[x] is a list of rows, T[x][i][j] = P(emit symbol x, go to state j | in state i).
// "states" and "symbols" are optional (default "0", "1", ...); "name" defaults to the file stem.
// Every entry must be >= 0 and every row of sum_x T[x] must sum to 1 within 1e-9.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "actlens/core/process.hpp"

namespace actlens::io {

// Reads and validates a process file. Throws actlens::Error naming the file and the offending
// key or row ("transitions[1][2][0]", "row 3 (state 'T') of sum_x transitions[x] ...").
core::Process read_process_json(const std::filesystem::path& path);
// The same from parsed JSON (e.g. the process a checkpoint's config.json carries); `what` names
// the source in errors.
core::Process process_from_json(const nlohmann::json& j, const std::string& what,
                                const std::string& default_name = "process");

// The same format, for writing (process.json of `actlens process beliefs`).
nlohmann::json process_to_json(const core::Process& p);

}  // namespace actlens::io
