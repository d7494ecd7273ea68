// A tiny valid TFLite flatbuffer built by hand (no flatc): one subgraph with
// an int8 per-channel quantized weight, an fp16 tensor and one operator, for
// the reader's tests and as the fuzz target's seed. Children are laid out
// after their parents, so every uoffset points forward, as in flatc's files.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace atelier::testing {

class TinyFlatbuffer {
 public:
  using Bytes = std::vector<unsigned char>;
  struct Field {
    int id;
    Bytes scalar;      // inline bytes, or
    bool ref = false;  // a 4-byte uoffset, patched by point()
  };

  template <typename T>
  static Field scalar(int id, T value) {
    Bytes bytes(sizeof(T));
    std::memcpy(bytes.data(), &value, sizeof(T));
    return {id, bytes, false};
  }
  static Field ref(int id) { return {id, {}, true}; }

  // A table (its vtable just before it); returns its position, and the
  // positions of its reference fields by id in `refs`.
  std::size_t table(const std::vector<Field>& fields, std::vector<std::pair<int, std::size_t>>* refs = nullptr) {
    int max_id = -1;
    for (const Field& f : fields) max_id = std::max(max_id, f.id);
    align(2);
    const std::size_t vtable = bytes_.size();
    const std::size_t vtable_size = 4 + 2 * static_cast<std::size_t>(max_id + 1);
    bytes_.resize(bytes_.size() + vtable_size, 0);
    align(4);
    const std::size_t table = bytes_.size();
    put<std::int32_t>(static_cast<std::int32_t>(table - vtable));
    for (const Field& f : fields) {
      const std::size_t at = bytes_.size();
      if (f.ref) {
        put<std::uint32_t>(0);
        if (refs) refs->push_back({f.id, at});
      } else {
        bytes_.insert(bytes_.end(), f.scalar.begin(), f.scalar.end());
      }
      poke<std::uint16_t>(vtable + 4 + 2 * f.id, static_cast<std::uint16_t>(at - table));
    }
    poke<std::uint16_t>(vtable, static_cast<std::uint16_t>(vtable_size));
    poke<std::uint16_t>(vtable + 2, static_cast<std::uint16_t>(bytes_.size() - table));
    return table;
  }
  // A vector of scalars; returns its position (the length field).
  template <typename T>
  std::size_t vector(const std::vector<T>& values) {
    align(4);
    const std::size_t at = bytes_.size();
    put<std::uint32_t>(static_cast<std::uint32_t>(values.size()));
    for (const T& v : values) put<T>(v);
    return at;
  }
  std::size_t string(const std::string& text) {
    const std::size_t at = vector(std::vector<char>(text.begin(), text.end()));
    bytes_.push_back(0);
    return at;
  }
  // A vector of `count` uoffsets to patch; returns (vector position, first slot).
  std::pair<std::size_t, std::size_t> offsets(std::size_t count) {
    const std::size_t at = vector(std::vector<std::uint32_t>(count, 0));
    return {at, at + 4};
  }
  // Points the uoffset at `slot` to `target` (which must come after it).
  void point(std::size_t slot, std::size_t target) { poke<std::uint32_t>(slot, static_cast<std::uint32_t>(target - slot)); }
  static std::size_t slot_of(const std::vector<std::pair<int, std::size_t>>& refs, int id) {
    for (const auto& [field, at] : refs)
      if (field == id) return at;
    return 0;
  }
  Bytes& bytes() { return bytes_; }

 private:
  template <typename T>
  void put(T value) {
    const std::size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &value, sizeof(T));
  }
  template <typename T>
  void poke(std::size_t at, T value) { std::memcpy(bytes_.data() + at, &value, sizeof(T)); }
  void align(std::size_t n) { while (bytes_.size() % n) bytes_.push_back(0); }
  Bytes bytes_;
};

