#include "atelier/studio_jobs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <random>

#include "atelier/error.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;

constexpr JobStatus kAllStatuses[] = {JobStatus::Queued,    JobStatus::Running,   JobStatus::Done,
                                      JobStatus::Failed,    JobStatus::Cancelled, JobStatus::Interrupted};

// One prepared statement, finalised on every path.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr) != SQLITE_OK)
      throw Error(std::string("studio database: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(statement_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int index, const std::string& text) {
    sqlite3_bind_text(statement_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, double value) { sqlite3_bind_double(statement_, index, value); }
  // True while there is a row to read.
  bool step() {
    const int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    throw Error(std::string("studio database: ") + sqlite3_errmsg(db_));
  }
  std::string text(int column) const {
    const auto* value = sqlite3_column_text(statement_, column);
    return value ? reinterpret_cast<const char*>(value) : "";
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

void execute(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error("studio database: " + text);
  }
}

}  // namespace

const char* status_name(JobStatus status) {
  switch (status) {
    case JobStatus::Queued: return "queued";
    case JobStatus::Running: return "running";
    case JobStatus::Done: return "done";
    case JobStatus::Failed: return "failed";
    case JobStatus::Cancelled: return "cancelled";
    case JobStatus::Interrupted: return "interrupted";
  }
  return "unknown";
}

JobStatus parse_status(const std::string& name) {
  for (JobStatus status : kAllStatuses)
    if (name == status_name(status)) return status;
  throw Error("unknown job status \"" + name + "\"");
}

bool has_ended(JobStatus status) { return status != JobStatus::Queued && status != JobStatus::Running; }

nlohmann::json to_stored(const JobRecord& job) {
  return {{"id", job.id},
          {"status", status_name(job.status)},
          {"method", job.method},
          {"params", job.params},
          {"created", job.created},
          {"started", job.started},
          {"finished", job.finished},
          {"progress", job.progress},
          {"iteration", job.iteration},
          {"iterations", job.iterations},
          {"losses", job.losses},
          {"loss_history", job.loss_history},
          {"width", job.width},
          {"height", job.height},
          {"estimated_bytes", job.estimated_bytes},
          {"message", job.message},
          {"warnings", job.warnings}};
}

JobRecord from_stored(const nlohmann::json& stored) {
  JobRecord job;
  job.id = stored.at("id").get<std::string>();
  job.status = parse_status(stored.at("status").get<std::string>());
  job.method = stored.at("method").get<std::string>();
  job.params = stored.at("params");
  job.created = stored.at("created").get<double>();
  job.started = stored.at("started").get<double>();
  job.finished = stored.at("finished").get<double>();
  job.progress = stored.at("progress").get<double>();
  job.iteration = stored.at("iteration").get<int>();
  job.iterations = stored.at("iterations").get<int>();
  job.losses = stored.at("losses");
  // JSON has no NaN or infinity (a diverged loss): they are stored as null.
  for (const auto& value : stored.at("loss_history"))
    job.loss_history.push_back(value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN());
  job.width = stored.at("width").get<int>();
  job.height = stored.at("height").get<int>();
  job.estimated_bytes = stored.at("estimated_bytes").get<std::int64_t>();
  job.message = stored.at("message").get<std::string>();
  job.warnings = stored.value("warnings", std::vector<std::string>{});  // records from before warnings
  return job;
}

std::string new_job_id() {
  static thread_local std::random_device device;
  static const char digits[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 24; ++i) id += digits[device() % 16];
  return id;
}

bool is_job_id(const std::string& text) {
  return text.size() == 24 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

// Holds DATA_DIR/studio.lock for the store's life: a second studio on the
// same directory would run the same queued jobs twice. The kernel drops the
// lock when the process ends, however it ends.
int lock_data_dir(const std::string& data_dir) {
  const std::string path = (fs::path(data_dir) / "studio.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("--data-dir " + data_dir + ": cannot create " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t got = ::pread(fd, pid, sizeof pid - 1, 0);
    ::close(fd);
    const std::string owner = got > 0 ? std::string(pid, static_cast<size_t>(got)) : "";
    throw Error("--data-dir " + data_dir + " is in use by another studio" +
                (owner.empty() ? "" : " (process " + owner.substr(0, owner.find('\n')) + ")") +
                "; stop it or choose another directory");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
  }  // the pid is only a hint for the message above
  return fd;
}

}  // namespace

JobStore::JobStore(const std::string& data_dir) : data_dir_(data_dir) {
  std::error_code error;
  fs::create_directories(fs::path(data_dir) / "jobs", error);
  if (error) throw Error("--data-dir " + data_dir + ": cannot create it (" + error.message() + ")");
  lock_fd_ = lock_data_dir(data_dir);
  const std::string path = (fs::path(data_dir) / "studio.sqlite3").string();
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    ::close(lock_fd_);
    throw Error("cannot open " + path + ": " + message);
  }
  try {
    // WAL: readers do not block the writer, and a commit survives a killed
    // process (synchronous=NORMAL only risks the last commits on power loss).
    execute(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
    execute(db_, "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
                 "created REAL NOT NULL, record TEXT NOT NULL)");
    execute(db_, "CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs(created)");
  } catch (const Error& failure) {
    sqlite3_close(db_);
    ::close(lock_fd_);
    throw Error("cannot use " + path + ": " + failure.what());
  }
}

JobStore::~JobStore() {
  sqlite3_close(db_);
  ::close(lock_fd_);
}

void JobStore::put(const JobRecord& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement statement(db_, "INSERT OR REPLACE INTO jobs (id, status, created, record) VALUES (?, ?, ?, ?)");
  statement.bind(1, job.id);
  statement.bind(2, std::string(status_name(job.status)));
  statement.bind(3, job.created);
  statement.bind(4, json_text(to_stored(job)));
  statement.step();
}

void JobStore::remove(const std::string& id) {
  if (!is_job_id(id)) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement statement(db_, "DELETE FROM jobs WHERE id = ?");
    statement.bind(1, id);
    statement.step();
  }
  // After the record: a crash in between leaves a folder that the next
  // start removes as an orphan, never a record without its files.
  std::error_code ignored;
  fs::remove_all(fs::path(data_dir_) / "jobs" / id, ignored);
}

