#include "atelier/gatys_checkpoint.hpp"

#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {
namespace {

// Tensors and metadata of the optimiser's state carry this prefix.
const std::string kOptimizer = "optimizer.";

int metadata_int(const SafetensorsFile& file, const std::string& key) {
  try {
    return std::stoi(file.metadata_value(key));
  } catch (const std::exception&) {
    throw Error(file.path() + ": checkpoint metadata \"" + key + "\" is missing or not a number");
  }
}

}  // namespace

void write_gatys_checkpoint(const std::string& path, const std::string& job, GatysCheckpoint checkpoint) {
  cv::Mat rgb = checkpoint.rgb.isContinuous() ? checkpoint.rgb : checkpoint.rgb.clone();
  TensorToWrite image;
  image.dtype = DType::F32;
  image.shape = {rgb.rows, rgb.cols, 3};
  image.values.assign(rgb.ptr<float>(), rgb.ptr<float>() + rgb.total() * 3);
  std::map<std::string, TensorToWrite> tensors = {{"image", image}};
  std::map<std::string, std::string> metadata = {{"job", job},
                                                 {"scale_index", std::to_string(checkpoint.scale_index)},
                                                 {"iteration", std::to_string(checkpoint.iteration)}};
  for (auto& [name, tensor] : checkpoint.optimizer_tensors) tensors[kOptimizer + name] = std::move(tensor);
  for (const auto& [name, value] : checkpoint.optimizer_values) metadata[kOptimizer + name] = value;
  write_safetensors(path, tensors, metadata);
}

GatysCheckpointWriter::GatysCheckpointWriter(std::string path, std::string job)
    : path_(std::move(path)), job_(std::move(job)) {}

GatysCheckpointWriter::~GatysCheckpointWriter() {
  if (pending_.valid()) pending_.wait();
}

void GatysCheckpointWriter::write(GatysCheckpoint checkpoint) {
  finish();
  pending_ = std::async(std::launch::async, [this, checkpoint = std::move(checkpoint)]() mutable {
    write_gatys_checkpoint(path_, job_, std::move(checkpoint));
  });
}

void GatysCheckpointWriter::finish() {
  if (pending_.valid()) pending_.get();
}

GatysCheckpoint read_gatys_checkpoint(const std::string& path, const std::string& job) {
  if (!std::filesystem::exists(path)) throw Error("no checkpoint " + path + " to resume from");
  const SafetensorsFile file = SafetensorsFile::open(path);
  if (file.metadata_value("job") != job)
    throw Error(path + " was written by a different command (other inputs or settings); "
                "delete it, or run without --resume to start over");
  const TensorView& view = file.tensor("image");
  if (view.shape.size() != 3 || view.shape[2] != 3) throw Error(path + ": checkpoint image is not [H,W,3]");
  std::vector<float> values = view.to_float();
  GatysCheckpoint checkpoint;
  checkpoint.scale_index = metadata_int(file, "scale_index");
  checkpoint.iteration = metadata_int(file, "iteration");
  checkpoint.rgb = cv::Mat(static_cast<int>(view.shape[0]), static_cast<int>(view.shape[1]), CV_32FC3,
                           values.data()).clone();
  const auto optimizer_name = [](const std::string& name) {
    return name.rfind(kOptimizer, 0) == 0 ? name.substr(kOptimizer.size()) : std::string();
  };
  for (const auto& name : file.names())
    if (!optimizer_name(name).empty()) {
      const TensorView& tensor = file.tensor(name);
      checkpoint.optimizer_tensors[optimizer_name(name)] = {DType::F32, tensor.shape, tensor.to_float()};
    }
  for (const auto& [key, value] : file.metadata())
    if (!optimizer_name(key).empty()) checkpoint.optimizer_values[optimizer_name(key)] = value;
  return checkpoint;
}

}  // namespace atelier
