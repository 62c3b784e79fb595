#pragma once
// A read-only regular file read with pread (internal to actlens_io). Reads never move a file
// position, so one object may serve several threads at once. Every error is an actlens::Error
// whose message starts with the path.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace actlens::io {

class InputFile {
 public:
  // Opens `path` (O_RDONLY | O_CLOEXEC; never blocks: a FIFO, a device or a folder is refused
  // with "not a regular file" before anything is read). `kind` says what the path should name, for
  // the message when it is not a regular file ("a .npy file"). `truncated` is what read() reports,
  // after
  // "<path>: ", when the file ends before the bytes asked for.
  InputFile(const std::filesystem::path& path, const std::string& kind,
            std::string truncated = "truncated: the file is shorter than expected; re-create it");
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  const std::filesystem::path& path() const { return path_; }
  // The size when opened.
  std::uint64_t size() const { return size_; }
  // The open descriptor (owned by this object; dup() it to hand it to another reader).
  int fd() const { return fd_; }

  // Exactly `len` bytes at `offset`; throws the `truncated` message if the file ends first.
  void read(std::uint64_t offset, void* dst, std::size_t len) const;
  // Up to `len` bytes at `offset`: fewer only where the file ends. Returns the count read.
  std::size_t read_up_to(std::uint64_t offset, void* dst, std::size_t len) const;

 private:
  std::filesystem::path path_;
  std::string truncated_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace actlens::io
