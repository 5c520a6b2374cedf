#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace estfleet::common {

// The modes est-fleet gives what it writes: keys and secrets 0600, certificates and CRLs 0644,
// folders holding keys 0700.
inline constexpr auto kSecretFileMode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
inline constexpr auto kPublicFileMode =
    kSecretFileMode | std::filesystem::perms::group_read | std::filesystem::perms::others_read;
inline constexpr auto kPrivateDirMode = std::filesystem::perms::owner_all;

// Writes `contents` to `path` atomically: a temporary file in the same folder created with
// `mode`, fsync, rename over `path`, fsync of the folder. A crash leaves the old or the new file,
// never a torn one. Throws std::runtime_error naming the path.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           std::filesystem::perms mode);

// Makes sure `path` can be written later: creates its folder if missing and checks that a file
// can be created there. Called before any request, so that a certificate is never issued for a
// key that then cannot be saved. Throws std::runtime_error naming the path.
void prepare_output(const std::filesystem::path& path);

// Creates `dir` (and missing parents) and gives it kPrivateDirMode; returns `dir`.
std::filesystem::path create_private_directory(const std::filesystem::path& dir);

// Refuses a folder this process must not trust with keys, because someone else could plant or
// swap files in it: a symbolic link, not a folder, owned by a user other than the process's (or
// root), or writable by group or others. Throws std::runtime_error naming the folder and why.
void check_own_directory(const std::filesystem::path& dir);

// Creates `dir` as kPrivateDirMode whatever the umask (missing parents as create_directories
// makes them), or, when it exists, checks it with check_own_directory.
void make_own_directory(const std::filesystem::path& dir);

// The contents of `path` when it is a secret this process wrote for itself: a regular file, not
// a symbolic link (opened with O_NOFOLLOW), owned by the process's user, mode 0600. nullopt when
// it does not exist. Throws std::runtime_error naming the file and what is wrong with it
// otherwise, since a key another user slipped in would be certified as the device's.
std::optional<std::string> read_own_secret_file(const std::filesystem::path& path);

// Whether `a` and `b` name one file: the same inode when both exist, else the same path once
// made absolute with every symbolic link resolved (also a dangling one, whose target a write
// through it would create). Two outputs named so would overwrite each other.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// Throws std::runtime_error("cannot read <path>: <reason>").
std::string read_file(const std::filesystem::path& path);

}  // namespace estfleet::common
