#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "atelier/error.hpp"
#include "atelier/safetensors.hpp"
#include "test_support.hpp"

namespace atelier {
namespace {

using testing::ScratchDir;

std::uint32_t bits_of(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file written by hand: length prefix, header text, data.
std::string raw_file(const std::string& header, const std::string& data, std::uint64_t header_length) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header_length >> (8 * i)) & 0xff);
  return bytes + header + data;
}
std::string raw_file(const std::string& header, const std::string& data) {
  return raw_file(header, data, header.size());
}

// Opening `bytes` must fail with a one-line message naming the file and
// containing `problem`.
void expect_open_error(const std::string& bytes, const std::string& problem) {
  ScratchDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  try {
    SafetensorsFile::open(path);
    ADD_FAILURE() << "opened a corrupt file; expected an error about: " << problem;
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(problem), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

std::map<std::string, TensorToWrite> one_tensor(DType dtype, std::vector<float> values) {
  TensorToWrite tensor;
  tensor.dtype = dtype;
  tensor.shape = {static_cast<std::int64_t>(values.size())};
  tensor.values = std::move(values);
  return {{"t", tensor}};
}

std::vector<float> round_trip(DType dtype, const std::vector<float>& values) {
  ScratchDir dir;
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path, one_tensor(dtype, values));
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.tensor("t").dtype, dtype);
  return file.tensor("t").to_float();
}

TEST(HalfConversion, F16RepresentableValuesAreExact) {
  const float kInf = std::numeric_limits<float>::infinity();
  for (float value : {0.0f, -0.0f, 1.0f, -2.5f, 0.333251953125f, 65504.0f, std::ldexp(1.0f, -14),
                      std::ldexp(1.0f, -24), std::ldexp(1023.0f, -24), kInf, -kInf}) {
    EXPECT_EQ(bits_of(f16_to_float(float_to_f16(value))), bits_of(value)) << value;
  }
  EXPECT_EQ(float_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(float_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -24)), 0x0001);
}

TEST(HalfConversion, F16EveryBitPatternSurvivesAFloatRoundTrip) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    const float value = f16_to_float(half);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(value))));
    } else {
      ASSERT_EQ(float_to_f16(value), half) << "bits " << bits;
    }
  }
}

TEST(HalfConversion, F16RoundsToNearestEven) {
  const float kInf = std::numeric_limits<float>::infinity();
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even 1.
  EXPECT_EQ(f16_to_float(float_to_f16(1.0f + std::ldexp(1.0f, -11))), 1.0f);
  // 1 + 3*2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(f16_to_float(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11))), 1.0f + std::ldexp(1.0f, -9));
  // Just above the halfway point rounds up.
  EXPECT_EQ(f16_to_float(float_to_f16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20))),
            1.0f + std::ldexp(1.0f, -10));
  EXPECT_EQ(f16_to_float(float_to_f16(65519.0f)), 65504.0f);
  EXPECT_EQ(f16_to_float(float_to_f16(65520.0f)), kInf);  // the tie goes to "even" infinity
  EXPECT_EQ(f16_to_float(float_to_f16(-1e6f)), -kInf);
  // Subnormals: units of 2^-24.
  EXPECT_EQ(f16_to_float(float_to_f16(std::ldexp(1.0f, -25))), 0.0f);
  EXPECT_EQ(f16_to_float(float_to_f16(std::ldexp(3.0f, -26))), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16_to_float(float_to_f16(std::ldexp(3.0f, -25))), std::ldexp(2.0f, -24));
  EXPECT_EQ(f16_to_float(float_to_f16(1e-30f)), 0.0f);
  EXPECT_EQ(float_to_f16(-1e-30f), 0x8000);  // the sign of zero is kept
  // The largest subnormal rounds up into the smallest normal.
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400);
  EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(HalfConversion, BF16RoundsToNearestEven) {
  const float kInf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20))),
            1.0f + std::ldexp(1.0f, -7));
  EXPECT_EQ(bf16_to_float(float_to_bf16(std::numeric_limits<float>::max())), kInf);
  EXPECT_EQ(bf16_to_float(float_to_bf16(-kInf)), -kInf);
  EXPECT_EQ(float_to_bf16(std::ldexp(1.0f, -133)), 0x0001);  // a float subnormal that bf16 holds exactly
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload lives only in the low bits must not become infinity.
  std::uint32_t low_payload_nan = 0x7f800001;
  float nan;
  std::memcpy(&nan, &low_payload_nan, sizeof nan);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(nan))));
}

