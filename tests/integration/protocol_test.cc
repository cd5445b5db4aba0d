// The wire protocol of the real binary (SPEC §3): pipelining, inline commands, protocol errors,
// a random-input fuzz loop, binary-safe and large values, and RESP3 reply shapes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/integration/daemon.h"

namespace arvel::integration {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

class ProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = Daemon::Start();
    ASSERT_NE(daemon_->port(), 0);
  }

  // Sends `bytes` on a fresh connection and returns what came back before the server closed.
  std::string SendAndReadToClose(const std::string& bytes, bool* closed) {
    RawConnection raw = daemon_->ConnectRaw();
    EXPECT_TRUE(raw.Send(bytes));
    return raw.ReadUntilClose(milliseconds(5000), closed);
  }

  std::unique_ptr<Daemon> daemon_;
};

std::string AllByteValues() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Pipelining

TEST_F(ProtocolTest, TenThousandPipelinedRequestsInOneWriteAnswerInOrder) {
  constexpr int kRequests = 10000;
  std::string batch;
  for (int i = 0; i < kRequests; ++i) {
    switch (i % 4) {
      case 0:
        batch += Resp({"INCR", "counter"});
        break;
      case 1:
        batch += Resp({"PUT", "k" + std::to_string(i), "v" + std::to_string(i)});
        break;
      case 2:
        batch += Resp({"GET", "k" + std::to_string(i - 1)});
        break;
      default:
        batch += Resp({"ECHO", std::to_string(i)});
        break;
    }
  }
  RawConnection raw = daemon_->ConnectRaw();
  // Written from another thread so a full socket on either side cannot deadlock the test.
  std::thread writer([&] { EXPECT_TRUE(raw.Send(batch)); });
  for (int i = 0; i < kRequests; ++i) {
    std::string expected;
    switch (i % 4) {
      case 0:
        expected = ":" + std::to_string(i / 4 + 1) + "\r\n";
        break;
      case 1:
        expected = "+OK\r\n";
        break;
      case 2: {
        std::string v = "v" + std::to_string(i - 1);
        expected = "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
        break;
      }
      default: {
        std::string n = std::to_string(i);
        expected = "$" + std::to_string(n.size()) + "\r\n" + n + "\r\n";
        break;
      }
    }
    std::string actual = raw.ReadRawValue();
    if (actual != expected) {
      ADD_FAILURE() << "reply " << i << ": " << actual << " expected " << expected;
      break;
    }
  }
  writer.join();
}

TEST_F(ProtocolTest, PipelinedRequestsSplitAtEveryByteStillWork) {
  std::string batch =
      Resp({"SET", "k", "value"}) + "GET k\r\n" + Resp({"APPEND", "k", "!"}) + Resp({"GET", "k"});
  RawConnection raw = daemon_->ConnectRaw();
  for (char byte : batch) {
    ASSERT_TRUE(raw.Send(std::string(1, byte)));
  }
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$5\r\nvalue\r\n");
  EXPECT_EQ(raw.ReadRawValue(), ":6\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$6\r\nvalue!\r\n");
}

TEST_F(ProtocolTest, InlineCommands) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(
      raw.Send("PING\r\nPUT greeting \"hello world\" 60\r\nGET greeting\r\n"
               "ECHO 'single quoted'\r\nECHO \"tab\\there\"\r\n\r\nPING\n"));
  EXPECT_EQ(raw.ReadRawValue(), "+PONG\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$11\r\nhello world\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$13\r\nsingle quoted\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$8\r\ntab\there\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "+PONG\r\n");
}

TEST_F(ProtocolTest, EmptyAndNegativeMultibulkCountsAreSkippedAsInRedis) {
  // Redis treats "*0" and "*-N" as empty requests, not as protocol errors.
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send("*0\r\n*-5\r\n*-1\r\n" + Resp({"PING"})));
  EXPECT_EQ(raw.ReadRawValue(), "+PONG\r\n");
}

// ---------------------------------------------------------------------------------------------
// Protocol errors: "-ERR Protocol error: ..." then close; other clients unaffected.

