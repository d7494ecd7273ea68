#include "atelier/gatys_checkpoint.hpp"

#include <filesystem>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"

namespace atelier {
namespace {

int metadata_int(const SafetensorsFile& file, const std::string& key) {
  try {
    return std::stoi(file.metadata_value(key));
  } catch (const std::exception&) {
    throw Error(file.path() + ": checkpoint metadata \"" + key + "\" is missing or not a number");
  }
}

}  // namespace

void write_gatys_checkpoint(const std::string& path, const std::string& job, const GatysCheckpoint& checkpoint) {
  cv::Mat rgb = checkpoint.rgb.isContinuous() ? checkpoint.rgb : checkpoint.rgb.clone();
  TensorToWrite image;
  image.dtype = DType::F32;
  image.shape = {rgb.rows, rgb.cols, 3};
  image.values.assign(rgb.ptr<float>(), rgb.ptr<float>() + rgb.total() * 3);
  write_safetensors(path, {{"image", image}},
                    {{"job", job},
                     {"scale_index", std::to_string(checkpoint.scale_index)},
                     {"iteration", std::to_string(checkpoint.iteration)}});
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
  return checkpoint;
}

}  // namespace atelier