std::vector<JobRecord> JobStore::query(const std::string& sql, const std::vector<std::string>& arguments) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement statement(db_, sql);
  for (size_t i = 0; i < arguments.size(); ++i) statement.bind(static_cast<int>(i + 1), arguments[i]);
  std::vector<JobRecord> jobs;
  while (statement.step()) {
    try {
      jobs.push_back(from_stored(nlohmann::json::parse(statement.text(0))));
    } catch (const std::exception&) {
      // A record this version cannot read is skipped, not fatal.
    }
  }
  return jobs;
}

std::optional<JobRecord> JobStore::get(const std::string& id) const {
  if (!is_job_id(id)) return std::nullopt;
  auto jobs = query("SELECT record FROM jobs WHERE id = ?", {id});
  if (jobs.empty()) return std::nullopt;
  return jobs.front();
}

bool JobStore::contains(const std::string& id) const {
  if (!is_job_id(id)) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  Statement statement(db_, "SELECT 1 FROM jobs WHERE id = ?");
  statement.bind(1, id);
  return statement.step();
}

std::vector<JobRecord> JobStore::newest(int limit) const {
  return query("SELECT record FROM jobs ORDER BY created DESC LIMIT " + std::to_string(std::max(0, limit)), {});
}

std::vector<JobRecord> JobStore::with_status(JobStatus status) const {
  return query("SELECT record FROM jobs WHERE status = ? ORDER BY created ASC", {status_name(status)});
}

std::string JobStore::job_dir(const std::string& id) const {
  if (!is_job_id(id)) throw Error("not a job id");
  const fs::path dir = fs::path(data_dir_) / "jobs" / id;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw Error("cannot create " + dir.string() + ": " + error.message());
  return dir.string();
}

}  // namespace atelier::studio