struct BadInput {
  const char* name;
  std::string bytes;
  std::string error;  // the expected error line, without "\r\n"
};

class ProtocolErrorTest : public ProtocolTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(ProtocolErrorTest, RepliesWithProtocolErrorAndClosesOnlyThatClient) {
  Client bystander = daemon_->Connect();
  ASSERT_EQ(Show(bystander.Command({"SET", "survivor", "yes"})), "+OK");
  bool closed = false;
  std::string reply = SendAndReadToClose(GetParam().bytes, &closed);
  EXPECT_EQ(reply, GetParam().error + "\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(Show(bystander.Command({"GET", "survivor"})), "\"yes\"");
  Client fresh = daemon_->Connect();
  EXPECT_EQ(Show(fresh.Command({"PING"})), "+PONG");
}

// A valid request before the bad bytes is answered first.
TEST_P(ProtocolErrorTest, EarlierPipelinedRequestsAreAnsweredFirst) {
  bool closed = false;
  std::string reply = SendAndReadToClose(Resp({"PING"}) + GetParam().bytes, &closed);
  EXPECT_EQ(reply, "+PONG\r\n" + GetParam().error + "\r\n");
  EXPECT_TRUE(closed);
}

INSTANTIATE_TEST_SUITE_P(
    Bad, ProtocolErrorTest,
    ::testing::Values(
        BadInput{"NotABulk", "*2\r\n$3\r\nGET\r\n+OK\r\n",
                 "-ERR Protocol error: expected '$', got '+'"},
        BadInput{"NegativeBulkLength", "*1\r\n$-2\r\n", "-ERR Protocol error: invalid bulk length"},
        BadInput{"HugeMultibulkCount", "*99999999999\r\n",
                 "-ERR Protocol error: invalid multibulk length"},
        BadInput{"MultibulkCountOverLimit", "*1048577\r\n",
                 "-ERR Protocol error: invalid multibulk length"},
        BadInput{"NonNumericMultibulkCount", "*abc\r\n",
                 "-ERR Protocol error: invalid multibulk length"},
        BadInput{"HugeBulkLength", "*1\r\n$99999999999\r\n",
                 "-ERR Protocol error: invalid bulk length"},
        BadInput{"BulkOverProtoMaxBulkLen", "*1\r\n$536870913\r\n",
                 "-ERR Protocol error: invalid bulk length"},
        BadInput{"NonNumericBulkLength", "*1\r\n$x\r\n",
                 "-ERR Protocol error: invalid bulk length"},
        BadInput{"UnbalancedDoubleQuote", "SET \"abc\r\n",
                 "-ERR Protocol error: unbalanced quotes in request"},
        BadInput{"UnbalancedSingleQuote", "GET 'abc\r\n",
                 "-ERR Protocol error: unbalanced quotes in request"},
        BadInput{"ClosingQuoteNotFollowedBySpace", "GET \"a\"b\r\n",
                 "-ERR Protocol error: unbalanced quotes in request"},
        // Exactly one byte over the 64 KB limit, so the server has read everything we sent when
        // it closes (unread input would turn the close into a reset that loses the reply).
        BadInput{"InlineLineTooLong", std::string(64 * 1024 + 1, 'a'),
                 "-ERR Protocol error: too big inline request"},
        BadInput{"MultibulkHeaderTooLong", "*" + std::string(64 * 1024, '1'),
                 "-ERR Protocol error: too big mbulk count string"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Fuzz: random buffers built from protocol fragments and random bytes; afterwards the server
// still answers, and no connection is left behind.

std::string RandomBuffer(std::mt19937& rng) {
  static const std::vector<std::string> kFragments = {"*",
                                                      "$",
                                                      "\r\n",
                                                      "\n",
                                                      "\r",
                                                      "*1\r\n",
                                                      "*2\r\n",
                                                      "*3\r\n",
                                                      "$3\r\n",
                                                      "$-1\r\n",
                                                      "*-1\r\n",
                                                      "$0\r\n",
                                                      "*0\r\n",
                                                      "-1",
                                                      "0",
                                                      "9",
                                                      "99999999999999999999",
                                                      "-9223372036854775808",
                                                      "GET",
                                                      "SET",
                                                      "PUT",
                                                      "PING",
                                                      "ECHO",
                                                      "HAS",
                                                      "MANY",
                                                      "PUTMANY",
                                                      "INCR",
                                                      "INCRBYFLOAT",
                                                      "INCREMENT",
                                                      "ADD",
                                                      "PULL",
                                                      "MULTI",
                                                      "EXEC",
                                                      "WATCH",
                                                      "HELLO",
                                                      "3",
                                                      "AUTH",
                                                      "STORE",
                                                      "FAKE",
                                                      "ASSERT",
                                                      "SELECT",
                                                      "SCAN",
                                                      "KEYS",
                                                      "GETRANGE",
                                                      "APPEND",
                                                      "EX",
                                                      "PX",
                                                      "\"",
                                                      "'",
                                                      "\\x",
                                                      "\\",
                                                      " ",
                                                      "k",
                                                      "nan",
                                                      "inf",
                                                      "1e309",
                                                      std::string(1, '\0')};
  std::uniform_int_distribution<int> pieces(1, 80), pick(0, kFragments.size() - 1);
  std::uniform_int_distribution<int> coin(0, 3), byte(0, 255);
  std::string out;
  int n = pieces(rng);
  for (int i = 0; i < n; ++i) {
    if (coin(rng) == 0) {
      out.push_back(static_cast<char>(byte(rng)));
    } else {
      out += kFragments[pick(rng)];
    }
  }
  return out;
}

TEST_F(ProtocolTest, RandomGarbageNeitherCrashesNorHangsTheServer) {
  constexpr int kBuffers = 5000;
  const auto budget = std::chrono::seconds(60);
  std::mt19937 rng(20240601);
  Client bystander = daemon_->Connect();
  ASSERT_EQ(Show(bystander.Command({"SET", "survivor", "yes"})), "+OK");
  auto start = Clock::now();
  int sent = 0;
  for (; sent < kBuffers && Clock::now() - start < budget; ++sent) {
    RawConnection raw = daemon_->ConnectRaw(milliseconds(5000));
    ASSERT_TRUE(raw.connected()) << "buffer " << sent;
    raw.Send(RandomBuffer(rng));
    raw.ShutdownWrite();
    // The server must close its side once it has seen the end of our input.
    ASSERT_TRUE(raw.WaitClosed(milliseconds(5000))) << "buffer " << sent << " left hanging";
  }
  EXPECT_EQ(sent, kBuffers) << "time budget ran out";
  ASSERT_TRUE(daemon_->running());
  EXPECT_EQ(Show(bystander.Command({"PING"})), "+PONG");
  EXPECT_EQ(Show(bystander.Command({"GET", "survivor"})), "\"yes\"");
  Client fresh = daemon_->Connect();
  EXPECT_EQ(Show(fresh.Command({"PING"})), "+PONG");
  // Every fuzz connection is gone: only the bystander and `fresh` remain.
  bool settled = false;
  for (int i = 0; i < 100 && !settled; ++i) {
    settled = ParseInfo(fresh.Command({"INFO", "clients"}).str)["connected_clients"] == "2";
    if (!settled) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_TRUE(settled) << fresh.Command({"INFO", "clients"}).str;
}

TEST_F(ProtocolTest, RandomGarbageOnOneLongLivedConnection) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    RawConnection raw = daemon_->ConnectRaw(milliseconds(5000));
    for (int i = 0; i < 20; ++i) {
      if (!raw.Send(RandomBuffer(rng))) break;  // the server may have closed on an error
    }
    raw.ShutdownWrite();
    ASSERT_TRUE(raw.WaitClosed(milliseconds(5000))) << "round " << round;
  }
  Client c = daemon_->Connect();
  EXPECT_EQ(Show(c.Command({"PING"})), "+PONG");
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  for (size_t at = 0; at < text.size();) {
    size_t end = std::min(text.find(' ', at), text.size());
    words.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
  return words;
}

// Well-formed requests for real commands with odd arguments (huge, negative, non-numeric,
// empty, binary), some with a few bytes flipped: reaches the command handlers, not only the
// parser. Commands that would end the test's own state (SHUTDOWN, CLIENT KILL, FLUSH*) are left
// out.
std::string RandomRequest(std::mt19937& rng) {
  static const std::vector<std::string> kCommands = Words(
      "GET PUT FOREVER HAS FORGET ADD INCREMENT DECREMENT PULL MANY PUTMANY STORE SELECT FAKE "
      "ASSERT SET SETNX SETEX PSETEX GETDEL GETEX GETSET MGET MSET MSETNX DEL UNLINK EXISTS TOUCH "
      "EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST TTL PTTL EXPIRETIME PEXPIRETIME TYPE INCR DECR "
      "INCRBY DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE KEYS SCAN RANDOMKEY DBSIZE MULTI EXEC "
      "DISCARD WATCH UNWATCH PING ECHO RESET HELLO AUTH CLIENT COMMAND INFO CONFIG TIME GETBIT "
      "SETBIT BITCOUNT BITPOS LCS RENAME RENAMENX COPY EVAL EVALSHA EVAL_RO SCRIPT");
  static const std::vector<std::string> kArgs = [] {
    std::vector<std::string> args = Words(
        "k k2 0 1 -1 60 3 2 9223372036854775807 -9223372036854775808 99999999999999999999 1.5 "
        "nan -inf 1e400 EX PX EXAT PXAT NX XX GT LT KEEPTTL GET PERSIST MATCH COUNT TYPE string "
        "* [ \\ STORED MISSING OFF LIST array null SETNAME GETNAME ID INFO SETINFO NO-EVICT DOCS "
        "maxclients AUTH default");
    args.push_back("");
    args.push_back(std::string("\0\xff\r\n", 4));
    return args;
  }();
  std::uniform_int_distribution<size_t> command(0, kCommands.size() - 1);
  std::uniform_int_distribution<size_t> arg(0, kArgs.size() - 1);
  std::uniform_int_distribution<int> argc(0, 6), percent(0, 99), byte(0, 255);
  std::vector<std::string> request = {kCommands[command(rng)]};
  for (int i = argc(rng); i > 0; --i) request.push_back(kArgs[arg(rng)]);
  std::string bytes = Resp(request);
  if (percent(rng) < 20) {
    std::uniform_int_distribution<size_t> at(0, bytes.size() - 1);
    for (int flips = 1 + percent(rng) % 3; flips > 0; --flips) {
      bytes[at(rng)] = static_cast<char>(byte(rng));
    }
  }
  return bytes;
}

TEST_F(ProtocolTest, RandomCommandsWithOddArgumentsNeitherCrashNorHang) {
  constexpr int kConnections = 200;
  constexpr int kRequestsPerConnection = 20;
  std::mt19937 rng(1234);
  Client bystander = daemon_->Connect();
  ASSERT_EQ(Show(bystander.Command({"SET", "survivor", "yes"})), "+OK");
  auto deadline = Clock::now() + std::chrono::seconds(60);
  for (int round = 0; round < kConnections && Clock::now() < deadline; ++round) {
    RawConnection raw = daemon_->ConnectRaw(milliseconds(5000));
    ASSERT_TRUE(raw.connected()) << "round " << round;
    std::string batch;
    for (int i = 0; i < kRequestsPerConnection; ++i) batch += RandomRequest(rng);
    raw.Send(batch);
    raw.ShutdownWrite();
    ASSERT_TRUE(raw.WaitClosed(milliseconds(5000))) << "round " << round << " left hanging";
  }
  ASSERT_TRUE(daemon_->running());
  EXPECT_EQ(Show(bystander.Command({"GET", "survivor"})), "\"yes\"");
  Client fresh = daemon_->Connect();
  EXPECT_EQ(Show(fresh.Command({"PING"})), "+PONG");
}

// ---------------------------------------------------------------------------------------------
// Binary safety and size

TEST_F(ProtocolTest, KeysAndValuesAreBinarySafe) {
  Client c = daemon_->Connect();
  const std::string bytes = AllByteValues();
  const std::string key = std::string("key\0with\r\nbreaks", 16);
  EXPECT_EQ(Show(c.Command({"SET", key, bytes})), "+OK");
  EXPECT_EQ(c.Command({"GET", key}).str, bytes);
  EXPECT_EQ(Show(c.Command({"STRLEN", key})), ":256");
  EXPECT_EQ(Show(c.Command({"PUT", bytes, bytes, "100"})), "+OK");
  EXPECT_EQ(c.Command({"GET", bytes}).str, bytes);
  EXPECT_EQ(Show(c.Command({"HAS", bytes})), ":1");
  Reply many = c.Command({"MANY", key, bytes});
  ASSERT_EQ(many.elements.size(), 2u);
  EXPECT_EQ(many.elements[0].str, bytes);
  EXPECT_EQ(many.elements[1].str, bytes);
  EXPECT_EQ(c.Command({"GETRANGE", key, "0", "3"}).str, std::string("\0\1\2\3", 4));
  EXPECT_EQ(Show(c.Command({"APPEND", key, std::string("\0", 1)})), ":257");
  EXPECT_EQ(c.Command({"PULL", key}).str, bytes + std::string("\0", 1));
  EXPECT_EQ(c.Command({"GET", "missing", bytes}).str, bytes);
  EXPECT_EQ(c.Command({"ECHO", bytes}).str, bytes);
}

TEST_F(ProtocolTest, EveryByteValueAsAOneByteKey) {
  Client c = daemon_->Connect();
  for (int i = 0; i < 256; ++i)
    c.Append({"PUT", std::string(1, static_cast<char>(i)), std::to_string(i)});
  for (int i = 0; i < 256; ++i) ASSERT_EQ(Show(c.GetReply()), "+OK");
  EXPECT_EQ(IntegerOf(c, {"DBSIZE"}), 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(c.Command({"GET", std::string(1, static_cast<char>(i))}).str, std::to_string(i));
  }
}

TEST_F(ProtocolTest, TenMegabyteValueRoundTrip) {
  std::string value(10 * 1024 * 1024, '\0');
  std::mt19937 rng(42);
  for (char& ch : value) ch = static_cast<char>(rng());
  Client c = daemon_->Connect(milliseconds(30000));
  EXPECT_EQ(Show(c.Command({"PUT", "big", value})), "+OK");
  EXPECT_EQ(Show(c.Command({"STRLEN", "big"})), ":" + std::to_string(value.size()));
  Reply reply = c.Command({"GET", "big"});
  EXPECT_EQ(reply.str.size(), value.size());
  EXPECT_TRUE(reply.str == value);
  EXPECT_EQ(Show(c.Command({"APPEND", "big", "tail"})), ":" + std::to_string(value.size() + 4));
  EXPECT_TRUE(c.Command({"PULL", "big"}).str == value + "tail");
  // The same value through a raw socket in tiny pieces.
  RawConnection raw = daemon_->ConnectRaw(milliseconds(30000));
  std::string request = Resp({"SET", "big2", value});
  for (size_t at = 0; at < request.size(); at += 1024 * 1024 + 7) {
    ASSERT_TRUE(raw.Send(std::string_view(request).substr(at, 1024 * 1024 + 7)));
  }
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_TRUE(c.Command({"GET", "big2"}).str == value);
}

// ---------------------------------------------------------------------------------------------
// RESP3 (HELLO 3): reply shapes as raw bytes

TEST_F(ProtocolTest, HelloThreeAnswersAMapAndSwitchesTheProtocol) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  RespValue hello = raw.ReadValue();
  ASSERT_EQ(hello.type, '%');
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < hello.elements.size(); i += 2) {
    fields[hello.elements[i].text] = hello.elements[i + 1].text;
  }
  EXPECT_EQ(fields["server"], "redis");
  EXPECT_EQ(fields["proto"], "3");
  EXPECT_EQ(fields["mode"], "standalone");
  EXPECT_EQ(fields.count("id"), 1u);
  EXPECT_EQ(fields.count("version"), 1u);
}

TEST_F(ProtocolTest, ResponseShapesInRespThree) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  ASSERT_EQ(raw.ReadValue().type, '%');
  struct {
    std::vector<std::string> command;
    std::string reply;
  } steps[] = {
      {{"GET", "missing"}, "_\r\n"},
      {{"PULL", "missing"}, "_\r\n"},
      {{"PUT", "k", "v"}, "+OK\r\n"},
      {{"GET", "k"}, "$1\r\nv\r\n"},
      {{"GET", "missing", "dflt"}, "$4\r\ndflt\r\n"},
      {{"MANY", "k", "missing"}, "*2\r\n$1\r\nv\r\n_\r\n"},
      {{"MGET", "missing", "k"}, "*2\r\n_\r\n$1\r\nv\r\n"},
      {{"HAS", "k"}, ":1\r\n"},
      {{"SET", "k", "w", "NX"}, "_\r\n"},
      {{"TTL", "missing"}, ":-2\r\n"},
      {{"CONFIG", "GET", "maxclients"}, "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"},
      {{"INCRBYFLOAT", "f", "1.5"}, "$3\r\n1.5\r\n"},
      {{"NOSUCH"}, "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"},
  };
  for (const auto& step : steps) {
    ASSERT_TRUE(raw.Send(Resp(step.command)));
    EXPECT_EQ(raw.ReadRawValue(), step.reply) << Join(step.command);
  }
}

