#include "atelier/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <regex>
#include <set>

#include "atelier/error.hpp"

namespace atelier {
namespace {

namespace fs = std::filesystem;

// Temporary files older than this process were left by a run that is over.
const fs::file_time_type process_start = fs::file_time_type::clock::now();
constexpr std::chrono::minutes kStaleAge{10};

[[noreturn]] void fail(const char* verb, const std::string& path, int err) {
  throw Error(std::string("cannot ") + verb + " " + path + ": " + std::strerror(err));
}

// The temporary name sits in the target's directory so that rename() stays
// on one filesystem and is atomic; the pid and a random suffix keep
// concurrent writers apart.
std::string temp_path_for(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::random_device rd;
  return dir + "." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

// Writes everything, retrying on EINTR and short writes. Returns errno or 0.
int write_all(int fd, const unsigned char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

// Where a write to `path` lands: through a symbolic link to its target (a
// chain of them, relative ones relative to the link's folder), so that a link
// stays a link and the file it points to is replaced.
std::string write_target(const std::string& path) {
  fs::path target = path;
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code error;
    if (!fs::is_symlink(target, error)) return target.string();
    const fs::path link = fs::read_symlink(target, error);
    if (error) return target.string();
    target = link.is_absolute() ? link : target.parent_path() / link;
  }
  throw Error("cannot write " + path + ": too many levels of symbolic links");
}

// Removes our own temporary files (".NAME.tmp-PID-RANDOM") that a killed run
// left in `dir`: only those of a process that is gone, written at least
// kStaleAge before this one started (the PID says nothing of a process on
// another machine writing into a shared folder, as --shard runs do, whose
// clock may differ). Once per directory and process, at its first write there.
void remove_stale_temporaries(const std::string& dir) {
  static std::mutex mutex;
  static std::set<std::string> cleaned;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!cleaned.insert(dir).second) return;
  }
  static const std::regex pattern(R"(\..+\.tmp-([0-9]+)-[0-9]+)");
  std::error_code error;
  for (fs::directory_iterator it(dir.empty() ? "." : dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, pattern) || !it->is_regular_file(error)) continue;
    const long pid = std::strtol(match[1].str().c_str(), nullptr, 10);
    const bool running = pid == ::getpid() || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
    if (running || it->last_write_time(error) >= process_start - kStaleAge) continue;
    fs::remove(it->path(), error);
  }
}

void write_atomically(const std::string& requested, const unsigned char* data, size_t size) {
  const std::string path = write_target(requested);
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  remove_stale_temporaries(dir);
  const std::string temp = temp_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail("write", path, errno);

  int err = write_all(fd, data, size);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(temp.c_str());
    fail("write", path, err);
  }
  // The rename itself lives in the directory: sync it too, so that after a
  // power loss the file is there if anything written after it is (a studio
  // record saying "done"). Best effort: some filesystems refuse.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

void refuse_overwriting_input(const std::string& input, const std::string& output) {
  std::error_code error;
  if (fs::equivalent(input, output, error))
    throw Error("refusing to write " + output + ": it is the input " + input + " itself (choose another output)");
}

void write_file_atomically(const std::string& path, const std::vector<unsigned char>& bytes) {
  write_atomically(path, bytes.data(), bytes.size());
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_atomically(path, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::vector<unsigned char> read_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw Error("cannot read " + path + ": no such file");
    fail("read", path, errno);
  }
  // A directory opens fine on Linux; its read() then fails with EISDIR.
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail("read", path, err);
    }
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace atelier
