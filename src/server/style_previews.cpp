#include "atelier/style_previews.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "atelier/atomic_file.hpp"
#include "atelier/image.hpp"
#include "atelier/model_store.hpp"

namespace atelier::studio {
namespace {

namespace fs = std::filesystem;

// Cached previews kept on disk (a few kB each); the oldest go first.
constexpr std::size_t kMaxCachedFiles = 4000;

// Previews yield the CPU to jobs: Linux nice values are per thread, and the
// threads this one starts (torch's) inherit its value.
void lower_priority() { setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10); }

cv::Mat preview_sized(const cv::Mat& rgb) {
  if (std::max(rgb.cols, rgb.rows) <= StylePreviews::kSize) return rgb.clone();
  return resize_longest_side(Image{rgb, {}}, StylePreviews::kSize).rgb;
}

// A photo's identity: the hash of its pixels at preview size.
std::string pixels_hash(const cv::Mat& rgb) {
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  const auto* data = reinterpret_cast<const char*>(continuous.data);
  return sha256_hex(std::string(data, data + continuous.total() * continuous.elemSize())).substr(0, 16);
}

void prune_cache(const std::string& dir) {
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    if (it->path().extension() == ".jpg") files.emplace_back(it->last_write_time(error), it->path());
  if (files.size() <= kMaxCachedFiles) return;
  std::sort(files.begin(), files.end());
  for (std::size_t i = 0; i + kMaxCachedFiles < files.size(); ++i) fs::remove(files[i].second, error);
}

std::optional<std::vector<unsigned char>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

StylePreviews::StylePreviews(Painter& painter, std::string cache_dir, const cv::Mat& built_in)
    : painter_(painter), cache_dir_(std::move(cache_dir)) {
  fs::create_directories(cache_dir_);
  prune_cache(cache_dir_);
  const cv::Mat photo = preview_sized(built_in);
  photos_[kBuiltInPhoto] = {photo, pixels_hash(photo)};
  worker_ = std::thread([this] { work(); });
}

StylePreviews::~StylePreviews() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  painted_.notify_all();
  worker_.join();
}

std::vector<std::pair<std::string, std::string>> StylePreviews::styles() const {
  std::vector<std::pair<std::string, std::string>> found;
  for (const auto& style : painter_.models().value("styles", nlohmann::json::array()))
    found.emplace_back(style.at("name").get<std::string>(), style.value("version", ""));
  return found;
}

std::string StylePreviews::cache_path_locked(const Task& task) const {
  const auto photo = photos_.find(task.photo);
  if (photo == photos_.end()) return "";
  const std::string key = photo->second.hash + "\n" + task.model + "\n" + task.version + "\n" + std::to_string(kSize);
  return cache_dir_ + "/" + sha256_hex(key).substr(0, 32) + ".jpg";
}

void StylePreviews::queue_locked(const Task& task, bool first) {
  const std::string path = cache_path_locked(task);
  if (path.empty() || path == painting_ || fs::exists(path) || failures_.count(path)) return;
  if (!queued_paths_.insert(path).second) {
    if (!first) return;
    // Asked for now: moved to the front.
    queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                                [&](const Task& queued) { return cache_path_locked(queued) == path; }),
                 queue_.end());
  }
  if (first) queue_.push_front(task);
  else queue_.push_back(task);
  queued_.notify_one();
}

void StylePreviews::drop_queued_locked(const std::function<bool(const Task&)>& which) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (!which(*it)) {
      ++it;
      continue;
    }
    queued_paths_.erase(cache_path_locked(*it));
    it = queue_.erase(it);
  }
}

std::string StylePreviews::add_photo(const cv::Mat& rgb) {
  const cv::Mat photo = preview_sized(rgb);
  const std::string id = pixels_hash(photo);
  const auto installed = styles();  // outside the lock: the painter lists its model store
  std::lock_guard<std::mutex> lock(mutex_);
  // Only the newest photo is being looked at: the others' previews wait for a second look.
  drop_queued_locked([&](const Task& task) { return task.photo != kBuiltInPhoto && task.photo != id; });
  if (!photos_.count(id)) {
    photos_[id] = {photo, id};
    uploads_.push_back(id);
  }
  while (uploads_.size() > kKeptPhotos) {
    const std::string oldest = uploads_.front();
    drop_queued_locked([&](const Task& task) { return task.photo == oldest; });  // before its cache paths go
    photos_.erase(oldest);
    uploads_.pop_front();
  }
  for (auto style = installed.rbegin(); style != installed.rend(); ++style) queue_locked({id, style->first, style->second}, true);
  return id;
}