TEST_F(ProtocolTest, AbortedExecIsANullInRespThree) {
  RawConnection raw = daemon_->ConnectRaw();
  Client other = daemon_->Connect();
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  ASSERT_EQ(raw.ReadValue().type, '%');
  ASSERT_TRUE(raw.Send(Resp({"WATCH", "k"})));
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  ASSERT_EQ(Show(other.Command({"SET", "k", "theirs"})), "+OK");
  ASSERT_TRUE(raw.Send(Resp({"MULTI"}) + Resp({"SET", "k", "mine"}) + Resp({"EXEC"})));
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "+QUEUED\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "_\r\n");
  ASSERT_TRUE(raw.Send(Resp({"MULTI"}) + Resp({"GET", "missing"}) + Resp({"EXEC"})));
  EXPECT_EQ(raw.ReadRawValue(), "+OK\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "+QUEUED\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "*1\r\n_\r\n");
}

TEST_F(ProtocolTest, HelloTwoAndResetReturnToRespTwo) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"})));
  ASSERT_EQ(raw.ReadValue().type, '%');
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "2"})));
  EXPECT_EQ(raw.ReadValue().type, '*');
  ASSERT_TRUE(raw.Send(Resp({"GET", "missing"})));
  EXPECT_EQ(raw.ReadRawValue(), "$-1\r\n");
  ASSERT_TRUE(raw.Send(Resp({"HELLO", "3"}) + Resp({"RESET"}) + Resp({"GET", "missing"})));
  EXPECT_EQ(raw.ReadValue().type, '%');
  EXPECT_EQ(raw.ReadRawValue(), "+RESET\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "$-1\r\n");
}

TEST_F(ProtocolTest, RespTwoNullShapes) {
  RawConnection raw = daemon_->ConnectRaw();
  ASSERT_TRUE(raw.Send(Resp({"GET", "missing"}) + Resp({"MANY", "missing"}) +
                       Resp({"CONFIG", "GET", "maxclients"})));
  EXPECT_EQ(raw.ReadRawValue(), "$-1\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "*1\r\n$-1\r\n");
  EXPECT_EQ(raw.ReadRawValue(), "*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n");
}

}  // namespace
}  // namespace arvel::integration
