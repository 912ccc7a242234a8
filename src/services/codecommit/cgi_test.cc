#include "services/codecommit/cgi.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/store/test_support.h"

namespace gantry::services::codecommit {
namespace {

class CgiTest : public ::testing::Test {
 protected:
  CgiInvocation Script(const std::string& script) {
    CgiInvocation invocation;
    invocation.argv = {"/bin/sh", "-c", script};
    invocation.env = {"GREETING=hello", "PATH=/usr/bin:/bin"};
    invocation.output_path = dir_.File("out");
    return invocation;
  }

  std::string Body(const CgiOutput& output) {
    std::ifstream in(dir_.File("out"), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(output.body_offset));
    std::string body(output.body_size, '\0');
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    return body;
  }

  store::testing::ScratchDirectory dir_;
};

TEST_F(CgiTest, HeadersStatusAndBodyFromMemoryInput) {
  CgiInvocation invocation = Script(
      "printf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\nX-Greeting: %s\\r\\n\\r\\n' \"$GREETING\"; "
      "cat; echo oops >&2; exit 3");
  invocation.stdin_data = "the body";
  auto output = RunCgi(invocation);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  EXPECT_EQ(output->status, 404);
  EXPECT_EQ(output->exit_code, 3);
  EXPECT_EQ(output->headers, (std::vector<std::pair<std::string, std::string>>{{"Content-Type", "text/plain"},
                                                                               {"X-Greeting", "hello"}}));
  EXPECT_EQ(Body(*output), "the body");
  EXPECT_EQ(output->stderr_text, "oops\n");
}

TEST_F(CgiTest, FileInputAndLfHeaders) {
  { std::ofstream(dir_.File("in")) << "from a file"; }
  CgiInvocation invocation = Script("printf 'Content-Type: a/b\\n\\n'; cat");
  invocation.stdin_file = dir_.File("in");
  auto output = RunCgi(invocation);
  ASSERT_TRUE(output.ok()) << output.status().ToString();
  EXPECT_EQ(output->status, 200);
  EXPECT_EQ(Body(*output), "from a file");
}

TEST_F(CgiTest, OutputWithoutHeaderBlockIsAnError) {
  auto output = RunCgi(Script("echo broken >&2; exit 1"));
  ASSERT_FALSE(output.ok());
  EXPECT_NE(output.status().message().find("broken"), std::string::npos);
}

TEST_F(CgiTest, MissingProgramIsAnError) {
  CgiInvocation invocation = Script("");
  invocation.argv = {"/nonexistent/program"};
  EXPECT_FALSE(RunCgi(invocation).ok());
}

}  // namespace
}  // namespace gantry::services::codecommit
