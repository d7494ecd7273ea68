// Atelier Studio's jobs: what one painting request is, and where jobs are
// kept so that they outlive the server (SQLite for the records, one folder of
// image files per job).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace atelier::studio {

enum class JobStatus { Queued, Running, Done, Failed, Cancelled, Interrupted };
const char* status_name(JobStatus status);
// Throws atelier::Error for an unknown name.
JobStatus parse_status(const std::string& name);
// Done, failed, cancelled and interrupted jobs have ended (an interrupted
// one can be queued again).
bool has_ended(JobStatus status);

// A colour region of a job's mask and the style it takes: one of the job's
// uploaded paintings (`style`, 0-based) or an installed fast style (`model`).
struct JobRegion {
  std::string color;  // "#rrggbb", lowercase
  int style = -1;     // the upload's index; -1: `model`
  std::string model;
};

// A job's validated settings, typed: what the request parser fills in and
// the painter reads. Kept in JobRecord::params as JSON (to_params).
struct JobSettings {
  // The studio's own defaults for an optimisation: smaller and shorter than
  // the CLI's, so that a browser user sees a result within minutes.
  static constexpr int kGatysSize = 384;
  static constexpr int kGatysIterations = 150;

  std::string model;  // fast: the style's name
  int size = 0;       // longest side of the result
  double strength = 1.0;
  int iterations = kGatysIterations;
  bool keep_colors = false;
  std::string precision = "fp32";
  int styles = 0;  // magenta, adain and gatys: paintings uploaded
  std::vector<double> style_blend;  // magenta, adain: one weight per painting; empty: equal weights
  // fast, magenta, adain: a grey mask was uploaded (the job's "mask" file):
  // one style goes where it is white, the photo stays where black; two
  // styles: the first where white, the second where black.
  // Gatys too: the mask's weights guide the Gram matrices.
  bool mask = false;
  std::int64_t mask_pixels = 0;  // the mask's own width x height (decoded at that size)
  // With regions the mask is colour-coded: each region's colour takes its
  // style (every uploaded painting is some region's), the rest keeps the
  // photo; edges feathered over `feather` pixels of the result.
  std::vector<JobRegion> regions;
  double feather = 4.0;
  std::int64_t style_pixels = 0;
  int content_width = 0, content_height = 0;
  std::string content_name;
};
nlohmann::json to_params(const JobSettings& settings);
// Throws nlohmann::json's errors when a stored record lacks a setting.
JobSettings job_settings(const nlohmann::json& params);

struct JobRecord {
  std::string id;  // 24 lowercase hex digits, made by the server
  JobStatus status = JobStatus::Queued;
  std::string method;  // "fast", "magenta", "adain" or "gatys"
  // The validated request: model, size, strength, iterations, keep_colors,
  // precision, styles (a count), style_blend, content_width, content_height,
  // content_name.
  nlohmann::json params = nlohmann::json::object();
  double created = 0, started = 0, finished = 0;  // Unix seconds; 0: not yet
  double progress = 0;                            // 0..1
  int iteration = 0, iterations = 0;
  nlohmann::json losses = nlohmann::json::object();  // the latest weighted loss terms
  std::vector<double> loss_history;                  // total loss, thinned to at most 512 values
  int width = 0, height = 0;                         // of the result
  std::int64_t estimated_bytes = 0;                  // peak memory the job was admitted with
  std::string message;                               // why it failed or was interrupted
  std::vector<std::string> warnings;                 // said while painting, e.g. a region no pixel has
};

// The stored form (everything) and back; from_stored throws on bad data.
nlohmann::json to_stored(const JobRecord& job);
JobRecord from_stored(const nlohmann::json& stored);

// A fresh random id; and whether a client-given string is one (ids are the
// only client value that selects files, so they are checked before use).
std::string new_job_id();
bool is_job_id(const std::string& text);

double unix_now();

// JSON text that never throws: invalid UTF-8 from a client becomes U+FFFD.
inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The job records in DATA_DIR/studio.sqlite3 and the job folders in
// DATA_DIR/jobs/<id>/. Thread-safe.
class JobStore {
 public:
  // Creates the directory, database and table when missing, and locks the
  // directory. Throws atelier::Error when it cannot be used or another
  // store (in any process) has it open.
  explicit JobStore(const std::string& data_dir);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  void put(const JobRecord& job);  // insert or replace
  // Deletes the record, then the job's folder.
  void remove(const std::string& id);
  std::optional<JobRecord> get(const std::string& id) const;
  // Whether a record exists, readable by this version or not.
  bool contains(const std::string& id) const;
  std::vector<JobRecord> newest(int limit) const;
  std::vector<JobRecord> with_status(JobStatus status) const;  // oldest first
  // DATA_DIR/jobs/<id>, created on demand. Throws for anything not an id.
  std::string job_dir(const std::string& id) const;
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::vector<JobRecord> query(const std::string& sql, const std::vector<std::string>& arguments) const;
  std::string data_dir_;
  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;  // DATA_DIR/studio.lock, held while the store is open
  mutable std::mutex mutex_;
};

}  // namespace atelier::studio
