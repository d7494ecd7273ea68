#include "atelier/safetensors.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"

namespace atelier {

using json = nlohmann::json;

namespace {

constexpr const char* kMetadataKey = "__metadata__";

std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bits_float(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Drops the low `shift` bits of `value`, rounding to nearest, ties to even.
std::uint32_t shift_right_round_even(std::uint32_t value, unsigned shift) {
  const std::uint32_t kept = value >> shift;
  const std::uint32_t remainder = value & ((1u << shift) - 1);
  const std::uint32_t half = 1u << (shift - 1);
  return (remainder > half || (remainder == half && (kept & 1))) ? kept + 1 : kept;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Product of the dimensions, or false when it overflows 64 bits.
bool element_count_of(const std::vector<std::int64_t>& shape, std::uint64_t& count) {
  count = 1;
  for (std::int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(count, static_cast<std::uint64_t>(dim), &count)) return false;
  }
  return true;
}

bool parse_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::F32, DType::F16, DType::BF16}) {
    if (name == dtype_name(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

// Where one tensor's bytes sit in the data section, as the header says.
struct Extent {
  std::string name;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem) { throw Error(path + ": " + problem); }

// Validates the parsed header of one file against its data section.
class HeaderParser {
 public:
  HeaderParser(std::string path, std::uint64_t data_size) : path_(std::move(path)), data_size_(data_size) {}

  [[noreturn]] void fail(const std::string& problem) const { atelier::fail(path_, problem); }

  std::map<std::string, std::string> parse_metadata(const json& value) const {
    if (!value.is_object()) fail("__metadata__ is not a JSON object");
    std::map<std::string, std::string> metadata;
    for (const auto& [key, item] : value.items()) {
      if (!item.is_string()) fail("__metadata__ value for \"" + key + "\" is not a string (metadata maps strings to strings)");
      metadata[key] = item.get<std::string>();
    }
    return metadata;
  }

  // Checks one tensor entry on its own; the layout is checked later.
  TensorView parse_tensor(const std::string& name, const json& entry, Extent& extent) const {
    const std::string where = "tensor \"" + name + "\": ";
    if (!entry.is_object()) fail(where + "entry is not a JSON object");
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field)) fail(where + "missing field \"" + field + "\"");
    }
    TensorView view;
    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) fail(where + "\"dtype\" is not a string");
    if (!parse_dtype(dtype.get<std::string>(), view.dtype)) {
      fail(where + "unknown dtype \"" + dtype.get<std::string>() + "\" (supported: F32, F16, BF16)");
    }
    view.shape = parse_shape(where, entry["shape"]);
    parse_offsets(where, entry["data_offsets"], extent);
    extent.name = name;

    std::uint64_t count = 0;
    if (!element_count_of(view.shape, count) || __builtin_mul_overflow(count, dtype_size(view.dtype), &count)) {
      fail(where + "shape " + shape_text(view.shape) + " is too large");
    }
    const std::uint64_t span = extent.end - extent.begin;
    if (count != span) {
      fail(where + "shape " + shape_text(view.shape) + " of " + dtype_name(view.dtype) + " needs " +
           std::to_string(count) + " bytes but data_offsets span " + std::to_string(span) + " (size mismatch)");
    }
    view.byte_size = static_cast<std::size_t>(span);
    return view;
  }

