// The README's configuration reference is the options table: a key, variable, default or
// description changed in config/options.cc without the README (or the other way round) fails
// here, with the table to paste.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"

namespace arvel::config {
namespace {

TEST(ReadmeReferenceTest, ReadmeHoldsTheOptionsTableVerbatim) {
  std::ifstream in(std::string(ARVEL_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "cannot read README.md";
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string table = ReferenceTable();
  EXPECT_NE(readme.str().find(table), std::string::npos)
      << "README.md's configuration table differs from the options table; it should read:\n"
      << table;
  // Only one table of keys: no row documents a key the options table lacks.
  const std::string header = table.substr(0, table.find('\n') + 1);
  EXPECT_EQ(readme.str().find(header), readme.str().rfind(header));
}

}  // namespace
}  // namespace arvel::config
