// Atelier Studio's job queue: bounded concurrency, a bounded queue,
// admission by estimated memory, cancel, live progress for watchers, and
// recovery after a restart. Torch-free: the painting itself is done by a
// Painter (the real one is studio_painter.hpp; tests use fakes).
#pragma once
#include <opencv2/core.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "atelier/error.hpp"
#include "atelier/studio_jobs.hpp"

namespace atelier::studio {

// A request the studio turns down, with the HTTP status that says why.
class Refusal : public Error {
 public:
  Refusal(int status, const std::string& message, int retry_after_seconds = 0)
      : Error(message), status(status), retry_after_seconds(retry_after_seconds) {}
  int status;
  int retry_after_seconds;
};

// What a painter sees of the job it runs. The job's folder holds the
// uploads as sent, "content" and "style-0".. (their format is told from
// their bytes; they were decoded once before being accepted), and receives
// result.png (written atomically by the painter) and any checkpoint.
struct JobRun {
  const JobRecord& job;
  std::string dir;
  // Progress within the job: iteration of iterations, and the loss terms.
  std::function<void(int iteration, int iterations, const nlohmann::json& losses)> report;
  // The picture so far (CV_32FC3 RGB [0,1]), for watchers.
  std::function<void(const cv::Mat& rgb)> preview;
  // Polled by long jobs: stop (after a checkpoint) when either is true.
  std::function<bool()> cancel_requested;
  std::function<bool()> shutdown_requested;
  // A warning for the job's record and events (a region no pixel has); may be empty.
  std::function<void(const std::string& warning)> warn;
};

enum class PaintOutcome { Done, Stopped };

class Painter {
 public:
  virtual ~Painter() = default;
  // Throws atelier::Error when the job cannot be painted here (an unknown
  // model, no feature network for an optimisation).
  virtual void check(const JobRecord& job) const = 0;
  // The job's peak memory in bytes. Throws atelier::Error when it cannot
  // fit in `budget` bytes however it is run.
  virtual std::int64_t estimate_bytes(const JobRecord& job, std::int64_t budget) const = 0;
  // Paints; returns Stopped when cancel or shutdown stopped it early. Throws
  // atelier::Error (or any exception) when the job fails; sets the result's
  // size in `width` and `height`.
  virtual PaintOutcome paint(const JobRun& run, int& width, int& height) = 0;
  // The installed styles and feature networks, as GET /models shows them;
  // each style's "version" changes when its weights file does.
  virtual nlohmann::json models() const = 0;
  // A style applied to a small photo (CV_32FC3 RGB [0,1]) for the gallery
  // (style_previews.hpp runs these on their own thread). Throws
  // atelier::Error for a name that is not an installed style.
  virtual cv::Mat preview(const std::string& model, const cv::Mat& photo) = 0;
};

struct StudioOptions {
  int workers = 1;
  int max_queue = 16;               // queued jobs, not counting running ones
  std::int64_t memory_budget = 0;   // bytes that running jobs may use together; 0: no limit
  int preview_size = 256;           // longest side of previews sent to watchers
  // Called (from a worker) as each job ends, e.g. to log it.
  std::function<void(const JobRecord&)> on_ended;
};

// A job as watchers see it: the record, its place in the queue, and the
// latest preview (JPEG), each with a version that grows on every change.
struct JobView {
  JobRecord job;
  int position = 0;  // 1 = next to run; 0 when not queued
  double eta_seconds = -1;  // -1: unknown
  std::uint64_t version = 0;
  // Shared, not copied: every poll and event takes a view.
  std::shared_ptr<const std::vector<unsigned char>> preview_jpeg;
  std::uint64_t preview_version = 0;
};

struct StudioCounters {
  std::uint64_t submitted = 0;
  std::map<std::string, std::uint64_t> ended;  // by status
  std::map<std::string, double> seconds_sum;   // run time of done jobs, by method
  std::map<std::string, std::uint64_t> seconds_count;
  int queued = 0, running = 0;
  std::int64_t reserved_bytes = 0, budget_bytes = 0;
  int workers = 0, max_queue = 0;
};

class Studio {
 public:
  // Opens the store; jobs that were running when the last server stopped
  // are marked interrupted, queued ones are queued again; starts the workers.
  Studio(JobStore& store, Painter& painter, StudioOptions options);
  ~Studio();  // shutdown()
  Studio(const Studio&) = delete;
  Studio& operator=(const Studio&) = delete;

  // Queues a new job (params filled in, id and times set here) with its
  // uploaded files, already checked to decode (a mask: empty for none). Throws Refusal: 400 (painter check), 422 (cannot fit in
  // memory), 429 (queue full, with a retry time), 503 (shutting down).
  JobRecord submit(JobRecord job, const std::string& content, const std::vector<std::string>& styles,
                   const std::string& mask = {});
  // Queues an interrupted, failed or cancelled job again (409 otherwise).
  JobRecord rerun(const std::string& id);
  // Cancels a queued or running job; 404 / 409 as Refusal.
  JobRecord cancel(const std::string& id);
  // Deletes an ended job: its record and its folder (404 / 409 as Refusal).
  void remove(const std::string& id);

  // The job (404 as Refusal when unknown).
  JobView view(const std::string& id) const;
  std::vector<JobView> history(int limit) const;
  // Waits up to `timeout` for a change after `version`; returns the view
  // (whose version equals `version` when nothing changed). A job that has
  // ended is answered at once, from the store (version 0). In a shutdown, a
  // queued job is answered at once too.
  JobView wait_for_change(const std::string& id, std::uint64_t version, std::chrono::milliseconds timeout) const;

  StudioCounters counters() const;
  Painter& painter() { return painter_; }
  JobStore& store() { return store_; }

  // Stops taking jobs, asks running ones to stop (an optimisation
  // checkpoints and is marked interrupted; a fast job finishes), waits for
  // the workers. Queued jobs stay queued for the next start. Idempotent.
  void shutdown();
  bool shutting_down() const { return shutting_down_; }

 private:
  struct LiveJob;
  void work();
  void run_job(const std::shared_ptr<LiveJob>& live);
  void finish(const std::shared_ptr<LiveJob>& live, JobStatus status, const std::string& message);
  void enqueue_locked(const std::shared_ptr<LiveJob>& live);
  // Records a new or re-run job and queues it.
  void admit_locked(const JobRecord& job);
  // Throws Refusal 503 when shutting down, 429 with a retry time when full.
  void check_capacity_locked() const;
  JobView view_locked(const LiveJob& live) const;
  double average_seconds_locked(const std::string& method) const;
  std::shared_ptr<LiveJob> live_locked(const std::string& id) const;

  JobStore& store_;
  Painter& painter_;
  StudioOptions options_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;   // any job changed (watchers)
  std::condition_variable work_available_;    // workers
  std::deque<std::shared_ptr<LiveJob>> queue_;
  std::map<std::string, std::shared_ptr<LiveJob>> live_;  // queued and running
  std::int64_t reserved_bytes_ = 0;
  int running_ = 0;
  StudioCounters counters_;
  std::atomic<bool> shutting_down_{false};
  std::vector<std::thread> workers_;
};

}  // namespace atelier::studio
