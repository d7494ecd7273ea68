#include "atelier/studio.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "atelier/atomic_file.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxLossHistory = 512;
// How often progress of a running job is written to the database, so a
// crash loses little of what watchers saw.
constexpr double kPersistEverySeconds = 2.0;

// Before any job of a method has finished, for queue ETAs and Retry-After.
double default_seconds(const std::string& method) { return method == "gatys" ? 60.0 : 5.0; }

// What a killed process leaves behind: write_file_atomically's temporary
// files, and the folder of a job whose record was never written (killed
// between saving the uploads and the record). Nothing else runs yet.
void remove_leftovers(const JobStore& store) {
  std::error_code error;
  for (fs::directory_iterator job(fs::path(store.data_dir()) / "jobs", error), end; !error && job != end;
       job.increment(error)) {
    const std::string id = job->path().filename().string();
    if (!store.contains(id)) {  // not get(): a record it cannot read still owns its folder
      std::error_code ignored;
      fs::remove_all(job->path(), ignored);
      continue;
    }
    for (fs::directory_iterator file(job->path(), error); !error && file != end; file.increment(error))
      if (file->path().filename().string().find(".tmp-") != std::string::npos) fs::remove(file->path(), error);
    error.clear();
  }
}

// The store is where jobs outlive the process, but a failing disk must not
// stop the studio: the in-memory state stays right, and the next write of
// the record catches up.
void persist(JobStore& store, const JobRecord& job) {
  try {
    store.put(job);
  } catch (const std::exception&) {
  }
}

}  // namespace

struct Studio::LiveJob {
  JobRecord record;
  std::uint64_t version = 1;
  std::shared_ptr<const std::vector<unsigned char>> preview_jpeg;
  std::uint64_t preview_version = 0;
  std::atomic<bool> cancel{false};
  bool running = false;
  double last_persisted = 0;
};

Studio::Studio(JobStore& store, Painter& painter, StudioOptions options)
    : store_(store), painter_(painter), options_(options) {
  options_.workers = std::max(1, options_.workers);
  remove_leftovers(store_);
  for (JobRecord job : store_.with_status(JobStatus::Running)) {
    job.status = JobStatus::Interrupted;
    job.finished = unix_now();
    job.message = "the server stopped while this job ran (at iteration " + std::to_string(job.iteration) +
                  "); run it again to continue";
    persist(store_, job);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const JobRecord& job : store_.with_status(JobStatus::Queued)) {
      auto live = std::make_shared<LiveJob>();
      live->record = job;
      enqueue_locked(live);
    }
  }
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
}

Studio::~Studio() { shutdown(); }

void Studio::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shutting_down_.exchange(true)) return;
  }
  work_available_.notify_all();
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void Studio::enqueue_locked(const std::shared_ptr<LiveJob>& live) {
  queue_.push_back(live);
  live_[live->record.id] = live;
  ++live->version;
}

void Studio::admit_locked(const JobRecord& job) {
  auto live = std::make_shared<LiveJob>();
  live->record = job;
  store_.put(job);  // first: a job the store could not keep is refused, not run
  enqueue_locked(live);
  ++counters_.submitted;
  work_available_.notify_one();
  changed_.notify_all();
}

std::shared_ptr<Studio::LiveJob> Studio::live_locked(const std::string& id) const {
  const auto found = live_.find(id);
  return found == live_.end() ? nullptr : found->second;
}

double Studio::average_seconds_locked(const std::string& method) const {
  const auto count = counters_.seconds_count.find(method);
  if (count == counters_.seconds_count.end() || count->second == 0) return default_seconds(method);
  return counters_.seconds_sum.at(method) / static_cast<double>(count->second);
}

JobView Studio::view_locked(const LiveJob& live) const {
  JobView view;
  view.job = live.record;
  view.version = live.version;
  view.preview_jpeg = live.preview_jpeg;
  view.preview_version = live.preview_version;
  if (live.record.status == JobStatus::Running) {
    const double elapsed = unix_now() - live.record.started;
    if (live.record.progress > 0.02) view.eta_seconds = elapsed * (1 - live.record.progress) / live.record.progress;
  } else if (live.record.status == JobStatus::Queued) {
    double ahead = 0;
    for (const auto& queued : queue_) {
      ++view.position;
      if (queued.get() == &live) break;
      ahead += average_seconds_locked(queued->record.method);
    }
    view.eta_seconds = (ahead + average_seconds_locked(live.record.method)) / options_.workers;
  }
  return view;
}

void Studio::check_capacity_locked() const {
  if (shutting_down_) throw Refusal(503, "the studio is shutting down");
  if (static_cast<int>(queue_.size()) < options_.max_queue) return;
  // Retry when about one job's place has freed: the queue's mean job time
  // shared among the workers.
  double waiting = 0;
  for (const auto& queued : queue_) waiting += average_seconds_locked(queued->record.method);
  const int retry = std::max(1, static_cast<int>(std::ceil(waiting / options_.workers / queue_.size())));
  throw Refusal(429, "the queue is full (" + std::to_string(queue_.size()) + " jobs waiting); try again later", retry);
}

