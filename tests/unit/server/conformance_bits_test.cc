// The driver conformance suite (conformance.h), continued: bitmap commands, LCS, RENAME and COPY.
// Every expected reply is what redis-server 7.0 answers to the same commands.

#include <string>

#include "tests/unit/server/conformance.h"

namespace arvel::testing {

using namespace std::string_literals;

namespace {
constexpr std::string_view kNotInteger = "-ERR value is not an integer or out of range";
constexpr std::string_view kSyntax = "-ERR syntax error";
constexpr std::string_view kBitOffset = "-ERR bit offset is not an integer or out of range";
}  // namespace

TEST_P(StoreConformanceTest, GetBit) {
  EXPECT_EQ(Run({"SET", "k", "foobar"}), "+OK");
  EXPECT_EQ(Run({"GETBIT", "k", "1"}), ":1");
  EXPECT_EQ(Run({"GETBIT", "k", "0"}), ":0");
  EXPECT_EQ(Run({"GETBIT", "k", "100"}), ":0");
  EXPECT_EQ(Run({"GETBIT", "k", "4294967295"}), ":0");
  EXPECT_EQ(Run({"GETBIT", "missing", "3"}), ":0");
  EXPECT_EQ(Run({"GETBIT", "k", "4294967296"}), kBitOffset);
  EXPECT_EQ(Run({"GETBIT", "missing", "-1"}), kBitOffset);
  EXPECT_EQ(Run({"GETBIT", "k", "04"}), kBitOffset);
}

TEST_P(StoreConformanceTest, BitCount) {
  EXPECT_EQ(Run({"SET", "k", "foobar"}), "+OK");
  EXPECT_EQ(Run({"BITCOUNT", "k"}), ":26");
  EXPECT_EQ(Run({"BITCOUNT", "k", "1", "1"}), ":6");
  EXPECT_EQ(Run({"BITCOUNT", "k", "-1", "-2"}), ":0");
  EXPECT_EQ(Run({"BITCOUNT", "k", "5", "30", "BIT"}), ":17");
  EXPECT_EQ(Run({"BITCOUNT", "k", "0", "-1", "byte"}), ":26");
  EXPECT_EQ(Run({"BITCOUNT", "k", "0"}), kSyntax);
  EXPECT_EQ(Run({"BITCOUNT", "k", "0", "1", "foo"}), kSyntax);
  EXPECT_EQ(Run({"BITCOUNT", "k", "x", "1", "foo"}), kNotInteger);
  EXPECT_EQ(Run({"BITCOUNT", "k", "0", "1", "2", "3"}), kSyntax);
  // Redis 7.0 answers a missing key before it looks at the range.
  EXPECT_EQ(Run({"BITCOUNT", "missing"}), ":0");
  EXPECT_EQ(Run({"BITCOUNT", "missing", "0"}), ":0");
  EXPECT_EQ(Run({"BITCOUNT", "missing", "a", "b"}), ":0");
}

TEST_P(StoreConformanceTest, BitPos) {
  EXPECT_EQ(Run({"SET", "k", "foobar"}), "+OK");
  EXPECT_EQ(Run({"SET", "ones", "\xff\xff\xff"}), "+OK");
  EXPECT_EQ(Run({"SET", "empty", ""}), "+OK");
  EXPECT_EQ(Run({"BITPOS", "k", "1"}), ":1");
  EXPECT_EQ(Run({"BITPOS", "k", "1", "7", "15", "BIT"}), ":9");
  EXPECT_EQ(Run({"BITPOS", "k", "0", "-3", "-1", "bit"}), ":45");
  EXPECT_EQ(Run({"BITPOS", "k", "0", "2"}), ":16");
  EXPECT_EQ(Run({"BITPOS", "ones", "0"}), ":24");
  EXPECT_EQ(Run({"BITPOS", "ones", "0", "0"}), ":24");
  EXPECT_EQ(Run({"BITPOS", "ones", "0", "0", "-1"}), ":-1");
  EXPECT_EQ(Run({"BITPOS", "ones", "1", "-100", "-200"}), ":0");
  EXPECT_EQ(Run({"BITPOS", "empty", "0"}), ":-1");
  EXPECT_EQ(Run({"BITPOS", "missing", "0"}), ":0");
  EXPECT_EQ(Run({"BITPOS", "missing", "1"}), ":-1");
  EXPECT_EQ(Run({"BITPOS", "missing", "1", "0", "1", "foo"}), ":-1");
  EXPECT_EQ(Run({"BITPOS", "missing", "2"}), "-ERR The bit argument must be 1 or 0.");
  EXPECT_EQ(Run({"BITPOS", "k", "x"}), kNotInteger);
  EXPECT_EQ(Run({"BITPOS", "k", "1", "0", "1", "foo"}), kSyntax);
  EXPECT_EQ(Run({"BITPOS", "k", "1", "0", "x", "foo"}), kSyntax);  // the unit before the end
  EXPECT_EQ(Run({"BITPOS", "k", "0", "1", "BIT"}), kNotInteger);
  EXPECT_EQ(Run({"BITPOS", "k", "1", "0", "1", "bit", "extra"}), kSyntax);
}

TEST_P(StoreConformanceTest, Lcs) {
  EXPECT_EQ(Run({"MSET", "key1", "ohmytext", "key2", "mynewtext"}), "+OK");
  EXPECT_EQ(Run({"LCS", "key1", "key2"}), "$mytext");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "LEN"}), ":6");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "IDX"}),
            "[$matches, [[[:4, :7], [:5, :8]], [[:2, :3], [:0, :1]]], $len, :6]");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"}),
            "[$matches, [[[:4, :7], [:5, :8], :4]], $len, :6]");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "withmatchlen"}), "$mytext");
  EXPECT_EQ(Run({"LCS", "missing", "key1"}), "$");
  EXPECT_EQ(Run({"LCS", "missing", "other", "IDX"}), "[$matches, [], $len, :0]");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "LEN", "IDX"}),
            "-ERR If you want both the length and indexes, please just use IDX.");
  EXPECT_EQ(Run({"LCS", "key1", "key2", "MINMATCHLEN"}), kSyntax);
  EXPECT_EQ(Run({"LCS", "key1", "key2", "MINMATCHLEN", "x"}), kNotInteger);
  EXPECT_EQ(Run({"LCS", "key1", "key2", "foo"}), kSyntax);
}

