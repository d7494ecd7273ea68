// The gallery's previews: every installed style applied to a photo (the
// built-in one, or one a person uploads), painted on a thread of their own
// at low priority so that they never hold up a job, and cached on disk
// under a key that changes when a style's weights file does. Torch-free:
// the painting is the Painter's.
#pragma once
#include <opencv2/core.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "atelier/studio.hpp"

namespace atelier::studio {

// The photo every style is shown on until a person chooses their own.
inline constexpr const char* kBuiltInPhoto = "builtin";

class StylePreviews {
 public:
  // Longest side of a preview, in pixels: a gallery tile at twice its size.
  static constexpr int kSize = 176;
  // Uploaded photos kept (each at preview size): the latest few people chose.
  static constexpr std::size_t kKeptPhotos = 8;

  // Caches in `cache_dir` (created); `built_in` is the built-in photo's RGB.
  StylePreviews(Painter& painter, std::string cache_dir, const cv::Mat& built_in);
  ~StylePreviews();  // stops after the preview being painted
  StylePreviews(const StylePreviews&) = delete;
  StylePreviews& operator=(const StylePreviews&) = delete;

  // Keeps a photo (any size; scaled down here) and queues every style on
  // it ahead of other work; earlier uploads' queued previews are dropped.
  // Returns its id (a hash of its pixels).
  std::string add_photo(const cv::Mat& rgb);
  // Every installed style's preview of a photo: {"photo", "size", "styles":
  // [{"name", "url" (null until painted), "error"}], "pending"}; queues the
  // missing ones. Throws Refusal 404 for an unknown photo.
  nlohmann::json status(const std::string& photo);
  // One preview's JPEG, once painted (nullopt before).
  std::optional<std::vector<unsigned char>> jpeg(const std::string& photo, const std::string& model) const;
  // The preview of `model` on the built-in photo, queued first and waited
  // for. Throws Refusal 404 for a name that is not an installed style.
  std::vector<unsigned char> built_in_jpeg(const std::string& model, std::chrono::milliseconds timeout);
  // Drops a photo's queued previews (one being painted still finishes).
  void cancel(const std::string& photo);

 private:
  struct Task {
    std::string photo, model, version;
  };
  struct Photo {
    cv::Mat rgb;       // at preview size
    std::string hash;  // of its pixels: part of every cache key
  };
  // "" when the task's photo is no longer kept.
  std::string cache_path_locked(const Task& task) const;
  // Installed styles' names and versions, from the painter.
  std::vector<std::pair<std::string, std::string>> styles() const;
  // Queues unless painted, failed or queued already; `first` jumps the queue.
  void queue_locked(const Task& task, bool first);
  void drop_queued_locked(const std::function<bool(const Task&)>& which);
  void work();

  Painter& painter_;
  std::string cache_dir_;
  mutable std::mutex mutex_;
  std::condition_variable queued_, painted_;
  std::map<std::string, Photo> photos_;    // by id
  std::deque<std::string> uploads_;        // uploaded photo ids, oldest first
  std::deque<Task> queue_;
  std::set<std::string> queued_paths_;              // cache paths of queued tasks
  std::string painting_;                            // and of the one being painted
  std::map<std::string, std::string> failures_;     // by cache path
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace atelier::studio
