#include "weights/tflite_reader.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"

namespace atelier::tflite {

namespace {

// Field ids of the tables read here, in schema.fbs order.
namespace model_field { enum { version = 0, operator_codes = 1, subgraphs = 2, buffers = 4 }; }
namespace code_field { enum { deprecated_builtin_code = 0, builtin_code = 3 }; }
namespace subgraph_field { enum { tensors = 0, operators = 3 }; }
namespace tensor_field { enum { shape = 0, type = 1, buffer = 2, name = 3, quantization = 4 }; }
namespace quant_field { enum { scale = 2, zero_point = 3, quantized_dimension = 6 }; }
namespace operator_field { enum { opcode_index = 0, inputs = 1, outputs = 2 }; }
namespace buffer_field { enum { data = 0, offset = 1, size = 2 }; }

// Every read goes through here: positions are 64-bit and checked against
// the file's size before anything is dereferenced.
class Reader {
 public:
  Reader(const std::vector<unsigned char>& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": not a valid TFLite model (" + what + ")");
  }
  void need(std::uint64_t position, std::uint64_t length, const char* what) const {
    if (position > bytes_.size() || length > bytes_.size() - position) fail(std::string(what) + " out of range");
  }
  template <typename T>
  T read(std::uint64_t position, const char* what) const {
    need(position, sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + position, sizeof(T));  // little-endian hosts only (as the project)
    return value;
  }

  // A table at `position`: its vtable, checked.
  struct Table {
    std::uint64_t position = 0, vtable = 0;
    std::uint16_t vtable_size = 0, table_size = 0;
  };
  Table table(std::uint64_t position, const char* what) const {
    Table table;
    table.position = position;
    const std::int64_t vtable = static_cast<std::int64_t>(position) - read<std::int32_t>(position, what);
    if (vtable < 0) fail(std::string(what) + " vtable out of range");
    table.vtable = static_cast<std::uint64_t>(vtable);
    table.vtable_size = read<std::uint16_t>(table.vtable, what);
    table.table_size = read<std::uint16_t>(table.vtable + 2, what);
    if (table.vtable_size < 4 || table.vtable_size % 2 != 0) fail(std::string(what) + " vtable malformed");
    need(table.vtable, table.vtable_size, what);
    need(position, table.table_size, what);
    return table;
  }
  // The position of field `id` (0 when absent), the field inside the table.
  std::uint64_t field(const Table& table, int id, std::uint64_t size, const char* what) const {
    const std::uint64_t entry = 4 + 2 * static_cast<std::uint64_t>(id);
    if (entry + 2 > table.vtable_size) return 0;
    const std::uint16_t offset = read<std::uint16_t>(table.vtable + entry, what);
    if (offset == 0) return 0;
    if (offset + size > table.table_size) fail(std::string(what) + " field outside its table");
    return table.position + offset;
  }
  template <typename T>
  T scalar(const Table& table, int id, T fallback, const char* what) const {
    const std::uint64_t at = field(table, id, sizeof(T), what);
    return at == 0 ? fallback : read<T>(at, what);
  }
  // Follows the uoffset at field `id`: 0 when the field is absent.
  std::uint64_t indirect(const Table& table, int id, const char* what) const {
    const std::uint64_t at = field(table, id, 4, what);
    if (at == 0) return 0;
    const std::uint64_t target = at + read<std::uint32_t>(at, what);
    need(target, 4, what);
    return target;
  }
  // A vector at field `id`: (first element, count), each element `element` bytes, all inside the file.
  std::pair<std::uint64_t, std::uint64_t> vector(const Table& table, int id, std::uint64_t element, const char* what) const {
    const std::uint64_t at = indirect(table, id, what);
    if (at == 0) return {0, 0};
    const std::uint64_t count = read<std::uint32_t>(at, what);
    need(at + 4, count * element, what);  // count < 2^32, element <= 8: no overflow
    return {at + 4, count};
  }
  std::string string(const Table& table, int id, const char* what) const {
    const auto [first, count] = vector(table, id, 1, what);
    return first == 0 ? std::string() : std::string(reinterpret_cast<const char*>(bytes_.data() + first), count);
  }
  template <typename T>
  std::vector<T> scalars(const Table& table, int id, const char* what) const {
    const auto [first, count] = vector(table, id, sizeof(T), what);
    std::vector<T> values(count);
    if (count > 0) std::memcpy(values.data(), bytes_.data() + first, count * sizeof(T));
    return values;
  }
  // The tables of a vector of tables.
  std::vector<Table> tables(const Table& table, int id, const char* what) const {
    const auto [first, count] = vector(table, id, 4, what);
    std::vector<Table> result;
    result.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t at = first + 4 * i;
      result.push_back(this->table(at + read<std::uint32_t>(at, what), what));
    }
    return result;
  }

