#include "atelier/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "atelier/error.hpp"

namespace atelier {
namespace {

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

void write_atomically(const std::string& path, const unsigned char* data, size_t size) {
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
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace

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