  // The tensors must tile the data section exactly: no overlap, no gap, no
  // byte past its end.
  void check_layout(std::vector<Extent> extents) const {
    std::sort(extents.begin(), extents.end(), [](const Extent& a, const Extent& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    std::uint64_t covered = 0;  // end of the furthest-reaching tensor so far
    const Extent* furthest = nullptr;
    std::optional<std::pair<std::uint64_t, std::uint64_t>> first_gap;
    for (const Extent& extent : extents) {
      if (extent.begin < covered) {
        fail("tensors \"" + furthest->name + "\" and \"" + extent.name + "\" overlap (data_offsets [" +
             std::to_string(extent.begin) + ", " + std::to_string(extent.end) + "] start before byte " +
             std::to_string(covered) + ")");
      }
      if (extent.begin > covered && !first_gap) first_gap = std::make_pair(covered, extent.begin);
      covered = extent.end;
      furthest = &extent;
    }
    if (covered > data_size_) report_past_end(*furthest, first_gap.has_value(), covered);
    if (first_gap) {
      fail("data section not fully covered: bytes [" + std::to_string(first_gap->first) + ", " +
           std::to_string(first_gap->second) + ") belong to no tensor");
    }
    if (covered < data_size_) {
      fail("data section not fully covered: its last " + std::to_string(data_size_ - covered) +
           " bytes belong to no tensor");
    }
  }

 private:
  std::vector<std::int64_t> parse_shape(const std::string& where, const json& shape) const {
    if (!shape.is_array()) fail(where + "\"shape\" is not an array");
    std::vector<std::int64_t> dims;
    for (const json& dim : shape) {
      if (!dim.is_number_unsigned() || dim.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        fail(where + "\"shape\" holds " + dim.dump() + ", not a non-negative integer");
      }
      dims.push_back(dim.get<std::int64_t>());
    }
    return dims;
  }

  void parse_offsets(const std::string& where, const json& offsets, Extent& extent) const {
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      fail(where + "\"data_offsets\" is not a pair of non-negative integers");
    }
    extent.begin = offsets[0].get<std::uint64_t>();
    extent.end = offsets[1].get<std::uint64_t>();
    if (extent.end < extent.begin) {
      fail(where + "data_offsets [" + std::to_string(extent.begin) + ", " + std::to_string(extent.end) +
           "] end before they begin");
    }
  }

  // A header whose tensors tile [0, covered) without gaps describes a file
  // that was cut short; otherwise the offsets themselves are wrong.
  [[noreturn]] void report_past_end(const Extent& furthest, bool has_gap, std::uint64_t covered) const {
    if (!has_gap) {
      fail("truncated data: the header describes " + std::to_string(covered) + " bytes of tensor data but only " +
           std::to_string(data_size_) + " follow it");
    }
    fail("tensor \"" + furthest.name + "\": data_offsets [" + std::to_string(furthest.begin) + ", " +
         std::to_string(furthest.end) + "] out of range (data section is " + std::to_string(data_size_) + " bytes)");
  }

  std::string path_;
  std::uint64_t data_size_;
};

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

std::uint16_t float_to_f16(float value) {
  const std::uint32_t bits = float_bits(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  const std::uint32_t magnitude = bits & 0x7fffffff;
  const std::uint32_t mantissa = magnitude & 0x7fffff;
  const std::uint32_t exponent = magnitude >> 23;
  if (magnitude > 0x7f800000) {  // NaN: keep it quiet and keep the top payload bits
    return static_cast<std::uint16_t>(sign | 0x7e00 | (mantissa >> 13));
  }
  if (magnitude >= 0x47800000) return sign | 0x7c00;  // >= 65536 (or inf): infinity
  if (exponent >= 113) {                               // normal half (>= 2^-14)
    const std::uint32_t half = ((exponent - 112) << 10 << 13) | mantissa;
    // A carry out of the mantissa bumps the exponent, up to infinity: correct.
    return static_cast<std::uint16_t>(sign | shift_right_round_even(half, 13));
  }
  // Subnormal half: units of 2^-24. Below 2^-25 everything rounds to zero.
  const unsigned shift = 126 - exponent;
  if (shift > 24) return sign;
  return static_cast<std::uint16_t>(sign | shift_right_round_even(mantissa | 0x800000, shift));
}

float f16_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1f;
  const std::uint32_t mantissa = bits & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: exactly mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return bits_float(sign | 0x7f800000 | (mantissa << 13));
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::uint16_t float_to_bf16(float value) {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<std::uint16_t>((bits >> 16) | 0x0040);  // quiet NaN
  // Rounding on the full bit pattern carries into the exponent correctly,
  // subnormals and overflow to infinity included.
  const std::uint32_t rounding = 0x7fff + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

float bf16_to_float(std::uint16_t bits) { return bits_float(static_cast<std::uint32_t>(bits) << 16); }

std::int64_t TensorView::element_count() const {
  std::int64_t count = 1;
  for (std::int64_t dim : shape) count *= dim;
  return count;
}

std::vector<float> TensorView::to_float() const {
  std::vector<float> values(static_cast<std::size_t>(element_count()));
  if (dtype == DType::F32) {
    if (!values.empty()) std::memcpy(values.data(), data, byte_size);
    return values;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint16_t bits;
    std::memcpy(&bits, data + 2 * i, sizeof bits);
    values[i] = dtype == DType::F16 ? f16_to_float(bits) : bf16_to_float(bits);
  }
  return values;
}

struct SafetensorsFile::Mapping {
  explicit Mapping(const std::string& path);
  ~Mapping() {
    if (bytes) munmap(const_cast<unsigned char*>(bytes), size);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const unsigned char* bytes = nullptr;
  std::size_t size = 0;
};

SafetensorsFile::Mapping::Mapping(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  size = static_cast<std::size_t>(info.st_size);
  if (size > 0) {  // mmap rejects empty mappings; an empty file fails validation later
    void* address = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int saved = errno;
    ::close(fd);
    if (address == MAP_FAILED) fail(path, std::string("cannot map: ") + std::strerror(saved));
    bytes = static_cast<const unsigned char*>(address);
  } else {
    ::close(fd);
  }
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  file.mapping_ = std::make_shared<Mapping>(path);
  const unsigned char* bytes = file.mapping_->bytes;
  const std::uint64_t size = file.mapping_->size;
  if (size < 8) fail(path, "short header: the file is " + std::to_string(size) + " bytes, fewer than 8");

  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
  if (header_size > size - 8) {
    fail(path, "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                      std::to_string(size) + " bytes)");
  }
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_size);
  } catch (const json::parse_error& error) {
    fail(path, std::string("header is not valid JSON: ") + error.what());
  }
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const std::uint64_t data_offset = 8 + header_size;
  HeaderParser parser(path, size - data_offset);
  std::vector<Extent> extents;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata_ = parser.parse_metadata(entry);
      continue;
    }
    Extent extent;
    TensorView view = parser.parse_tensor(name, entry, extent);
    extents.push_back(extent);
    file.tensors_.emplace(name, std::move(view));
  }
  parser.check_layout(extents);
  // Only now are all offsets known to lie inside the mapping.
  for (const Extent& extent : extents) file.tensors_[extent.name].data = bytes + data_offset + extent.begin;
  return file;
}

