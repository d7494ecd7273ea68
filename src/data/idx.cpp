// IDX (LeCun's MNIST format): magic 0x00 0x00 <type> <dimensions>, then one
// big-endian uint32 size per dimension, then the data. Only unsigned bytes
// (type 0x08), which is what MNIST and Fashion-MNIST use. zlib reads plain
// and gzipped files alike.
#include <zlib.h>

#include <memory>

#include "data/dataset.hpp"
#include "atelier/error.hpp"

namespace atelier {

torch::Tensor read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), gzclose);
  if (!file) throw Error("cannot read " + path);
  auto read = [&](void* into, unsigned size) {
    return gzread(file.get(), into, size) == static_cast<int>(size);
  };
  unsigned char magic[4];
  if (!read(magic, 4) || magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4)
    throw Error(path + ": not an IDX file");
  if (magic[2] != 0x08) throw Error(path + ": IDX data type " + std::to_string(magic[2]) + " (only unsigned bytes)");
  std::vector<int64_t> shape;
  int64_t count = 1;
  for (int i = 0; i < magic[3]; ++i) {
    unsigned char size[4];
    if (!read(size, 4)) throw Error(path + ": IDX header is cut short");
    shape.push_back((int64_t{size[0]} << 24) | (size[1] << 16) | (size[2] << 8) | size[3]);
    count *= shape.back();
  }
  if (count <= 0 || count > (int64_t{1} << 32)) throw Error(path + ": implausible IDX shape");
  auto data = torch::empty(shape, torch::kUInt8);
  if (!read(data.data_ptr(), static_cast<unsigned>(count)))
    throw Error(path + ": IDX data is cut short (" + std::to_string(count) + " bytes expected)");
  return data;
}

}  // namespace atelier