 private:
  const std::vector<unsigned char>& bytes_;
  const std::string& path_;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

std::size_t type_size(int type) {
  switch (type) {
    case kFloat32: case kInt32: return 4;
    case kFloat16: case kInt16: return 2;
    case kUInt8: case kInt8: return 1;
    case kInt64: return 8;
    default: return 0;
  }
}

Model parse_model(std::vector<unsigned char> bytes, const std::string& path) {
  Model model;
  model.bytes = std::move(bytes);
  model.path = path;
  const Reader reader(model.bytes, model.path);
  if (model.bytes.size() < 8 || std::memcmp(model.bytes.data() + 4, "TFL3", 4) != 0)
    throw Error(path + ": not a TFLite model (no \"TFL3\" file identifier)");
  const auto root = reader.table(reader.read<std::uint32_t>(0, "root offset"), "Model");
  model.version = reader.scalar<std::uint32_t>(root, model_field::version, 0, "Model");

  for (const auto& code : reader.tables(root, model_field::operator_codes, "OperatorCode")) {
    const std::int32_t deprecated = reader.scalar<std::int8_t>(code, code_field::deprecated_builtin_code, 0, "OperatorCode");
    const std::int32_t builtin = reader.scalar<std::int32_t>(code, code_field::builtin_code, 0, "OperatorCode");
    model.builtin_codes.push_back(std::max(deprecated, builtin));  // as TFLite's GetBuiltinCode
  }

  for (const auto& buffer : reader.tables(root, model_field::buffers, "Buffer")) {
    Buffer entry;
    const auto [first, count] = reader.vector(buffer, buffer_field::data, 1, "Buffer data");
    if (first != 0) {
      entry.offset = first;
      entry.size = count;
    } else {
      // Models over 2 GB keep data after the flatbuffer: offset (from the file's start) and size.
      const auto offset = reader.scalar<std::uint64_t>(buffer, buffer_field::offset, 0, "Buffer");
      const auto size = reader.scalar<std::uint64_t>(buffer, buffer_field::size, 0, "Buffer");
      if (offset > 1) {
        reader.need(offset, size, "Buffer data");
        entry.offset = offset;
        entry.size = size;
      }
    }
    model.buffers.push_back(entry);
  }

  const auto subgraphs = reader.tables(root, model_field::subgraphs, "SubGraph");
  if (subgraphs.empty()) throw Error(path + ": not a valid TFLite model (no subgraph)");
  const auto& graph = subgraphs.front();
  for (const auto& table : reader.tables(graph, subgraph_field::tensors, "Tensor")) {
    Tensor tensor;
    tensor.name = reader.string(table, tensor_field::name, "Tensor name");
    for (const std::int32_t dim : reader.scalars<std::int32_t>(table, tensor_field::shape, "Tensor shape"))
      tensor.shape.push_back(dim);
    tensor.type = reader.scalar<std::int8_t>(table, tensor_field::type, 0, "Tensor");
    tensor.buffer = reader.scalar<std::uint32_t>(table, tensor_field::buffer, 0, "Tensor");
    if (tensor.buffer >= model.buffers.size() && !(tensor.buffer == 0 && model.buffers.empty()))
      throw Error(path + ": not a valid TFLite model (tensor \"" + tensor.name + "\" names buffer " +
                  std::to_string(tensor.buffer) + " of " + std::to_string(model.buffers.size()) + ")");
    if (const std::uint64_t at = reader.indirect(table, tensor_field::quantization, "QuantizationParameters")) {
      const auto quant = reader.table(at, "QuantizationParameters");
      tensor.quantization.scale = reader.scalars<float>(quant, quant_field::scale, "quantization scale");
      tensor.quantization.zero_point = reader.scalars<std::int64_t>(quant, quant_field::zero_point, "zero point");
      tensor.quantization.quantized_dimension =
          reader.scalar<std::int32_t>(quant, quant_field::quantized_dimension, 0, "QuantizationParameters");
    }
    model.tensors.push_back(std::move(tensor));
  }
  for (const auto& table : reader.tables(graph, subgraph_field::operators, "Operator")) {
    Operator op;
    op.opcode_index = reader.scalar<std::uint32_t>(table, operator_field::opcode_index, 0, "Operator");
    if (op.opcode_index >= model.builtin_codes.size())
      throw Error(path + ": not a valid TFLite model (operator code " + std::to_string(op.opcode_index) + " out of range)");
    op.inputs = reader.scalars<std::int32_t>(table, operator_field::inputs, "Operator inputs");
    op.outputs = reader.scalars<std::int32_t>(table, operator_field::outputs, "Operator outputs");
    for (const auto list : {&op.inputs, &op.outputs})
      for (const std::int32_t index : *list)
        if (index < -1 || index >= static_cast<std::int64_t>(model.tensors.size()))
          throw Error(path + ": not a valid TFLite model (operator tensor index " + std::to_string(index) + " out of range)");
    model.operators.push_back(std::move(op));
  }
  return model;
}

Model read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot be read");
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": cannot be read");
  return parse_model(std::move(bytes), path);
}