JobRecord Studio::submit(JobRecord job, const std::string& content, const std::vector<std::string>& styles,
                         const std::string& mask) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    check_capacity_locked();  // fail fast, before the work below
  }
  try {
    painter_.check(job);
    job.estimated_bytes = painter_.estimate_bytes(job, options_.memory_budget);
  } catch (const Refusal&) {
    throw;
  } catch (const Error& error) {
    throw Refusal(400, first_line(error.what()));
  }  // anything else (a file system error) is the server's fault: 500
  if (options_.memory_budget > 0 && job.estimated_bytes > options_.memory_budget)
    throw Refusal(422, "this job needs about " + format_memory_size(job.estimated_bytes) + ", more than the " +
                           format_memory_size(options_.memory_budget) +
                           " the studio may use (--max-memory); choose a smaller size");

  job.id = new_job_id();
  job.status = JobStatus::Queued;
  job.created = unix_now();
  const std::string dir = store_.job_dir(job.id);
  write_file_atomically(dir + "/content", content);
  for (size_t i = 0; i < styles.size(); ++i) write_file_atomically(dir + "/style-" + std::to_string(i), styles[i]);
  if (!mask.empty()) write_file_atomically(dir + "/mask", mask);

  std::lock_guard<std::mutex> lock(mutex_);
  try {
    check_capacity_locked();
  } catch (const Refusal&) {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
    throw;
  }
  admit_locked(job);
  return job;
}

JobRecord Studio::rerun(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (live_locked(id)) throw Refusal(409, "job " + id + " is already queued or running");
  std::optional<JobRecord> stored = store_.get(id);
  if (!stored) throw Refusal(404, "no job " + id);
  if (stored->status == JobStatus::Done) throw Refusal(409, "job " + id + " is done; submit a new job instead");
  if (!fs::exists(store_.job_dir(id) + "/content"))
    throw Refusal(410, "the photo of job " + id + " is gone from the data directory; submit a new job");
  check_capacity_locked();
  JobRecord job = *stored;
  job.status = JobStatus::Queued;
  job.started = job.finished = job.progress = 0;
  job.iteration = 0;
  job.losses = nlohmann::json::object();
  job.loss_history.clear();
  job.message.clear();
  admit_locked(job);
  return job;
}

JobRecord Studio::cancel(const std::string& id) {
  std::shared_ptr<LiveJob> live;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    live = live_locked(id);
    if (live && !live->running) {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), live), queue_.end());
      live->record.status = JobStatus::Cancelled;
      live->record.finished = unix_now();
      live->record.message = "cancelled before it started";
      ++live->version;
      ++counters_.ended["cancelled"];
      live_.erase(id);
      persist(store_, live->record);
      changed_.notify_all();
      work_available_.notify_all();  // the next job may have waited behind this one for memory
      return live->record;
    }
  }
  if (!live) {
    std::optional<JobRecord> stored = store_.get(id);
    if (!stored) throw Refusal(404, "no job " + id);
    throw Refusal(409, "job " + id + " has already ended (" + status_name(stored->status) + ")");
  }
  // Running: the painter stops at its next check; the worker records it.
  live->cancel = true;
  std::lock_guard<std::mutex> lock(mutex_);
  return live->record;
}

void Studio::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);  // so no rerun can start it meanwhile
  if (live_locked(id)) throw Refusal(409, "job " + id + " is queued or running: cancel it first");
  if (!store_.get(id)) throw Refusal(404, "no job " + id);
  store_.remove(id);
}

JobView Studio::view(const std::string& id) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto live = live_locked(id)) return view_locked(*live);
  }
  std::optional<JobRecord> stored = store_.get(id);
  if (!stored) throw Refusal(404, "no job " + id);
  JobView view;
  view.job = *stored;
  return view;
}

std::vector<JobView> Studio::history(int limit) const {
  std::vector<JobView> views;
  for (const JobRecord& job : store_.newest(limit)) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto live = live_locked(job.id)) {
      views.push_back(view_locked(*live));
    } else {
      views.push_back(JobView{job});
    }
  }
  return views;
}

JobView Studio::wait_for_change(const std::string& id, std::uint64_t version, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    auto live = live_locked(id);
    if (!live) break;
    // In a shutdown a queued job waits for the next start: nothing to wait
    // for here. A running one ends soon (and watchers see how).
    if (live->version != version || (shutting_down_ && !live->running)) return view_locked(*live);
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return view_locked(*live);
  }
  lock.unlock();
  return view(id);
}

StudioCounters Studio::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  StudioCounters counters = counters_;
  counters.queued = static_cast<int>(queue_.size());
  counters.running = running_;
  counters.reserved_bytes = reserved_bytes_;
  counters.budget_bytes = options_.memory_budget;
  counters.workers = options_.workers;
  counters.max_queue = options_.max_queue;
  return counters;
}