bool SafetensorsFile::contains(const std::string& name) const { return tensors_.count(name) != 0; }

const TensorView& SafetensorsFile::tensor(const std::string& name) const {
  auto found = tensors_.find(name);
  if (found == tensors_.end()) throw Error(path_ + ": no tensor named \"" + name + "\"");
  return found->second;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const auto& entry : tensors_) names.push_back(entry.first);
  return names;
}

std::string SafetensorsFile::metadata_value(const std::string& key, const std::string& fallback) const {
  auto found = metadata_.find(key);
  return found == metadata_.end() ? fallback : found->second;
}

namespace {

// Appends the tensor's values in its dtype (the host is little-endian, as
// the format is).
void append_converted(std::vector<unsigned char>& out, const TensorToWrite& tensor) {
  const std::size_t start = out.size();
  out.resize(start + tensor.values.size() * dtype_size(tensor.dtype));
  unsigned char* cursor = out.data() + start;
  if (tensor.dtype == DType::F32) {
    if (!tensor.values.empty()) std::memcpy(cursor, tensor.values.data(), tensor.values.size() * sizeof(float));
    return;
  }
  for (float value : tensor.values) {
    const std::uint16_t half = tensor.dtype == DType::F16 ? float_to_f16(value) : float_to_bf16(value);
    std::memcpy(cursor, &half, sizeof half);
    cursor += sizeof half;
  }
}

}  // namespace

std::vector<unsigned char> serialize_safetensors(const std::map<std::string, TensorToWrite>& tensors,
                                                 const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {  // std::map: sorted by name
    if (name == kMetadataKey) throw Error("cannot write a tensor named \"__metadata__\"");
    std::uint64_t count = 0;
    if (!element_count_of(tensor.shape, count) || count != tensor.values.size()) {
      throw Error("cannot write tensor \"" + name + "\": shape " + shape_text(tensor.shape) + " does not hold " +
                  std::to_string(tensor.values.size()) + " values");
    }
    const std::uint64_t end = offset + count * dtype_size(tensor.dtype);
    header[name] = {{"dtype", dtype_name(tensor.dtype)}, {"shape", tensor.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data section 8-byte aligned

  std::vector<unsigned char> out;
  out.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>((std::uint64_t{text.size()} >> (8 * i)) & 0xff));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& entry : tensors) append_converted(out, entry.second);
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

}  // namespace atelier
