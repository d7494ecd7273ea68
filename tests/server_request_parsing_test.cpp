// The studio's own parsers: request targets, multipart bodies, Host and
// Origin checks (src/server/request_parsing.cpp).
#include <gtest/gtest.h>

#include <chrono>

#include "atelier/studio.hpp"
#include "server/request_parsing.hpp"

namespace atelier::studio {
namespace {

int parse_refusal_status(const std::function<void()>& run) {
  try {
    run();
  } catch (const Refusal& refusal) {
    return refusal.status;
  }
  return 0;
}

TEST(RequestTarget, DecodesThePathAndTheQuery) {
  const RequestTarget target = parse_target("/api/v1/models/fast-style%2Fcandy/thumbnail?limit=5&q=a+b%26c&flag");
  EXPECT_EQ(target.path, "/api/v1/models/fast-style/candy/thumbnail");
  EXPECT_EQ(target.query.find("limit")->second, "5");
  EXPECT_EQ(target.query.find("q")->second, "a b&c");
  EXPECT_EQ(target.query.count("flag"), 1u);
  EXPECT_EQ(parse_target("/a+b").path, "/a+b") << "'+' is a space only in a query";
  EXPECT_EQ(parse_refusal_status([] { parse_target("http://elsewhere/"); }), 400);
  EXPECT_EQ(parse_refusal_status([] { parse_target("/x%2"); }), 400);
  EXPECT_EQ(parse_refusal_status([] { parse_target("/x%00y"); }), 400);
}

TEST(Multipart, ReadsNamesFilenamesTypesAndBinaryContent) {
  const std::string binary("a\0\r\nb--x", 8);
  const std::string body = "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a;b.png\"\r\n"
                           "Content-Type: image/png\r\n\r\n" + binary + "\r\n--XyZ\r\n"
                           "content-disposition: form-data; name=model\r\n\r\ncandy\r\n--XyZ--\r\n";
  const auto fields = parse_multipart(body, "multipart/form-data; boundary=\"XyZ\"");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].name, "content");
  EXPECT_EQ(fields[0].filename, "a;b.png");
  EXPECT_EQ(fields[0].content_type, "image/png");
  EXPECT_EQ(fields[0].content, binary);
  EXPECT_EQ(fields[1].name, "model");
  EXPECT_EQ(fields[1].content, "candy");
}

TEST(Multipart, RefusesWhatIsNotAWholeFormWith400) {
  const std::string type = "multipart/form-data; boundary=b";
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart("--b--", "application/json"); }), 400);
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart("--b--", "multipart/form-data"); }), 400);
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart("no boundary here", type); }), 400);
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart("--b\r\nContent-Disposition: form-data; name=x\r\n\r\ncut", type); }), 400);
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart("--b\r\nContent-Type: a\r\n\r\nx\r\n--b--", type); }), 400);
  std::string many;
  for (int i = 0; i < 65; ++i) many += "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nx\r\n";
  EXPECT_EQ(parse_refusal_status([&] { parse_multipart(many + "--b--", type); }), 400);
}

TEST(Multipart, AHostileHeaderTakesLinearTime) {
  const std::string header = "form-data" + std::string(300000, ';') + "; name=x";
  const std::string body = "--b\r\nContent-Disposition: " + header + "\r\n\r\nv\r\n--b--";
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(parse_multipart(body, "multipart/form-data; boundary=b").at(0).name, "x");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
}

TEST(HostCheck, AcceptsAddressesLocalhostAndAllowedNamesOnly) {
  for (const char* host : {"127.0.0.1", "127.0.0.1:8080", "LOCALHOST:80", "[::1]:8080", "192.168.1.4"})
    EXPECT_TRUE(host_allowed(host, {})) << host;
  for (const char* host : {"", "attacker.example", "127.0.0.1.nip.io", "localhost.attacker.example", "1.2.3",
                           "1.2.3.4.5", "studio.lan:8080"})
    EXPECT_FALSE(host_allowed(host, {})) << host;
  EXPECT_TRUE(host_allowed("Studio.LAN:8080", {"studio.lan"}));
}

TEST(OriginCheck, AcceptsOnlyTheStudiosOwnPageOrTheCorsOrigin) {
  EXPECT_TRUE(origin_allowed("", "127.0.0.1:8080", ""));
  EXPECT_TRUE(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", ""));
  EXPECT_TRUE(origin_allowed("https://studio.example", "studio.example", ""));
  EXPECT_FALSE(origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080", ""));
  EXPECT_FALSE(origin_allowed("null", "127.0.0.1:8080", ""));
  EXPECT_FALSE(origin_allowed("file://", "127.0.0.1:8080", ""));
  EXPECT_FALSE(origin_allowed("http://attacker.example", "127.0.0.1:8080", ""));
  EXPECT_TRUE(origin_allowed("https://app.example", "127.0.0.1:8080", "https://app.example"));
}

}  // namespace
}  // namespace atelier::studio