// Model{version 3, operator_codes [CONV_2D], subgraphs [SubGraph{tensors
// ["layer/weights" int8 [2,1,1,2] scales {0.5, 0.25} zero points {0, 1},
// "layer/Conv2D_bias" fp16 [2] {1.5, -2}], operators [{0, [0,1], [1]}]}],
// buffers [{}, {4 bytes}, {4 bytes}]}.
inline std::vector<unsigned char> tiny_tflite() {
  TinyFlatbuffer fb;
  using F = TinyFlatbuffer;
  auto& bytes = fb.bytes();
  bytes.resize(8, 0);
  std::memcpy(bytes.data() + 4, "TFL3", 4);
  std::vector<std::pair<int, std::size_t>> model_refs;
  const std::size_t model = fb.table({F::scalar<std::uint32_t>(0, 3), F::ref(1), F::ref(2), F::ref(4)}, &model_refs);
  const std::uint32_t root = static_cast<std::uint32_t>(model);
  std::memcpy(bytes.data(), &root, 4);

  const auto [codes, code_slot] = fb.offsets(1);
  fb.point(F::slot_of(model_refs, 1), codes);
  fb.point(code_slot, fb.table({F::scalar<std::int8_t>(0, 3), F::scalar<std::int32_t>(2, 1), F::scalar<std::int32_t>(3, 3)}));

  const auto [buffers, buffer_slot] = fb.offsets(3);
  fb.point(F::slot_of(model_refs, 4), buffers);
  fb.point(buffer_slot, fb.table({}));
  const std::vector<std::vector<unsigned char>> data = {{0x02, 0xfe, 0x05, 0x01}, {0x00, 0x3e, 0x00, 0xc0}};
  for (std::size_t i = 0; i < data.size(); ++i) {
    std::vector<std::pair<int, std::size_t>> refs;
    fb.point(buffer_slot + 4 * (i + 1), fb.table({F::ref(0)}, &refs));
    fb.point(F::slot_of(refs, 0), fb.vector(data[i]));
  }

  const auto [graphs, graph_slot] = fb.offsets(1);
  fb.point(F::slot_of(model_refs, 2), graphs);
  std::vector<std::pair<int, std::size_t>> graph_refs;
  fb.point(graph_slot, fb.table({F::ref(0), F::ref(3)}, &graph_refs));
  const auto [tensors, tensor_slot] = fb.offsets(2);
  fb.point(F::slot_of(graph_refs, 0), tensors);
  {
    std::vector<std::pair<int, std::size_t>> refs;
    fb.point(tensor_slot, fb.table({F::ref(0), F::scalar<std::int8_t>(1, 9), F::scalar<std::uint32_t>(2, 1), F::ref(3),
                                    F::ref(4)},
                                   &refs));
    fb.point(F::slot_of(refs, 0), fb.vector(std::vector<std::int32_t>{2, 1, 1, 2}));
    fb.point(F::slot_of(refs, 3), fb.string("layer/weights"));
    std::vector<std::pair<int, std::size_t>> quant_refs;
    fb.point(F::slot_of(refs, 4), fb.table({F::ref(2), F::ref(3), F::scalar<std::int32_t>(6, 0)}, &quant_refs));
    fb.point(F::slot_of(quant_refs, 2), fb.vector(std::vector<float>{0.5f, 0.25f}));
    fb.point(F::slot_of(quant_refs, 3), fb.vector(std::vector<std::int64_t>{0, 1}));
  }
  {
    std::vector<std::pair<int, std::size_t>> refs;
    fb.point(tensor_slot + 4,
             fb.table({F::ref(0), F::scalar<std::int8_t>(1, 1), F::scalar<std::uint32_t>(2, 2), F::ref(3)}, &refs));
    fb.point(F::slot_of(refs, 0), fb.vector(std::vector<std::int32_t>{2}));
    fb.point(F::slot_of(refs, 3), fb.string("layer/Conv2D_bias"));
  }
  const auto [ops, op_slot] = fb.offsets(1);
  fb.point(F::slot_of(graph_refs, 3), ops);
  std::vector<std::pair<int, std::size_t>> op_refs;
  fb.point(op_slot, fb.table({F::scalar<std::uint32_t>(0, 0), F::ref(1), F::ref(2)}, &op_refs));
  fb.point(F::slot_of(op_refs, 1), fb.vector(std::vector<std::int32_t>{0, 1}));
  fb.point(F::slot_of(op_refs, 2), fb.vector(std::vector<std::int32_t>{1}));
  return bytes;
}

}  // namespace atelier::testing
