// Pooled reply objects (drivers/redis_reply_pool.h) read what hiredis's own functions read:
// nested arrays, short (inline) and long strings, integers, nils, errors; and released objects
// are used again.

#include "drivers/redis_reply_pool.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

namespace arvel::drivers {
namespace {

redisReply* Read(redisReader* reader, const std::string& bytes) {
  EXPECT_EQ(redisReaderFeed(reader, bytes.data(), bytes.size()), REDIS_OK);
  void* reply = nullptr;
  EXPECT_EQ(redisReaderGetReply(reader, &reply), REDIS_OK);
  return static_cast<redisReply*>(reply);
}

TEST(RedisReplyPoolTest, ReadsEveryShapeAndReusesObjects) {
  redisReader* reader = redisReaderCreate();
  UsePooledReplies(reader);
  const std::string long_value(200, 'x');
  redisReply* r = Read(reader, "*5\r\n$3\r\nabc\r\n$200\r\n" + long_value +
                                   "\r\n:-42\r\n$-1\r\n*2\r\n+OK\r\n-ERR no\r\n");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(r->elements, 5u);
  EXPECT_EQ(std::string(r->element[0]->str, r->element[0]->len), "abc");
  EXPECT_EQ(std::string(r->element[1]->str, r->element[1]->len), long_value);
  EXPECT_EQ(r->element[1]->str[200], '\0');
  EXPECT_EQ(r->element[2]->type, REDIS_REPLY_INTEGER);
  EXPECT_EQ(r->element[2]->integer, -42);
  EXPECT_EQ(r->element[3]->type, REDIS_REPLY_NIL);
  const redisReply* inner = r->element[4];
  ASSERT_EQ(inner->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(inner->element[0]->type, REDIS_REPLY_STATUS);
  EXPECT_EQ(std::string(inner->element[0]->str), "OK");
  EXPECT_EQ(inner->element[1]->type, REDIS_REPLY_ERROR);
  EXPECT_EQ(std::string(inner->element[1]->str), "ERR no");
  const void* top = r;
  reader->fn->freeObject(r);

  // The objects come back from the free list, the last one released (the array) first.
  redisReply* again = Read(reader, "$5\r\nhello\r\n");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(std::string(again->str, again->len), "hello");
  EXPECT_EQ(static_cast<const void*>(again), top);
  reader->fn->freeObject(again);

  redisReply* empty = Read(reader, "*0\r\n");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->elements, 0u);
  reader->fn->freeObject(empty);
  redisReaderFree(reader);
}

}  // namespace
}  // namespace arvel::drivers
