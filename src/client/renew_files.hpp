// How a device's key and certificate are replaced so that the two on disk are always a pair.
//
// Two renames are never atomic together, so the pair lives in generation folders and the names a
// device uses are symbolic links through ONE link that is swapped with a single rename(2):
//
//   <folder>/gen-7/private_key.pem          the pair of generation 7 (never changed once written)
//   <folder>/gen-7/certificate.pem
//   <folder>/current  -> gen-7              swapped atomically on each renewal
//   <folder>/previous -> gen-6              the pair before, kept until the next renewal
//   <folder>/private_key.pem      -> current/private_key.pem
//   <folder>/certificate.pem      -> current/certificate.pem
//   <folder>/private_key.pem.prev -> previous/private_key.pem
//   <folder>/certificate.pem.prev -> previous/certificate.pem
//
// Every path lookup of private_key.pem or certificate.pem resolves `current` once, so any single
// open sees one whole generation, and at every instant the two names lead to a matching pair. A
// reader that opens the two files one after the other can still straddle a swap; it reads both
// through one resolution of `current` (read_pair below), or checks that `current` did not change
// while it read.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace estfleet::client {

struct PairNames {
  std::string key = "private_key.pem";
  std::string certificate = "certificate.pem";
};

struct StoredPair {
  std::string key_pem;
  std::string certificate_pem;
  std::string generation;  // "gen-7", or empty for plain files written by provision
  // When the certificate file was last written: the time the client received the certificate,
  // since provision and install_pair write it as soon as it is checked, and nothing rewrites it.
  std::optional<std::chrono::system_clock::time_point> certificate_written;
};

// The installed pair of `folder`, or nullopt when neither file exists. Both files come from the
// same generation. Throws ClientError when only one of them exists or a file cannot be read.
std::optional<StoredPair> read_pair(const std::filesystem::path& folder,
                                    const PairNames& names = {});

// When `file` (followed through links) was last written; nullopt if it cannot be read.
std::optional<std::chrono::system_clock::time_point> written_at(const std::filesystem::path& file);

// Installs a new pair: writes it as a new generation (files fsynced, key 0600), makes the
// generation in use `previous`, swaps `current` to the new one, fsyncs the folder, and then
// removes the generations older than `previous`. Plain files (as provision writes them) are
// first moved into a generation of their own, without a moment where they are not a pair.
// Returns the new generation's name. Throws ClientError naming the path that failed; a failure
// before the swap leaves the installed pair as it was.
std::string install_pair(const std::filesystem::path& folder, const std::string& key_pem,
                         const std::string& certificate_pem, const PairNames& names = {});

// An exclusive advisory lock on <folder>/.renew.lock for as long as the object lives, so that a
// timer run and a --watch service never renew the same device at once. The lock file is never
// followed through a symbolic link.
class FolderLock {
 public:
  // nullopt when another process holds the lock. Throws ClientError if the lock file cannot be
  // created.
  static std::optional<FolderLock> try_lock(const std::filesystem::path& folder);
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&& other) = delete;
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;
  ~FolderLock();

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace estfleet::client
