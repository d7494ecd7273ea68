#include <algorithm>
#include <string>
#include <vector>

#include "atelier/error.hpp"
#include "atelier/model_store.hpp"

namespace atelier {

// torchvision's ImageNet VGG weights (vgg19-dcbb9e9d.pth, vgg16-397923af.pth)
// as republished by timm in safetensors form; their `features.N.weight/bias`
// keys are torchvision's. The sha256 values are the Git LFS object ids shown
// on the Hugging Face file pages. Exact byte counts were not published in a
// form we could check, so `bytes` is 0 (unknown) and progress falls back to
// the server's Content-Length.
constexpr const char* kTensorflowStyleTransfer =
    "https://storage.googleapis.com/download.tensorflow.org/models/tflite/task_library/style_transfer/android/";

const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"vgg19", "https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors",
       "11aea017b543ff59233749d8f1cf544cda749378f5790d2fedab841fb86b7669", 0, "vgg19.safetensors",
       "torchvision VGG-19 ImageNet weights (timm/vgg19.tv_in1k, ~575 MB, RGB 0..1 with ImageNet mean/std)"},
      {"vgg16", "https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors",
       "57b026918159a6bf9faf8405c3a551903768e7138989d9c6224a14227203fad8", 0, "vgg16.safetensors",
       "torchvision VGG-16 ImageNet weights (timm/vgg16.tv_in1k, ~553 MB, RGB 0..1 with ImageNet mean/std)"},
      // Magenta's arbitrary style networks as TensorFlow publishes them for
      // TFLite (the style transfer overview and its Android example name this
      // folder); the sha256 values and sizes are those of the files checked
      // op by op in ../shared/models/magenta-arbitrary/README.md.
      {"magenta", std::string(kTensorflowStyleTransfer) + "magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite",
       "af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2", 2828838,
       "magenta-arbitrary/source/magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite",
       "Magenta arbitrary style networks (Ghiasi et al., TensorFlow Lite release, Apache-2.0, ~3 MB): any picture as "
       "a style, stylize --method magenta",
       "magenta-arbitrary/style_predict"},
      {"magenta", std::string(kTensorflowStyleTransfer) + "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite",
       "53b5243ed5aa33e408db7976c8a8e51a90a0f7708fd122a31428cd00fbdf6aa6", 422086,
       "magenta-arbitrary/source/magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite", "",
       "magenta-arbitrary/style_transfer"},
  };
  return catalog;
}

std::vector<std::string> catalog_names() {
  std::vector<std::string> names;
  for (const CatalogEntry& entry : model_catalog())
    if (std::find(names.begin(), names.end(), entry.name) == names.end()) names.push_back(entry.name);
  return names;
}

std::vector<CatalogEntry> catalog_entries(const std::string& name) {
  std::vector<CatalogEntry> entries;
  for (const CatalogEntry& entry : model_catalog())
    if (entry.name == name) entries.push_back(entry);
  if (!entries.empty()) return entries;
  std::string known;
  for (const std::string& each : catalog_names()) known += (known.empty() ? "" : ", ") + each;
  throw Error("no downloadable model named \"" + name + "\" (known: " + known + ")");
}

}  // namespace atelier
