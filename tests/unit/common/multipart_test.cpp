#include "common/multipart.hpp"

#include <gtest/gtest.h>

namespace estfleet::common {
namespace {

MimePart part(const std::string& type, const std::string& body) {
  return MimePart{{{"Content-Type", type}, {"Content-Transfer-Encoding", "base64"}}, body};
}

TEST(Multipart, BuildsCrlfPartsAndACloseLine) {
  const auto body =
      build_multipart({part("application/pkcs8", "QUJD"), part("text/plain", "x")}, "b-1");
  EXPECT_EQ(body,
            "--b-1\r\nContent-Type: application/pkcs8\r\nContent-Transfer-Encoding: base64\r\n"
            "\r\nQUJD\r\n--b-1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64"
            "\r\n\r\nx\r\n--b-1--\r\n");
}

TEST(Multipart, RoundTripKeepsOrderHeadersAndBodies) {
  const std::vector<MimePart> parts{
      part("application/pkcs7-mime; smime-type=certs-only", "TUlJ\r\nQkFD"),
      part("application/pkcs8", "a\r\n\r\nb")};
  const auto boundary = random_boundary();
  const auto parsed = parse_multipart(build_multipart(parts, boundary), boundary);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].header("content-type"), "application/pkcs7-mime; smime-type=certs-only");
  EXPECT_EQ(parsed[0].header("CONTENT-TRANSFER-ENCODING"), "base64");
  EXPECT_EQ(parsed[0].body, "TUlJ\r\nQkFD");
  EXPECT_EQ(parsed[1].body, "a\r\n\r\nb") << "blank lines inside a body stay in it";
  EXPECT_EQ(parsed[1].header("Content-Type"), "application/pkcs8");
  EXPECT_FALSE(parsed[1].header("Content-Disposition"));
}

TEST(Multipart, ParsesLfLinesPreambleEpilogueAndPadding) {
  const std::string body =
      "This is the preamble.\n--xyz  \nContent-Type: application/pkcs8\n"
      "Content-Description: folded\n  over two lines\n\nQUJD\n--xyz\n"
      "Content-Type: text/plain\n\nhello\n--xyz--\nepilogue --xyz\n";
  const auto parsed = parse_multipart(body, "xyz");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].body, "QUJD");
  EXPECT_EQ(parsed[0].header("Content-Description"), "folded over two lines");
  EXPECT_EQ(parsed[1].body, "hello");
}

TEST(Multipart, ALineThatOnlyStartsWithTheBoundaryIsBodyText) {
  const auto parsed = parse_multipart("--b\r\n\r\n--bx\r\n--b--\r\n", "b");
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].body, "--bx");
  EXPECT_TRUE(parsed[0].headers.empty());
}

TEST(Multipart, MalformedBodiesAreRefusedSayingWhy) {
  EXPECT_THROW(
      {
        try {
          parse_multipart("no boundary here", "b");
        } catch (const MultipartError& e) {
          EXPECT_NE(std::string(e.what()).find("no line '--b'"), std::string::npos) << e.what();
          throw;
        }
      },
      MultipartError);
  EXPECT_THROW(
      {
        try {
          parse_multipart("--b\r\nContent-Type: x\r\n\r\nbody\r\n", "b");
        } catch (const MultipartError& e) {
          EXPECT_NE(std::string(e.what()).find("without its closing line"), std::string::npos);
          throw;
        }
      },
      MultipartError);
  EXPECT_THROW(parse_multipart("--b\r\nnot a header\r\n\r\nbody\r\n--b--\r\n", "b"),
               MultipartError);
}

TEST(Multipart, TheBuilderRefusesBadBoundaries) {
  EXPECT_THROW(build_multipart({part("text/plain", "x")}, ""), MultipartError);
  EXPECT_THROW(build_multipart({part("text/plain", "x")}, std::string(71, 'a')), MultipartError);
  EXPECT_THROW(build_multipart({part("text/plain", "x")}, "semi;colon"), MultipartError);
  EXPECT_THROW(build_multipart({part("text/plain", "x")}, "trailing "), MultipartError);
  EXPECT_THROW(build_multipart({part("text/plain", "a\r\n--abc\r\n")}, "abc"), MultipartError);
}

TEST(Multipart, RandomBoundariesDiffer) {
  const auto a = random_boundary();
  EXPECT_EQ(a.size(), 42u);
  EXPECT_NE(a, random_boundary());
}

TEST(MediaParameters, QuotedUnquotedAndCaseInsensitive) {
  EXPECT_EQ(boundary_parameter("multipart/mixed; boundary=abc"), "abc");
  EXPECT_EQ(boundary_parameter("multipart/mixed;BOUNDARY=\"a b;c\""), "a b;c");
  EXPECT_EQ(boundary_parameter("multipart/mixed; charset=x; boundary=z9"), "z9");
  EXPECT_FALSE(boundary_parameter("multipart/mixed"));
  EXPECT_FALSE(boundary_parameter("multipart/mixed; boundary=\"\""));
  EXPECT_EQ(
      media_parameter("application/pkcs7-mime; smime-type=server-generated-key", "smime-type"),
      "server-generated-key");
  EXPECT_EQ(media_parameter("application/pkcs7-mime; name=\"x;smime-type=y\"; smime-type=z",
                            "smime-type"),
            "z")
      << "a parameter inside another's quoted value is not that parameter";
  EXPECT_FALSE(media_parameter("application/pkcs7-mime", "smime-type"));
}

TEST(ContentType, MediaTypeIsTrimmedLowerCasedAndWithoutParameters) {
  EXPECT_EQ(media_type("Application/PKCS7-MIME; smime-type=certs-only"), "application/pkcs7-mime");
  EXPECT_EQ(media_type(" multipart/mixed ;boundary=x"), "multipart/mixed");
  EXPECT_EQ(media_type("text/plain"), "text/plain");
  EXPECT_EQ(media_type(""), "");
}

}  // namespace
}  // namespace estfleet::common
