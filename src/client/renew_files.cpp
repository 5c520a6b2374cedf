#include "client/renew_files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "client/device_pem.hpp"
#include "client/errors.hpp"
#include "common/files.hpp"

namespace estfleet::client {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGenerationPrefix = "gen-";
constexpr const char* kCurrent = "current";
constexpr const char* kPrevious = "previous";

[[noreturn]] void fail(const std::string& what, const fs::path& path, const std::string& why) {
  throw ClientError("cannot " + what + " " + path.string() + ": " + why);
}

void sync_folder(const fs::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    fail("open the folder", folder, std::strerror(errno));
  }
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) {
    fail("flush the folder", folder, std::strerror(error));
  }
}

// The number of a generation folder's name ("gen-7" -> 7), nullopt for any other name.
std::optional<unsigned long> generation_number(const std::string& name) {
  if (name.rfind(kGenerationPrefix, 0) != 0 || name.size() == kGenerationPrefix.size()) {
    return std::nullopt;
  }
  unsigned long number = 0;
  const char* begin = name.data() + kGenerationPrefix.size();
  const char* end = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return number;
}

std::vector<std::string> generations(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const auto name = entry.path().filename().string();
    if (generation_number(name) && entry.is_directory(ec) && !entry.is_symlink(ec)) {
      names.push_back(name);
    }
  }
  if (ec) {
    fail("list", folder, ec.message());
  }
  return names;
}

// Makes <folder>/<name> a symbolic link to `target` with one rename(2), so that a lookup sees the
// old link or the new one, never no link.
void point(const fs::path& folder, const fs::path& name, const fs::path& target) {
  const auto link = folder / name;
  const auto temp = folder / ("." + name.string() + ".link-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove(temp, ec);
  fs::create_symlink(target, temp, ec);
  if (ec) {
    fail("create the link", temp, ec.message());
  }
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove(temp, ec);
    fail("replace", link, why);
  }
}

bool links_to(const fs::path& link, const fs::path& target) {
  std::error_code ec;
  return fs::is_symlink(link, ec) && fs::read_symlink(link, ec) == target && !ec;
}

// The generation `current` points at, when the folder uses the generation layout for `names`.
std::optional<std::string> current_generation(const fs::path& folder, const PairNames& names) {
  std::error_code ec;
  if (!links_to(folder / names.key, fs::path(kCurrent) / names.key) ||
      !links_to(folder / names.certificate, fs::path(kCurrent) / names.certificate) ||
      !fs::is_symlink(folder / kCurrent, ec)) {
    return std::nullopt;
  }
  const auto target = fs::read_symlink(folder / kCurrent, ec).string();
  if (ec || !generation_number(target)) {
    return std::nullopt;
  }
  return target;
}

// Writes a complete generation under a temporary name and renames it into place, so that a
// generation folder either holds a whole pair or does not exist.
std::string write_generation(const fs::path& folder, unsigned long number, const PairNames& names,
                             const std::string& key_pem, const std::string& certificate_pem) {
  std::string name = std::string(kGenerationPrefix) + std::to_string(number);
  const auto temp = folder / ("." + name + ".tmp");
  std::error_code ec;
  fs::remove_all(temp, ec);
  if (!fs::create_directory(temp, ec) || ec) {
    fail("create the folder", temp, ec ? ec.message() : "it already exists");
  }
  try {
    common::write_file_atomically(temp / names.key, key_pem, common::kSecretFileMode);
    common::write_file_atomically(temp / names.certificate, certificate_pem,
                                  common::kPublicFileMode);
    sync_folder(temp);
  } catch (const std::runtime_error& e) {
    fs::remove_all(temp, ec);
    throw ClientError(e.what());
  }
  if (::rename(temp.c_str(), (folder / name).c_str()) != 0) {
    const std::string why = std::strerror(errno);
    fs::remove_all(temp, ec);
    fail("create", folder / name, why);
  }
  sync_folder(folder);
  return name;
}

std::string read(const fs::path& path) {
  try {
    return common::read_file(path);
  } catch (const std::runtime_error& e) {
    throw ClientError(e.what());
  }
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> written_at(const fs::path& file) {
  std::error_code ec;
  const auto time = fs::last_write_time(file, ec);
  if (ec) {
    return std::nullopt;
  }
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      std::chrono::file_clock::to_sys(time));
}

