// --max-memory sizes (src/util/memory_size.cpp).
#include <gtest/gtest.h>

#include "atelier/error.hpp"
#include "atelier/memory_size.hpp"

namespace atelier {
namespace {

TEST(MemorySize, ParsesBytesAndBinaryUnits) {
  EXPECT_EQ(parse_memory_size("1500000"), 1500000);
  EXPECT_EQ(parse_memory_size("512M"), 512LL << 20);
  EXPECT_EQ(parse_memory_size("4G"), 4LL << 30);
  EXPECT_EQ(parse_memory_size("4GiB"), 4LL << 30);
  EXPECT_EQ(parse_memory_size("4gb"), 4LL << 30);
  EXPECT_EQ(parse_memory_size("2.5g"), 5LL << 29);
  EXPECT_EQ(parse_memory_size("1T"), 1LL << 40);
}

TEST(MemorySize, RejectsNonsense) {
  for (const char* text : {"", "G", "4X", "4GG", "-1G", "0", "nan", "4 G"}) EXPECT_THROW(parse_memory_size(text), Error) << text;
}

TEST(MemorySize, FormatsForPeople) {
  EXPECT_EQ(format_memory_size(512LL << 20), "512 MiB");
  EXPECT_EQ(format_memory_size((3LL << 30) + (1LL << 29)), "3.5 GiB");
}

TEST(MemorySize, AvailableMemoryIsKnownOnLinux) {
  EXPECT_GT(available_memory_bytes(), 0);
  EXPECT_LE(default_memory_budget(), available_memory_bytes());
}

}  // namespace
}  // namespace atelier
