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

}  // namespace atelier
