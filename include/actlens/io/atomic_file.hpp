#pragma once
// Every output is written to `path.tmp-<pid>` and renamed into place, so that a crash or an error
// never leaves a half-written result behind, and a reader never sees one.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string_view>

namespace actlens::io {

// Opens a temporary file beside `path`, lets `write` fill it, flushes, fsyncs and renames it to
// `path`. On any failure the temporary is removed and actlens::Error names `path`.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& write);
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

}  // namespace actlens::io