void Studio::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto next_fits = [&] {
    if (queue_.empty()) return false;
    const std::int64_t need = queue_.front()->record.estimated_bytes;
    return options_.memory_budget <= 0 || running_ == 0 || reserved_bytes_ + need <= options_.memory_budget;
  };
  while (true) {
    work_available_.wait(lock, [&] { return shutting_down_ || next_fits(); });
    if (shutting_down_) return;
    std::shared_ptr<LiveJob> live = queue_.front();
    queue_.pop_front();
    live->running = true;
    reserved_bytes_ += live->record.estimated_bytes;
    ++running_;
    live->record.status = JobStatus::Running;
    live->record.started = unix_now();
    ++live->version;
    persist(store_, live->record);
    changed_.notify_all();
    lock.unlock();
    run_job(live);
    lock.lock();
  }
}

void Studio::run_job(const std::shared_ptr<LiveJob>& live) {
  const JobRecord job = live->record;  // the painter's own copy of the request
  JobRun run{job, (fs::path(store_.data_dir()) / "jobs" / job.id).string()};
  run.report = [this, live](int iteration, int iterations, const nlohmann::json& losses) {
    std::lock_guard<std::mutex> lock(mutex_);
    JobRecord& record = live->record;
    record.iteration = iteration;
    record.iterations = iterations;
    record.progress = iterations > 0 ? std::clamp(static_cast<double>(iteration) / iterations, 0.0, 1.0) : 0.0;
    record.losses = losses;
    if (losses.contains("total")) {
      if (record.loss_history.size() >= kMaxLossHistory) {  // keep every other value: an even thinning
        for (size_t i = 0; i < record.loss_history.size() / 2; ++i) record.loss_history[i] = record.loss_history[2 * i];
        record.loss_history.resize(record.loss_history.size() / 2);
      }
      record.loss_history.push_back(losses["total"].get<double>());
    }
    ++live->version;
    const double now = unix_now();
    if (now - live->last_persisted > kPersistEverySeconds) {
      live->last_persisted = now;
      persist(store_, record);
    }
    changed_.notify_all();
  };
  run.preview = [this, live](const cv::Mat& rgb) {
    const double scale = static_cast<double>(options_.preview_size) / std::max(rgb.cols, rgb.rows);
    cv::Mat small = rgb;
    if (scale < 1) cv::resize(rgb, small, cv::Size(), scale, scale, cv::INTER_AREA);
    auto jpeg = std::make_shared<const std::vector<unsigned char>>(encode_image(Image{small, {}}, ".jpg", SaveOptions{80}));
    std::lock_guard<std::mutex> lock(mutex_);
    live->preview_jpeg = std::move(jpeg);
    ++live->preview_version;
    ++live->version;
    changed_.notify_all();
  };
  run.cancel_requested = [live] { return live->cancel.load(); };
  run.shutdown_requested = [this] { return shutting_down_.load(); };
  run.warn = [this, live](const std::string& warning) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string>& warnings = live->record.warnings;
    if (std::find(warnings.begin(), warnings.end(), warning) != warnings.end()) return;  // a rerun says it again
    warnings.push_back(warning);
    ++live->version;
    changed_.notify_all();
  };

  int width = 0, height = 0;
  PaintOutcome outcome = PaintOutcome::Done;
  try {
    outcome = painter_.paint(run, width, height);
  } catch (const std::exception& error) {
    finish(live, JobStatus::Failed, first_line(error.what()));
    return;
  } catch (...) {
    finish(live, JobStatus::Failed, "internal error");
    return;
  }
  if (outcome == PaintOutcome::Done) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live->record.width = width;
      live->record.height = height;
    }
    finish(live, JobStatus::Done, "");
  } else if (live->cancel) {
    finish(live, JobStatus::Cancelled, "cancelled while running");
  } else {
    finish(live, JobStatus::Interrupted,
           "stopped by the server's shutdown at iteration " + std::to_string(live->record.iteration) +
               "; run it again to continue");
  }
}

void Studio::finish(const std::shared_ptr<LiveJob>& live, JobStatus status, const std::string& message) {
  std::unique_lock<std::mutex> lock(mutex_);
  JobRecord& record = live->record;
  record.status = status;
  record.finished = unix_now();
  record.message = message;
  if (status == JobStatus::Done) {
    record.progress = 1;
    counters_.seconds_sum[record.method] += record.finished - record.started;
    ++counters_.seconds_count[record.method];
  }
  ++counters_.ended[status_name(status)];
  reserved_bytes_ -= record.estimated_bytes;
  --running_;
  ++live->version;
  persist(store_, record);
  live_.erase(record.id);
  changed_.notify_all();
  work_available_.notify_all();
  const JobRecord ended = record;
  lock.unlock();  // on_ended may block (a log pipe): not while holding up every watcher
  try {
    if (options_.on_ended) options_.on_ended(ended);
  } catch (const std::exception&) {  // a log line lost; the worker must go on
  }
}

}  // namespace atelier::studio
