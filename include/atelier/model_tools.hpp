// Bringing weights from elsewhere into the form the library reads, behind a
// torch-free API (`atelier models import`).
#pragma once
#include <string>

namespace atelier {

// A PyTorch checkpoint (.pth, torch.save of a state_dict) of a fast style
// network written as safetensors to `output`, checked against its
// architecture first (an error names the first offending key). Running
// statistics the network does not use are left out; `half` stores
// convolution kernels as F16. Returns the architecture's name. Refuses an
// `output` that is not a .safetensors file or is `checkpoint` itself.
std::string import_fast_style_checkpoint(const std::string& checkpoint, const std::string& output, bool half);

// Any PyTorch checkpoint Atelier reads, read once: a fast style network as
// above, or naoto0804/pytorch-AdaIN's vgg_normalised.pth (architecture
// "vgg-normalised") or decoder.pth ("adain-decoder"), written tensor for
// tensor with metadata "architecture", "level" (relu4_1, or relu3_1 for a
// decoder tail) and "source"; `half` stores kernels as F16. A damaged,
// truncated or foreign file is a one-line atelier::Error naming it. Returns
// the architecture's name.
std::string import_pytorch_checkpoint(const std::string& checkpoint, const std::string& output, bool half);

// The original TFLite file of one of Magenta's arbitrary stylisation networks
// (TensorFlow's mobile release of arbitrary-image-stylization-v1-256: the
// style predictor or the style transfer network, int8 or fp16) written as
// float32 safetensors in the library's layout (OIHW convolutions, depthwise
// [C,1,kh,kw], style-norm projections [C,100]), int8 weights dequantized per
// channel and fp16 widened exactly. A file that is not TFLite, is damaged, or
// holds another network is an atelier::Error naming it. Returns
// "magenta-predictor" or "magenta-transfer". Needs no torch.
std::string import_magenta_tflite(const std::string& tflite, const std::string& output);

}  // namespace atelier