const unsigned char* Model::data(const Tensor& tensor, std::size_t* size) const {
  *size = 0;
  if (tensor.buffer >= buffers.size() || buffers[tensor.buffer].size == 0) return nullptr;
  const Buffer& buffer = buffers[tensor.buffer];
  const std::size_t element = type_size(tensor.type);
  if (element == 0)
    throw Error(path + ": tensor \"" + tensor.name + "\" has type " + std::to_string(tensor.type) + ", not a number type read here");
  std::uint64_t count = 1;
  for (const std::int64_t dim : tensor.shape) {
    if (dim < 0 || dim > (1 << 30)) throw Error(path + ": tensor \"" + tensor.name + "\" has shape " + shape_text(tensor.shape));
    count *= static_cast<std::uint64_t>(dim);
    if (count > buffer.size) break;  // too many elements already; no overflow below
  }
  if (count > buffer.size || count * element != buffer.size)
    throw Error(path + ": tensor \"" + tensor.name + "\" of shape " + shape_text(tensor.shape) + " has " +
                std::to_string(buffer.size) + " bytes of data, not " + std::to_string(count * element));
  *size = buffer.size;
  return bytes.data() + buffer.offset;
}

std::vector<float> Model::to_float(const Tensor& tensor) const {
  std::size_t size = 0;
  const unsigned char* data = this->data(tensor, &size);
  if (data == nullptr) throw Error(path + ": tensor \"" + tensor.name + "\" has no data");
  const std::size_t count = size / type_size(tensor.type);
  std::vector<float> values(count);
  if (tensor.type == kFloat32) {
    std::memcpy(values.data(), data, size);
    return values;
  }
  if (tensor.type == kFloat16) {
    for (std::size_t i = 0; i < count; ++i) {
      std::uint16_t bits;
      std::memcpy(&bits, data + 2 * i, 2);
      values[i] = f16_to_float(bits);
    }
    return values;
  }
  // Integers: dequantized per tensor or per channel.
  const Quantization& q = tensor.quantization;
  const auto problem = [&](const std::string& what) {
    return Error(path + ": tensor \"" + tensor.name + "\" " + what);
  };
  if (q.scale.empty()) throw problem("is integer without quantization scales");
  std::size_t channels = 1, stride = 1;
  if (q.scale.size() > 1) {
    const int axis = q.quantized_dimension;
    if (axis < 0 || axis >= static_cast<int>(tensor.shape.size()) ||
        static_cast<std::size_t>(tensor.shape[axis]) != q.scale.size())
      throw problem("has " + std::to_string(q.scale.size()) + " scales for shape " + shape_text(tensor.shape) +
                    " along dimension " + std::to_string(axis));
    channels = q.scale.size();
    for (std::size_t d = axis + 1; d < tensor.shape.size(); ++d) stride *= static_cast<std::size_t>(tensor.shape[d]);
  }
  if (!q.zero_point.empty() && q.zero_point.size() != q.scale.size() && q.zero_point.size() != 1)
    throw problem("has " + std::to_string(q.zero_point.size()) + " zero points for " + std::to_string(q.scale.size()) +
                  " scales");
  for (std::size_t i = 0; i < count; ++i) {
    std::int64_t raw = 0;
    switch (tensor.type) {
      case kInt8: raw = static_cast<std::int8_t>(data[i]); break;
      case kUInt8: raw = data[i]; break;
      case kInt16: { std::int16_t v; std::memcpy(&v, data + 2 * i, 2); raw = v; break; }
      case kInt32: { std::int32_t v; std::memcpy(&v, data + 4 * i, 4); raw = v; break; }
      default: { std::int64_t v; std::memcpy(&v, data + 8 * i, 8); raw = v; }
    }
    const std::size_t channel = channels == 1 ? 0 : (i / stride) % channels;
    const std::int64_t zero =
        q.zero_point.empty() ? 0 : q.zero_point[q.zero_point.size() == 1 ? 0 : channel];
    values[i] = static_cast<float>(static_cast<double>(q.scale[channel]) * (static_cast<double>(raw) - static_cast<double>(zero)));
  }
  return values;
}

}  // namespace atelier::tflite