nlohmann::json StylePreviews::status(const std::string& photo) {
  const auto installed = styles();
  std::lock_guard<std::mutex> lock(mutex_);
  if (!photos_.count(photo)) throw Refusal(404, "no preview photo \"" + photo.substr(0, 40) + "\": upload it again");
  nlohmann::json list = nlohmann::json::array();
  int pending = 0;
  for (const auto& [name, version] : installed) {
    const Task task{photo, name, version};
    const std::string path = cache_path_locked(task);
    nlohmann::json item = {{"name", name}, {"url", nullptr}, {"error", nullptr}};
    const auto failure = failures_.find(path);
    if (fs::exists(path)) {
      // The version in the query: a replaced style's preview is a new URL to the browser's cache.
      item["url"] = "/api/v1/previews/" + photo + "/" + name + "?v=" + fs::path(path).stem().string().substr(0, 12);
    } else if (failure != failures_.end()) {
      item["error"] = failure->second;
    } else {
      ++pending;
      queue_locked(task, false);
    }
    list.push_back(item);
  }
  return {{"photo", photo}, {"size", kSize}, {"styles", list}, {"pending", pending}};
}

std::optional<std::vector<unsigned char>> StylePreviews::jpeg(const std::string& photo, const std::string& model) const {
  for (const auto& [name, version] : styles()) {
    if (name != model) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string path = cache_path_locked({photo, name, version});
    return path.empty() ? std::nullopt : read_file(path);
  }
  return std::nullopt;
}

std::vector<unsigned char> StylePreviews::built_in_jpeg(const std::string& model, std::chrono::milliseconds timeout) {
  const auto installed = styles();
  const auto style = std::find_if(installed.begin(), installed.end(), [&](const auto& s) { return s.first == model; });
  if (style == installed.end()) throw Refusal(404, "no installed style \"" + model.substr(0, 80) + "\"");
  const Task task{kBuiltInPhoto, style->first, style->second};
  std::unique_lock<std::mutex> lock(mutex_);
  const std::string path = cache_path_locked(task);
  queue_locked(task, true);
  const bool settled = painted_.wait_for(lock, timeout, [&] {
    return stopping_ || fs::exists(path) || failures_.count(path);
  });
  const auto failure = failures_.find(path);
  if (failure != failures_.end()) throw Refusal(500, failure->second);
  if (!settled || stopping_) throw Refusal(503, "the preview of \"" + model + "\" is still being painted", 2);
  lock.unlock();
  auto bytes = read_file(path);
  if (!bytes) throw Refusal(503, "the preview of \"" + model + "\" is not readable yet", 2);
  return *bytes;
}

void StylePreviews::cancel(const std::string& photo) {
  std::lock_guard<std::mutex> lock(mutex_);
  drop_queued_locked([&](const Task& task) { return task.photo == photo; });
}

void StylePreviews::work() {
  lower_priority();
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const Task task = queue_.front();
    queue_.pop_front();
    const std::string path = cache_path_locked(task);
    queued_paths_.erase(path);
    if (path.empty()) continue;  // its photo was dropped meanwhile
    const cv::Mat photo = photos_.at(task.photo).rgb;
    painting_ = path;
    lock.unlock();
    std::string failure;
    try {
      const cv::Mat painted = painter_.preview(task.model, photo);
      write_file_atomically(path, encode_image(Image{painted, {}}, ".jpg", SaveOptions{85}));
    } catch (const std::exception& error) {
      failure = first_line(error.what());
    }
    lock.lock();
    painting_.clear();
    if (!failure.empty()) failures_[path] = failure;
    painted_.notify_all();
  }
}

}  // namespace atelier::studio
