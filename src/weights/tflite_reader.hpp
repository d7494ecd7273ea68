// A minimal, bounds-checked reader of TensorFlow Lite model files (the
// FlatBuffers schema "TFL3"), enough to take weights out of them: the
// Model's first SubGraph with its Tensors (name, shape, type, buffer,
// QuantizationParameters), its Operators, the Buffers and the operator
// codes. Written from the FlatBuffers binary format (little-endian uoffset
// and soffset fields, vtables of uint16 field offsets, length-prefixed
// vectors and strings); every offset and length is checked against the file
// before it is read, so a truncated or foreign file is an atelier::Error
// naming the file, never a read outside it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace atelier::tflite {

// TFLite's TensorType values (schema.fbs).
enum TensorType : int {
  kFloat32 = 0,
  kFloat16 = 1,
  kInt32 = 2,
  kUInt8 = 3,
  kInt64 = 4,
  kInt16 = 7,
  kInt8 = 9,
};

// Bytes per element of a numeric type, 0 for types this reader does not decode.
std::size_t type_size(int type);

struct Quantization {
  std::vector<float> scale;
  std::vector<std::int64_t> zero_point;
  int quantized_dimension = 0;
};

struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  int type = kFloat32;
  std::uint32_t buffer = 0;
  Quantization quantization;
};

struct Operator {
  std::uint32_t opcode_index = 0;
  std::vector<std::int32_t> inputs, outputs;
};

struct Buffer {
  std::size_t offset = 0;  // into Model::bytes
  std::size_t size = 0;
};

struct Model {
  std::vector<unsigned char> bytes;  // the whole file
  std::uint32_t version = 0;
  std::vector<std::int32_t> builtin_codes;  // per operator code
  std::vector<Tensor> tensors;              // of the first subgraph
  std::vector<Operator> operators;          // of the first subgraph
  std::vector<Buffer> buffers;
  std::string path;

  // The tensor's data (empty when it has none), checked to hold exactly
  // product(shape) elements of its type.
  const unsigned char* data(const Tensor& tensor, std::size_t* size) const;
  // The tensor's values as float32: float16 widened exactly, integers
  // dequantized (real = scale[c] * (q - zero_point[c]), per channel along
  // quantized_dimension when there are several scales). Errors name the file
  // and the tensor.
  std::vector<float> to_float(const Tensor& tensor) const;
};

// Parses `bytes` (a whole .tflite file; `path` names it in errors).
Model parse_model(std::vector<unsigned char> bytes, const std::string& path);
// Reads and parses the file.
Model read_model(const std::string& path);

}  // namespace atelier::tflite
