#include "core/aws/cbor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/common/strings.h"

namespace gantry::aws {
namespace {

std::string Hex(std::string_view hex) { return *HexDecode(hex); }

Document Decode(std::string_view hex) {
  auto doc = DecodeCbor(Hex(hex));
  EXPECT_TRUE(doc.ok()) << hex << ": " << doc.status().ToString();
  return doc.ok() ? *doc : Document();
}

TEST(CborTest, DecodesRfc8949AppendixAExamples) {
  EXPECT_EQ(Decode("00"), 0);
  EXPECT_EQ(Decode("17"), 23);
  EXPECT_EQ(Decode("1818"), 24);
  EXPECT_EQ(Decode("1903e8"), 1000);
  EXPECT_EQ(Decode("1a000f4240"), 1000000);
  EXPECT_EQ(Decode("1b000000e8d4a51000"), 1000000000000);
  EXPECT_EQ(Decode("1bffffffffffffffff").get<uint64_t>(), UINT64_MAX);
  EXPECT_EQ(Decode("20"), -1);
  EXPECT_EQ(Decode("3903e7"), -1000);
  EXPECT_EQ(Decode("3b7fffffffffffffff").get<int64_t>(), INT64_MIN);
  EXPECT_EQ(Decode("f93c00").get<double>(), 1.0);
  EXPECT_EQ(Decode("f98001").get<double>(), -5.960464477539063e-8);  // subnormal half
  EXPECT_EQ(Decode("f97bff").get<double>(), 65504.0);
  EXPECT_EQ(Decode("fa47c35000").get<double>(), 100000.0);
  EXPECT_EQ(Decode("fb3ff199999999999a").get<double>(), 1.1);
  EXPECT_TRUE(std::isnan(Decode("f97e00").get<double>()));
  EXPECT_EQ(Decode("f97c00").get<double>(), INFINITY);
  EXPECT_EQ(Decode("f9fc00").get<double>(), -INFINITY);
  EXPECT_EQ(Decode("f4"), false);
  EXPECT_EQ(Decode("f5"), true);
  EXPECT_TRUE(Decode("f6").is_null());
  EXPECT_TRUE(Decode("f7").is_null());
  EXPECT_EQ(Decode("6449455446"), "IETF");
  EXPECT_EQ(Decode("62c3bc"), "\xc3\xbc");
  EXPECT_EQ(Decode("4401020304"), Document::binary({1, 2, 3, 4}));
  EXPECT_EQ(Decode("5f42010243030405ff"), Document::binary({1, 2, 3, 4, 5}));
  EXPECT_EQ(Decode("7f657374726561646d696e67ff"), "streaming");
  EXPECT_EQ(Decode("83010203"), Document({1, 2, 3}));
  EXPECT_EQ(Decode("9f018202039f0405ffff"), Document::parse("[1,[2,3],[4,5]]"));
  EXPECT_EQ(Decode("a26161016162820203"), Document::parse(R"({"a":1,"b":[2,3]})"));
  EXPECT_EQ(Decode("bf61610161629f0203ffff"), Document::parse(R"({"a":1,"b":[2,3]})"));
  // Tag 1: epoch seconds, integer or float.
  EXPECT_EQ(Decode("c11a514b67b0"), 1363896240);
  EXPECT_EQ(Decode("c1fb41d452d9ec200000").get<double>(), 1363896240.5);
}

TEST(CborTest, RejectsMalformedInput) {
  for (std::string_view hex : {
           "",                    // nothing
           "18",                  // truncated argument
           "62c3",                // truncated string
           "1c",                  // reserved additional information
           "8301",                // array shorter than its count
           "9b00000000ffffffff",  // count larger than the body
           "a1016161",            // integer map key
           "c06161",              // tag 0 (date string) is not used by the protocol
           "c16161",              // tag 1 around text
           "5f6161ff",            // text chunk inside a byte string
           "62c328",              // invalid UTF-8
           "ff",                  // lone break
           "f818",                // simple value 24
           "0000",                // trailing data
           "9f01",                // unterminated indefinite array
           "3bffffffffffffffff",  // below INT64_MIN
       }) {
    auto doc = DecodeCbor(Hex(hex));
    EXPECT_FALSE(doc.ok()) << hex;
    if (!doc.ok()) {
      EXPECT_EQ(doc.status().aws_code(), "SerializationException") << hex;
    }
  }
}

TEST(CborTest, BoundsNestingDepth) {
  std::string deep(kMaxCborDepth + 1, '\x81');
  deep.push_back('\x00');
  EXPECT_FALSE(DecodeCbor(deep).ok());
  std::string ok(kMaxCborDepth, '\x81');
  ok.push_back('\x00');
  EXPECT_TRUE(DecodeCbor(ok).ok());
  std::string huge(1 << 20, '\x9f');  // a megabyte of open indefinite arrays must not recurse a megabyte deep
  EXPECT_FALSE(DecodeCbor(huge).ok());
}

TEST(CborTest, WriterUsesShortestHeads) {
  CborWriter w;
  w.BeginMap(2);
  w.Text("a");
  w.Int(-1000);
  w.Text("b");
  w.BeginArray(4);
  w.Uint(24);
  w.Uint(65536);
  w.Bytes(std::string("\x01\x02", 2));
  w.Bool(true);
  EXPECT_EQ(HexEncode(w.bytes()), "a261613903e761628418181a00010000420102f5");
}

TEST(CborTest, WriterDoublesAndTagsRoundTrip) {
  CborWriter w;
  w.BeginArray(5);
  w.Double(1.5);
  w.Double(NAN);
  w.Double(INFINITY);
  w.Double(-INFINITY);
  w.Tag(1);
  w.Int(1700000000);
  EXPECT_EQ(HexEncode(w.bytes()), "85fb3ff8000000000000f97e00f97c00f9fc00c11a6553f100");
  auto doc = DecodeCbor(w.bytes());
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)[0].get<double>(), 1.5);
  EXPECT_TRUE(std::isnan((*doc)[1].get<double>()));
  EXPECT_EQ((*doc)[3].get<double>(), -INFINITY);
  EXPECT_EQ((*doc)[4], 1700000000);
}

}  // namespace
}  // namespace gantry::aws