std::optional<StoredPair> read_pair(const fs::path& folder, const PairNames& names) {
  // A concurrent renewal may remove the generation just resolved (two renewals later), or turn
  // plain files into the generation layout while they are read; resolve again then.
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (const auto generation = current_generation(folder, names)) {
      std::error_code ec;
      const auto base = folder / *generation;
      if (!fs::exists(base / names.key, ec) || !fs::exists(base / names.certificate, ec)) {
        continue;
      }
      try {
        return StoredPair{common::read_file(base / names.key),
                          common::read_file(base / names.certificate), *generation,
                          written_at(base / names.certificate)};
      } catch (const std::runtime_error&) {
        continue;
      }
    }
    std::error_code ec;
    const bool key = fs::exists(folder / names.key, ec);
    const bool certificate = fs::exists(folder / names.certificate, ec);
    if (!key && !certificate) {
      return std::nullopt;
    }
    if (!key || !certificate) {
      throw ClientError((folder / (key ? names.certificate : names.key)).string() +
                        " is missing while " + (key ? names.key : names.certificate) + " is there");
    }
    // The two reads are a pair only if no renewal migrated the names into links in between.
    const auto shape = [&] {
      return std::pair{fs::is_symlink(folder / names.key, ec),
                       fs::is_symlink(folder / names.certificate, ec)};
    };
    const auto before = shape();
    StoredPair plain{read(folder / names.key),
                     read(folder / names.certificate),
                     {},
                     written_at(folder / names.certificate)};
    if (current_generation(folder, names) || shape() != before) {
      continue;
    }
    return plain;
  }
  throw ClientError("the generation of " + folder.string() +
                    " kept changing while it was read; is another renewal running?");
}

std::string install_pair(const fs::path& folder, const std::string& key_pem,
                         const std::string& certificate_pem, const PairNames& names) {
  unsigned long next = 1;
  for (const auto& name : generations(folder)) {
    next = std::max(next, *generation_number(name) + 1);
  }
  std::error_code ec;
  const auto key_path = folder / names.key;
  const auto certificate_path = folder / names.certificate;
  const bool linked = current_generation(folder, names).has_value();
  if (!linked && fs::exists(key_path, ec) && fs::exists(certificate_path, ec)) {
    // Plain files (from provision): copy them into a generation, point `current` at it, and turn
    // each name into a link to the same contents. Every step shows the same pair.
    const auto migrated =
        write_generation(folder, next++, names, read(key_path), read(certificate_path));
    point(folder, kCurrent, migrated);
    point(folder, names.key, fs::path(kCurrent) / names.key);
    point(folder, names.certificate, fs::path(kCurrent) / names.certificate);
    sync_folder(folder);
  }

  auto fresh = write_generation(folder, next, names, key_pem, certificate_pem);
  if (fs::is_symlink(folder / kCurrent, ec)) {
    const auto in_use = fs::read_symlink(folder / kCurrent, ec);
    if (!ec) {
      point(folder, kPrevious, in_use);
    }
  }
  point(folder, kCurrent, fresh);  // the switch: one rename
  std::vector<std::pair<fs::path, fs::path>> links{
      {names.key, fs::path(kCurrent) / names.key},
      {names.certificate, fs::path(kCurrent) / names.certificate}};
  if (fs::is_symlink(folder / kPrevious, ec)) {
    links.emplace_back(names.key + ".prev", fs::path(kPrevious) / names.key);
    links.emplace_back(names.certificate + ".prev", fs::path(kPrevious) / names.certificate);
  }
  for (const auto& [name, target] : links) {
    if (!links_to(folder / name, target)) {
      point(folder, name, target);
    }
  }
  sync_folder(folder);

  // Only the pair in use and the one before stay.
  const auto previous = fs::read_symlink(folder / kPrevious, ec).string();
  for (const auto& name : generations(folder)) {
    if (name != fresh && name != previous) {
      fs::remove_all(folder / name, ec);
    }
  }
  return fresh;
}

std::optional<FolderLock> FolderLock::try_lock(const fs::path& folder) {
  const auto path = folder / ".renew.lock";
  // O_NOFOLLOW: a link planted in its place would have the client create or open any file.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    fail("create the lock file", path,
         errno == ELOOP ? "it is a symbolic link; remove it" : std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  return FolderLock(fd);
}

FolderLock::FolderLock(FolderLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FolderLock::~FolderLock() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

}  // namespace estfleet::client
