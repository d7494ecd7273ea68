// `models import` of naoto0804/pytorch-AdaIN's checkpoints (vgg_normalised.pth
// and decoder.pth, plain state_dict pickles) as safetensors in the library's
// layout (src/models/adain.hpp), tensor for tensor.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace atelier {

// Whether every key is a Sequential index's "N.weight" / "N.bias", as in
// both of AdaIN's files (and in no fast style network).
bool is_adain_state(const std::map<std::string, torch::Tensor>& state);

// Validates `state` as the normalised VGG ("0.weight" present) or the decoder
// and writes it to `output` with metadata "architecture" (vgg-normalised or
// adain-decoder), "level" (relu4_1 or relu3_1) and "source". Errors name
// `checkpoint` and the first offending key. Returns the architecture.
std::string import_adain_state(const std::map<std::string, torch::Tensor>& state, const std::string& checkpoint,
                               const std::string& output, bool half);

}  // namespace atelier
