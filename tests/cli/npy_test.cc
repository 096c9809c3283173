// The CLI's .npy reader and writer: round trips, files written by NumPy, and
// every class of malformed file.
#include "engine/cli/npy.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

namespace dyad::cli {
namespace {

using namespace std::string_literals;

constexpr NpyType kAllTypes[] = {NpyType::kI1, NpyType::kU1, NpyType::kI2, NpyType::kI4,
                                 NpyType::kI8, NpyType::kF4, NpyType::kF8};

// A .npy file with the given header text (padded to 64 bytes like NumPy does)
// and raw data bytes.
std::string make_npy(const std::string& header, const std::string& data, int major = 1) {
  std::string h = header;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string out = "\x93NUMPY"s + static_cast<char>(major) + '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string header_for(const std::string& descr, const std::string& shape,
                       const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

Status parse(const std::string& bytes, NpyArray* out) { return parse_npy(bytes, "t.npy", out); }

TEST(Npy, RoundTripsEveryTypeAndShape) {
  const std::vector<Shape> shapes = {{}, {5}, {2, 3}, {1, 2, 3, 4}, {0, 3}};
  for (NpyType type : kAllTypes) {
    for (const Shape& shape : shapes) {
      const size_t bytes = static_cast<size_t>(shape_elements(shape)) * npy_item_bytes(type);
      std::vector<uint8_t> data(bytes);
      for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
      const std::string file = serialize_npy(type, shape, data.data());
      EXPECT_EQ((file.size() - bytes) % 64, 0u) << "data must start 64-byte aligned";
      NpyArray a;
      ASSERT_TRUE(parse(file, &a).is_ok()) << npy_descr(type) << " " << shape_to_string(shape);
      EXPECT_EQ(a.type, type);
      EXPECT_EQ(a.shape, shape);
      EXPECT_EQ(a.data, data);
    }
  }
}

TEST(Npy, WritesTheHeaderNumPyWrites) {
  const int32_t v[2] = {1, -1};
  const std::string file = serialize_npy(NpyType::kI4, {2}, v);
  EXPECT_EQ(file.substr(0, 8), "\x93NUMPY\x01\x00"s);
  // 10 bytes of magic, version and length, 57 of dict, spaces and '\n' up to 128.
  EXPECT_EQ(file.substr(8, 2), "\x76\x00"s);
  EXPECT_EQ(file.substr(10, 57), "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }");
  EXPECT_EQ(file.substr(67, 6), "      ");
  EXPECT_EQ(file[127], '\n');
  EXPECT_EQ(file.substr(128), std::string("\x01\x00\x00\x00\xff\xff\xff\xff", 8));
}

// Bytes written by NumPy 1.24 (np.save), including its extra header padding.
TEST(Npy, ReadsFilesWrittenByNumPy) {
  const std::string pad(58, ' ');
  NpyArray a;
  const std::string i2 = "\x93NUMPY\x01\x00v\x00"s +
                         "{'descr': '<i2', 'fortran_order': False, 'shape': (1, 3), }" + pad +
                         "\n\x01\x00\xfe\xff\x03\x00"s;
  ASSERT_EQ(i2.size(), 134u);
  ASSERT_TRUE(parse(i2, &a).is_ok());
  EXPECT_EQ(a.type, NpyType::kI2);
  EXPECT_EQ(a.shape, (Shape{1, 3}));
  int16_t v[3];
  std::memcpy(v, a.data.data(), 6);
  EXPECT_EQ(v[0], 1);
  EXPECT_EQ(v[1], -2);
  EXPECT_EQ(v[2], 3);

  const std::string u1 = "\x93NUMPY\x01\x00v\x00"s +
                         "{'descr': '|u1', 'fortran_order': False, 'shape': (), }" +
                         std::string(62, ' ') + "\n\x07";
  ASSERT_TRUE(parse(u1, &a).is_ok());
  EXPECT_EQ(a.type, NpyType::kU1);
  EXPECT_TRUE(a.shape.empty());
  ASSERT_EQ(a.data.size(), 1u);
  EXPECT_EQ(a.data[0], 7);

  const std::string f8 = "\x93NUMPY\x01\x00v\x00"s +
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" +
                         std::string(60, ' ') + "\n" + std::string("\0\0\0\0\0\0\xf8?", 8) +
                         std::string("\0\0\0\0\0\0\0\xc0", 8);
  ASSERT_TRUE(parse(f8, &a).is_ok());
  double d[2];
  std::memcpy(d, a.data.data(), 16);
  EXPECT_EQ(d[0], 1.5);
  EXPECT_EQ(d[1], -2.0);
}

TEST(Npy, AcceptsVersion2HeadersAndEquivalentSpellings) {
  NpyArray a;
  EXPECT_TRUE(parse(make_npy(header_for("<i4", "(1,)"), "abcd", 2), &a).is_ok());
  EXPECT_TRUE(parse(make_npy(header_for("<i1", "(2,)"), "ab"), &a).is_ok());
  EXPECT_EQ(a.type, NpyType::kI1);
  EXPECT_TRUE(parse(make_npy("{\"shape\": (2, 1,), \"fortran_order\": False, \"descr\": \"|u1\"}",
                             "ab"),
                    &a)
                  .is_ok());
  EXPECT_EQ(a.shape, (Shape{2, 1}));
}

struct Malformed {
  const char* what;
  std::string bytes;
  StatusCode code;
  const char* message_part;
};

TEST(Npy, RejectsMalformedFilesWithAClearMessage) {
  const std::string ok_header = header_for("<i2", "(2,)");
  const std::vector<Malformed> cases = {
      {"empty", "", StatusCode::kParseError, "magic"},
      {"not npy", "PK\x03\x04 a zip file", StatusCode::kParseError, "magic"},
      {"version 4", "\x93NUMPY\x04\x00\x10\x00"s, StatusCode::kUnsupported, "version 4.0"},
      {"truncated length", "\x93NUMPY\x01\x00\x10"s, StatusCode::kParseError, "header length"},
      {"header past the end", "\x93NUMPY\x01\x00\x40\x00{'descr'"s, StatusCode::kParseError,
       "shorter"},
      {"fortran order", make_npy(header_for("<i2", "(2, 2)", "True"), std::string(8, '\0')),
       StatusCode::kUnsupported, "Fortran"},
      {"big endian", make_npy(header_for(">i4", "(1,)"), "abcd"), StatusCode::kUnsupported,
       "'>i4'"},
      {"complex", make_npy(header_for("<c8", "(1,)"), "abcdefgh"), StatusCode::kUnsupported,
       "'<c8'"},
      {"bool", make_npy(header_for("|b1", "(1,)"), "a"), StatusCode::kUnsupported, "'|b1'"},
      {"structured", make_npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }",
                              "abcd"),
       StatusCode::kParseError, "'descr'"},
      {"missing shape", make_npy("{'descr': '<i2', 'fortran_order': False, }", "ab"),
       StatusCode::kParseError, "lacks"},
      {"unknown key", make_npy("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), 'x': 1}",
                               "ab"),
       StatusCode::kParseError, "unknown header key 'x'"},
      {"shape as a list", make_npy(header_for("<i2", "[2]"), "abcd"), StatusCode::kParseError,
       "'shape'"},
      {"negative dim", make_npy(header_for("<i2", "(-2,)"), "abcd"), StatusCode::kParseError,
       "'shape'"},
      {"not a dict", make_npy("('<i2', False, (2,))", "abcd"), StatusCode::kParseError, "dict"},
      {"text after the dict", make_npy(ok_header + " x", "abcd"), StatusCode::kParseError,
       "after"},
      {"truncated data", make_npy(ok_header, "abc"), StatusCode::kParseError,
       "needs 4 data bytes, the file has 3"},
      {"trailing data", make_npy(ok_header, "abcde"), StatusCode::kParseError,
       "needs 4 data bytes, the file has 5"},
      {"huge shape", make_npy(header_for("<i8", "(4294967296, 4294967296)"), ""),
       StatusCode::kParseError, "too large"},
      // Found by fuzz_npy: a zero dimension made the data size 0 while the
      // dimensions before it overflow int64 when multiplied.
      {"zero dim after overflowing dims",
       make_npy(header_for("|u1", "(2, 2, 200057591150, 20005759, 0, 2)"), ""),
       StatusCode::kParseError, "too large"},
      {"zero-sized but over the element limit",
       make_npy(header_for("|u1", "(0, 4294967297)"), ""), StatusCode::kParseError, "too large"},
      {"rank 9", make_npy(header_for("|u1", "(1, 1, 1, 1, 1, 1, 1, 1, 1)"), "a"),
       StatusCode::kParseError, "more than 8 dimensions"},
  };
  for (const Malformed& c : cases) {
    NpyArray a;
    const Status s = parse(c.bytes, &a);
    EXPECT_EQ(s.code(), c.code) << c.what << ": " << s.message();
    EXPECT_NE(s.message().find("t.npy"), std::string::npos) << c.what << ": " << s.message();
    EXPECT_NE(s.message().find(c.message_part), std::string::npos) << c.what << ": " << s.message();
  }
}

class NpyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("dyad_npy_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(NpyFiles, WriteThenReadAndMissingFiles) {
  const int64_t v[3] = {INT64_MIN, 0, INT64_MAX};
  const std::string path = (dir_ / "a.npy").string();
  ASSERT_TRUE(write_npy(path, NpyType::kI8, {3, 1}, v).is_ok());
  NpyArray a;
  ASSERT_TRUE(read_npy(path, &a).is_ok());
  EXPECT_EQ(a.shape, (Shape{3, 1}));
  ASSERT_EQ(a.data.size(), sizeof v);
  EXPECT_EQ(std::memcmp(a.data.data(), v, sizeof v), 0);

  const std::string missing = (dir_ / "missing.npy").string();
  Status s = read_npy(missing, &a);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();

  // Only regular files: a directory, and a FIFO (whose open or read would
  // block) are refused with their path named.
  for (const std::string& odd : {dir_.string(), (dir_ / "fifo.npy").string()}) {
    if (odd != dir_.string()) {
      ASSERT_EQ(::mkfifo(odd.c_str(), 0600), 0) << odd;
    }
    s = read_npy(odd, &a);
    EXPECT_EQ(s.code(), StatusCode::kIoError) << odd;
    EXPECT_NE(s.message().find("regular file"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(odd), std::string::npos) << s.message();
  }

  const std::string unwritable = (dir_ / "no_dir" / "b.npy").string();
  s = write_npy(unwritable, NpyType::kI8, {3}, v);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find(unwritable), std::string::npos) << s.message();
}

// NumPy itself reads what we write (skipped when python3 with numpy is absent).
TEST_F(NpyFiles, NumPyReadsOurFiles) {
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "no /usr/bin/python3 with numpy";
  const int16_t i2[6] = {1, -2, 3, -4, 5, -32768};
  const float f4[2] = {0.5f, -3.25f};
  const uint8_t u1[1] = {200};
  ASSERT_TRUE(write_npy((dir_ / "i2.npy").string(), NpyType::kI2, {2, 3}, i2).is_ok());
  ASSERT_TRUE(write_npy((dir_ / "f4.npy").string(), NpyType::kF4, {2}, f4).is_ok());
  ASSERT_TRUE(write_npy((dir_ / "u1.npy").string(), NpyType::kU1, {}, u1).is_ok());
  const std::string cmd = "cd '" + dir_.string() +
                          "' && /usr/bin/python3 -c \"import numpy as np; "
                          "print([(str(a.dtype), a.shape, a.tolist()) for a in "
                          "(np.load('i2.npy'), np.load('f4.npy'), np.load('u1.npy'))])\"";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  ASSERT_EQ(pclose(p), 0);
  EXPECT_EQ(std::string(buf, n),
            "[('int16', (2, 3), [[1, -2, 3], [-4, 5, -32768]]), ('float32', (2,), [0.5, -3.25]), "
            "('uint8', (), 200)]\n");
}

}  // namespace
}  // namespace dyad::cli
