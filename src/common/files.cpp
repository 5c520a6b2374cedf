#include "common/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace estfleet::common {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("cannot " + what + " " + path.string() + ": " + std::strerror(errno));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// `path` absolute, with the symbolic links of its folders and of its last name followed (also a
// dangling last link, up to the kernel's own limit of 40 hops), then lexically normal.
std::filesystem::path resolved(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  fs::path current = fs::absolute(path);
  constexpr int kMaxLinks = 40;
  for (int hop = 0; hop < kMaxLinks; ++hop) {
    std::error_code ec;
    current = fs::weakly_canonical(current.parent_path(), ec) / current.filename();
    if (ec || !fs::is_symlink(current, ec)) {
      break;
    }
    const auto target = fs::read_symlink(current, ec);
    if (ec) {
      break;
    }
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  std::error_code ec;
  auto canonical = fs::weakly_canonical(current, ec);
  return ec ? current.lexically_normal() : canonical;
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::filesystem::perms mode) {
  const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  // Built by appending into one reserved string: `"." + name + ".XXXXXX"` (operator+ on a
  // const char* and a temporary) makes GCC 12 at -O3 report a false -Wrestrict overlap inside
  // the inlined char_traits::copy.
  const std::string name = path.filename().string();
  std::string base;
  base.reserve(name.size() + 8);
  base.push_back('.');
  base.append(name);
  base.append(".XXXXXX");
  std::string temp_name = (folder / base).string();
  FileDescriptor fd(::mkstemp(temp_name.data()));
  if (fd.get() < 0) {
    fail("create a temporary file for", path);
  }
  const std::filesystem::path temp(temp_name);
  try {
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
      fail("set the mode of", temp);
    }
    std::size_t written = 0;
    while (written < contents.size()) {
      const auto n = ::write(fd.get(), contents.data() + written, contents.size() - written);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        fail("write", temp);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      fail("flush", temp);
    }
    if (::close(fd.release()) != 0) {
      fail("close", temp);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      fail("replace", path);
    }
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
  FileDescriptor dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY));
  if (dir.get() >= 0) {
    ::fsync(dir.get());
  }
}

void prepare_output(const std::filesystem::path& path) {
  const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    throw std::runtime_error("cannot create the folder " + folder.string() + ": " + ec.message());
  }
  if (std::filesystem::is_directory(path)) {
    throw std::runtime_error(path.string() + " is a folder, not a file name");
  }
  std::string probe = (folder / ".est-write-check.XXXXXX").string();
  FileDescriptor fd(::mkstemp(probe.data()));
  if (fd.get() < 0) {
    fail("write into", folder);
  }
  ::unlink(probe.c_str());
}

std::filesystem::path create_private_directory(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, kPrivateDirMode);
  return dir;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat first {};
  struct stat second {};
  if (::stat(a.c_str(), &first) == 0 && ::stat(b.c_str(), &second) == 0) {
    return first.st_dev == second.st_dev && first.st_ino == second.st_ino;
  }
  return resolved(a) == resolved(b);
}

namespace {

std::string octal_mode(mode_t mode) {
  std::string text(4, '0');
  for (std::size_t i = 4; i-- > 0; mode >>= 3U) {
    text[i] = static_cast<char>('0' + (mode & 07U));
  }
  return text;
}

std::string owner_problem(const std::filesystem::path& path, uid_t owner) {
  return path.string() + " belongs to uid " + std::to_string(owner) +
         ", not to this process's user (uid " + std::to_string(::geteuid()) + ")";
}

}  // namespace

void check_own_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    fail("look at the folder", dir);
  }
  const std::string refused = "; refusing to keep keys there";
  if (S_ISLNK(st.st_mode)) {
    throw std::runtime_error(dir.string() + " is a symbolic link, not a folder of its own" +
                             refused);
  }
  if (!S_ISDIR(st.st_mode)) {
    throw std::runtime_error(dir.string() + " is not a folder");
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    throw std::runtime_error(owner_problem(dir, st.st_uid) + refused);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error(dir.string() + " has mode " + octal_mode(st.st_mode & 07777U) +
                             ", so others may write into it" + refused + " (chmod go-w, or 700)");
  }
}

void make_own_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      fail("look at the folder", dir);
    }
    if (dir.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(dir.parent_path(), ec);
      if (ec) {
        throw std::runtime_error("cannot create the folder " + dir.parent_path().string() + ": " +
                                 ec.message());
      }
    }
    if (::mkdir(dir.c_str(), static_cast<mode_t>(kPrivateDirMode)) == 0) {
      // The umask can only have taken bits away; the folder gets exactly 0700.
      const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0 || ::fchmod(fd.get(), static_cast<mode_t>(kPrivateDirMode)) != 0) {
        fail("set the mode of", dir);
      }
    } else if (errno != EEXIST) {
      fail("create the folder", dir);
    }
  }
  check_own_directory(dir);
}

std::optional<std::string> read_own_secret_file(const std::filesystem::path& path) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    if (errno == ELOOP) {
      throw std::runtime_error(path.string() +
                               " is a symbolic link; the client did not write it and will not "
                               "use it: remove it");
    }
    fail("read", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    fail("read", path);
  }
  const std::string not_ours = "; the client did not write it and will not use it: remove it";
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error(path.string() + " is not a regular file" + not_ours);
  }
  if (st.st_uid != ::geteuid()) {
    throw std::runtime_error(owner_problem(path, st.st_uid) + not_ours);
  }
  if ((st.st_mode & 07777U) != static_cast<mode_t>(kSecretFileMode)) {
    throw std::runtime_error(path.string() + " has mode " + octal_mode(st.st_mode & 07777U) +
                             ", not 0600" + not_ours);
  }
  std::string contents;
  std::array<char, 4096> buffer{};
  while (true) {
    const auto n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("read", path);
    }
    if (n == 0) {
      return contents;
    }
    contents.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace estfleet::common
