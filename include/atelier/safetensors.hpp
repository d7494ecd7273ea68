// safetensors: 8-byte little-endian header length N, N bytes of JSON header
// ({"name": {"dtype","shape","data_offsets":[begin,end]}, "__metadata__":
// {string:string}}), then the raw little-endian data. Offsets are relative to
// the start of the data section.
//
// The reader memory-maps the file and validates everything before handing
// out views: header length within the file, JSON well formed, known dtype,
// shape product * dtype size == byte length, offsets inside the data section,
// no two tensors overlapping, and the data section fully covered.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace atelier {

enum class DType { F32, F16, BF16 };

const char* dtype_name(DType dtype);
std::size_t dtype_size(DType dtype);

struct TensorView {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  const unsigned char* data = nullptr;  // points into the mapped file
  std::size_t byte_size = 0;
  std::int64_t element_count() const;
  // Converts to float32 (F16 and BF16 widened exactly).
  std::vector<float> to_float() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws atelier::Error naming the file and the
  // first problem found.
  static SafetensorsFile open(const std::string& path);

  bool contains(const std::string& name) const;
  // Throws atelier::Error naming the missing tensor.
  const TensorView& tensor(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Metadata value or `fallback` when absent.
  std::string metadata_value(const std::string& key, const std::string& fallback = "") const;
  const std::string& path() const { return path_; }

 private:
  struct Mapping;
  std::shared_ptr<Mapping> mapping_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
  std::string path_;
};

// A tensor to write: float data converted to `dtype` on write.
struct TensorToWrite {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// Serialises tensors (sorted by name, 8-byte aligned header) and writes
// the file atomically.
void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
std::vector<unsigned char> serialize_safetensors(const std::map<std::string, TensorToWrite>& tensors,
                                                 const std::map<std::string, std::string>& metadata = {});

// Half-precision conversions (round to nearest even).
std::uint16_t float_to_f16(float value);
float f16_to_float(std::uint16_t bits);
std::uint16_t float_to_bf16(float value);
float bf16_to_float(std::uint16_t bits);

}  // namespace atelier