TEST_P(StoreConformanceTest, SetBit) {
  EXPECT_EQ(Run({"SETBIT", "b", "7", "1"}), ":0");
  EXPECT_EQ(Run({"GET", "b"}), "$\x01");
  EXPECT_EQ(Run({"SETBIT", "b", "7", "0"}), ":1");
  EXPECT_EQ(Run({"GET", "b"}), "$"s + std::string(1, '\0'));
  EXPECT_EQ(Run({"SETBIT", "z", "10", "0"}), ":0");  // a 0 bit creates the key too
  EXPECT_EQ(Run({"STRLEN", "z"}), ":2");
  EXPECT_EQ(Run({"SET", "t", "abc", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"SETBIT", "t", "0", "1"}), ":0");
  EXPECT_EQ(Run({"GET", "t"}), "$\xe1\x62\x63");  // "\xe1" "bc"
  EXPECT_EQ(Run({"TTL", "t"}), ":100");
  EXPECT_EQ(Run({"SETBIT", "t", "2", "1"}), ":1");
  EXPECT_EQ(Run({"SETBIT", "b", "4294967296", "1"}), kBitOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "-1", "1"}), kBitOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "x", "2"}), kBitOffset);
  EXPECT_EQ(Run({"SETBIT", "b", "7", "2"}), "-ERR bit is not an integer or out of range");
  EXPECT_EQ(Run({"SETBIT", "b", "7", "01"}), "-ERR bit is not an integer or out of range");
}

