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
const std::vector<CatalogEntry>& model_catalog() {
  static const std::vector<CatalogEntry> catalog = {
      {"vgg19", "https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors",
       "11aea017b543ff59233749d8f1cf544cda749378f5790d2fedab841fb86b7669", 0, "vgg19.safetensors",
       "torchvision VGG-19 ImageNet weights (timm/vgg19.tv_in1k, ~575 MB, RGB 0..1 with ImageNet mean/std)"},
      {"vgg16", "https://huggingface.co/timm/vgg16.tv_in1k/resolve/main/model.safetensors",
       "57b026918159a6bf9faf8405c3a551903768e7138989d9c6224a14227203fad8", 0, "vgg16.safetensors",
       "torchvision VGG-16 ImageNet weights (timm/vgg16.tv_in1k, ~553 MB, RGB 0..1 with ImageNet mean/std)"},
  };
  return catalog;
}

const CatalogEntry& catalog_entry(const std::string& name) {
  std::string known;
  for (const CatalogEntry& entry : model_catalog()) {
    if (entry.name == name) return entry;
    known += (known.empty() ? "" : ", ") + entry.name;
  }
  throw Error("no downloadable model named \"" + name + "\" (known: " + known + ")");
}

}  // namespace atelier
