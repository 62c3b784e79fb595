#pragma once
// Read-only access to ZIP archives as torch.save and numpy.savez write them. The central
// directory is parsed once (ZIP64 included); entries are read with pread, so a caller can fetch a
// few bytes of a huge stored entry (one layer of a tensor) without reading the rest.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace actlens::io {

struct ZipEntry {
  std::string name;
  std::uint16_t method = 0;  // 0 = stored, 8 = deflate
  std::uint64_t compressed_size = 0;
  std::uint64_t size = 0;  // uncompressed
  std::uint32_t crc32 = 0;
  std::uint64_t local_header_offset = 0;
  std::uint64_t data_offset = 0;  // where the (compressed) bytes start in the file
};

class ZipArchive {
 public:
  // Opens `path` read-only and parses its central directory. Throws actlens::Error naming the
  // file when it is missing, not a ZIP archive, truncated, an entry points outside the file, or
  // two entries (or an entry and the central directory) overlap.
  static ZipArchive open(const std::filesystem::path& path);

  ZipArchive(ZipArchive&&) noexcept;
  ZipArchive& operator=(ZipArchive&&) noexcept;
  ~ZipArchive();

  const std::filesystem::path& path() const;
  std::uint64_t file_size() const;
  const std::vector<ZipEntry>& entries() const;
  // nullptr when absent.
  const ZipEntry* find(const std::string& name) const;

  // The whole entry, inflated when deflated; the CRC-32 is checked. Throws on a bad entry,
  // including a deflated one whose recorded size its compressed size cannot produce, or whose
  // stream inflates past (or short of) its recorded size. Memory grows with the bytes the stream
  // really produces, not with the size the archive records.
  std::vector<std::byte> read(const ZipEntry& entry) const;
  // The first min(max_bytes, entry.size) bytes of the entry, inflating only those (no CRC check:
  // for reading a header before deciding whether to read the rest).
  std::vector<std::byte> read_prefix(const ZipEntry& entry, std::uint64_t max_bytes) const;
  // `len` bytes at `offset` inside a STORED entry (throws for compressed ones or out of range).
  void read_at(const ZipEntry& entry, std::uint64_t offset, void* dst, std::size_t len) const;

 private:
  struct Impl;
  explicit ZipArchive(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace actlens::io