TEST(HalfConversion, BF16EveryBitPatternSurvivesAFloatRoundTrip) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    const float value = bf16_to_float(half);
    if (!std::isnan(value)) ASSERT_EQ(float_to_bf16(value), half) << "bits " << bits;
  }
}

TEST(SafetensorsRoundTrip, F32IsBitExact) {
  const std::vector<float> values = {0.0f, -0.0f, 1.5f, 3.14159265f, 1e-40f, -7e37f,
                                     std::numeric_limits<float>::infinity()};
  const std::vector<float> back = round_trip(DType::F32, values);
  ASSERT_EQ(back.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) EXPECT_EQ(bits_of(back[i]), bits_of(values[i])) << i;
}

TEST(SafetensorsRoundTrip, F16AndBF16KeepRepresentableValuesAndRound) {
  const std::vector<float> f16 = round_trip(DType::F16, {1.0f, -0.5f, 65504.0f, std::ldexp(1.0f, -24),
                                                         1.0f + std::ldexp(1.0f, -11)});
  EXPECT_EQ(f16, (std::vector<float>{1.0f, -0.5f, 65504.0f, std::ldexp(1.0f, -24), 1.0f}));
  const std::vector<float> bf16 = round_trip(DType::BF16, {1.0f, -0.5f, 3.0e38f, 1.0f + std::ldexp(1.0f, -8)});
  EXPECT_EQ(bf16, (std::vector<float>{1.0f, -0.5f, bf16_to_float(float_to_bf16(3.0e38f)), 1.0f}));
}

TEST(SafetensorsRoundTrip, ShapesMetadataAndLayout) {
  ScratchDir dir;
  const std::string path = dir.file("model.safetensors");
  std::map<std::string, TensorToWrite> tensors;
  tensors["b.weight"] = {DType::F16, {2, 3}, {1, 2, 3, 4, 5, 6}};
  tensors["a.bias"] = {DType::F32, {3}, {-1, 0, 1}};
  tensors["c.empty"] = {DType::BF16, {0, 4}, {}};
  write_safetensors(path, tensors, {{"architecture", "vgg19"}, {"preprocess", "caffe"}});

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"a.bias", "b.weight", "c.empty"}));
  EXPECT_EQ(file.metadata_value("architecture"), "vgg19");
  EXPECT_EQ(file.metadata_value("preprocess"), "caffe");
  EXPECT_EQ(file.metadata_value("absent", "fallback"), "fallback");
  EXPECT_EQ(file.tensor("b.weight").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(file.tensor("b.weight").to_float(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(file.tensor("a.bias").to_float(), (std::vector<float>{-1, 0, 1}));
  EXPECT_EQ(file.tensor("c.empty").element_count(), 0);
  EXPECT_TRUE(file.tensor("c.empty").to_float().empty());
  EXPECT_FALSE(file.contains("missing"));

  // Header padded with spaces to 8 bytes; data laid out in name order.
  const std::vector<unsigned char> bytes = serialize_safetensors(tensors);
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | bytes[i];
  EXPECT_EQ(header_length % 8, 0u);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + header_length);
  const auto json = nlohmann::json::parse(header);
  EXPECT_EQ(json["a.bias"]["data_offsets"], nlohmann::json({0, 12}));
  EXPECT_EQ(json["b.weight"]["data_offsets"], nlohmann::json({12, 24}));
  EXPECT_EQ(json["c.empty"]["data_offsets"], nlohmann::json({24, 24}));
  EXPECT_EQ(bytes.size(), 8 + header_length + 24);
}

TEST(SafetensorsRoundTrip, MissingTensorIsNamed) {
  ScratchDir dir;
  const std::string path = dir.file("m.safetensors");
  write_safetensors(path, one_tensor(DType::F32, {1}));
  const SafetensorsFile file = SafetensorsFile::open(path);
  try {
    file.tensor("features.30.weight");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("features.30.weight"), std::string::npos);
  }
}

TEST(SafetensorsWriter, RejectsValuesThatDoNotFitTheShape) {
  std::map<std::string, TensorToWrite> tensors;
  tensors["t"] = {DType::F32, {2, 2}, {1, 2, 3}};
  EXPECT_THROW(serialize_safetensors(tensors), Error);
}