TEST_P(StoreConformanceTest, RenameAndRenameNx) {
  EXPECT_EQ(Run({"RENAME", "nokey", "x"}), "-ERR no such key");
  EXPECT_EQ(Run({"RENAME", "nokey", "nokey"}), "-ERR no such key");
  EXPECT_EQ(Run({"RENAMENX", "nokey", "x"}), "-ERR no such key");
  EXPECT_EQ(Run({"SET", "a", "1", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"RENAME", "a", "a"}), "+OK");
  EXPECT_EQ(Run({"RENAMENX", "a", "a"}), ":0");
  EXPECT_EQ(Run({"SET", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"RENAMENX", "a", "b"}), ":0");
  EXPECT_EQ(Run({"RENAME", "a", "c"}), "+OK");
  EXPECT_EQ(Run({"TTL", "c"}), ":100");
  EXPECT_EQ(Run({"EXISTS", "a"}), ":0");
  EXPECT_EQ(Run({"RENAME", "c", "b"}), "+OK");  // replaces b, and b takes c's TTL
  EXPECT_EQ(Run({"GET", "b"}), "$1");
  EXPECT_EQ(Run({"TTL", "b"}), ":100");
  EXPECT_EQ(Run({"RENAMENX", "b", "d"}), ":1");
  EXPECT_EQ(Run({"MGET", "b", "d"}), "[(nil), $1]");
  EXPECT_EQ(Run({"TTL", "d"}), ":100");
}

TEST_P(StoreConformanceTest, Copy) {
  EXPECT_EQ(Run({"COPY", "nokey", "x"}), ":0");
  EXPECT_EQ(Run({"COPY", "nokey", "nokey"}), "-ERR source and destination objects are the same");
  EXPECT_EQ(Run({"SET", "b", "1", "EX", "100"}), "+OK");
  EXPECT_EQ(Run({"COPY", "b", "b", "DB", "0"}), "-ERR source and destination objects are the same");
  EXPECT_EQ(Run({"COPY", "b", "d"}), ":1");
  EXPECT_EQ(Run({"MGET", "b", "d"}), "[$1, $1]");
  EXPECT_EQ(Run({"TTL", "d"}), ":100");
  EXPECT_EQ(Run({"SET", "b", "2"}), "+OK");
  EXPECT_EQ(Run({"COPY", "b", "d"}), ":0");
  EXPECT_EQ(Run({"COPY", "b", "d", "REPLACE"}), ":1");
  EXPECT_EQ(Run({"GET", "d"}), "$2");
  EXPECT_EQ(Run({"TTL", "d"}), ":-1");  // the copy takes the source's (lack of) expiry
  EXPECT_EQ(Run({"COPY", "b", "e", "db", "0", "replace"}), ":1");
  EXPECT_EQ(Run({"COPY", "b", "d", "DB", "1"}), "-ERR DB index is out of range");
  EXPECT_EQ(Run({"COPY", "b", "d", "DB", "-1"}), "-ERR DB index is out of range");
  EXPECT_EQ(Run({"COPY", "b", "d", "DB", "x"}), kNotInteger);
  EXPECT_EQ(Run({"COPY", "b", "d", "DB", "99999999999"}),
            "-ERR value is out of range, value must between -2147483648 and 2147483647");
  EXPECT_EQ(Run({"COPY", "b", "d", "DB"}), kSyntax);
  EXPECT_EQ(Run({"COPY", "b", "d", "foo"}), kSyntax);
}

TEST_P(StoreConformanceTest, RenameAbortsTheWatchersOfBothKeys) {
  Client other = Connect();
  for (const char* watched : {"src", "dst"}) {
    EXPECT_EQ(Run({"SET", "src", "v"}), "+OK");
    EXPECT_EQ(Run({"WATCH", watched}), "+OK");
    EXPECT_EQ(Text(other.Command({"RENAME", "src", "dst"})), "+OK");
    EXPECT_EQ(Run({"MULTI"}), "+OK");
    EXPECT_EQ(Run({"SET", "mine", "1"}), "+QUEUED");
    EXPECT_EQ(Run({"EXEC"}), "(nil)") << watched;
  }
  EXPECT_EQ(Run({"WATCH", "dst"}), "+OK");
  EXPECT_EQ(Text(other.Command({"COPY", "dst", "copy"})), ":1");  // dst itself is unchanged
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "mine", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "[+OK]");
  EXPECT_EQ(Run({"WATCH", "copy2"}), "+OK");
  EXPECT_EQ(Text(other.Command({"COPY", "dst", "copy2"})), ":1");
  EXPECT_EQ(Run({"MULTI"}), "+OK");
  EXPECT_EQ(Run({"SET", "mine", "1"}), "+QUEUED");
  EXPECT_EQ(Run({"EXEC"}), "(nil)");
}

}  // namespace arvel::testing