TEST(SafetensorsRealFile, PartialCaffeVgg19) {
  ATELIER_REQUIRE_SHARED(path, "models/vgg19-caffe-partial.safetensors");
  const SafetensorsFile file = SafetensorsFile::open(path);
  const TensorView& weight = file.tensor("features.0.weight");
  EXPECT_EQ(weight.dtype, DType::F32);
  EXPECT_EQ(weight.shape, (std::vector<std::int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(file.metadata_value("preprocess"), "caffe");
  EXPECT_TRUE(file.contains("features.16.weight"));
  const std::vector<float> values = weight.to_float();
  ASSERT_EQ(values.size(), 64u * 27u);
  for (float value : values) ASSERT_TRUE(std::isfinite(value));
}

const std::string kFourFloats(16, '\0');

TEST(SafetensorsValidation, ShortHeader) { expect_open_error("\x01\x02\x03\x04\x05", "short header"); }

TEST(SafetensorsValidation, HeaderLengthPastEndOfFile) {
  expect_open_error(raw_file("{}", "", 1000), "header length 1000 runs past the end of the file");
}

TEST(SafetensorsValidation, HeaderNotJson) { expect_open_error(raw_file("{not json", ""), "not valid JSON"); }

TEST(SafetensorsValidation, HeaderNotAnObject) { expect_open_error(raw_file("[1, 2]", ""), "not a JSON object"); }

TEST(SafetensorsValidation, MissingField) {
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":[4]}})", kFourFloats),
                    "tensor \"t\": missing field \"data_offsets\"");
}

TEST(SafetensorsValidation, WrongFieldTypes) {
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":"4","data_offsets":[0,16]}})", kFourFloats),
                    "\"shape\" is not an array");
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", kFourFloats),
                    "not a non-negative integer");
  expect_open_error(raw_file(R"({"t":{"dtype":4,"shape":[4],"data_offsets":[0,16]}})", kFourFloats),
                    "\"dtype\" is not a string");
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0]}})", kFourFloats),
                    "\"data_offsets\" is not a pair");
}

TEST(SafetensorsValidation, UnknownDtype) {
  expect_open_error(raw_file(R"({"t":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}})", kFourFloats),
                    "unknown dtype \"F64\" (supported: F32, F16, BF16)");
}

TEST(SafetensorsValidation, ShapeSizeMismatch) {
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", kFourFloats),
                    "size mismatch");
}

TEST(SafetensorsValidation, OffsetsOutOfRange) {
  expect_open_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[100,108]}})",
                             kFourFloats),
                    "out of range");
  expect_open_error(raw_file(R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[16,8]}})", kFourFloats),
                    "end before they begin");
}

TEST(SafetensorsValidation, OverlappingTensors) {
  expect_open_error(raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                             kFourFloats),
                    "overlap");
}

TEST(SafetensorsValidation, DataSectionNotFullyCovered) {
  expect_open_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                             kFourFloats),
                    "data section not fully covered");
  expect_open_error(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", kFourFloats),
                    "data section not fully covered");
}

TEST(SafetensorsValidation, TruncatedData) {
  std::map<std::string, TensorToWrite> tensors;
  tensors["a"] = {DType::F32, {4}, {1, 2, 3, 4}};
  tensors["b"] = {DType::F16, {4}, {1, 2, 3, 4}};
  const std::vector<unsigned char> bytes = serialize_safetensors(tensors);
  expect_open_error(std::string(bytes.begin(), bytes.end() - 3), "truncated data");
}

TEST(SafetensorsValidation, MetadataMustMapStringsToStrings) {
  expect_open_error(raw_file(R"({"__metadata__":{"epochs":3}})", ""), "__metadata__ value for \"epochs\"");
  expect_open_error(raw_file(R"({"__metadata__":["x"]})", ""), "__metadata__ is not a JSON object");
}

TEST(SafetensorsValidation, EmptyTensorListIsValid) {
  ScratchDir dir;
  const std::string path = dir.file("empty.safetensors");
  write_bytes(path, raw_file("{}      ", ""));
  EXPECT_TRUE(SafetensorsFile::open(path).names().empty());
}

}  // namespace
}  // namespace atelier
