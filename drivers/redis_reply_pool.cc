#include "drivers/redis_reply_pool.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace arvel::drivers {

namespace {

constexpr size_t kInlineBytes = 64;  // strings shorter than this live in the object
constexpr size_t kMaxFreeObjects = 4096;

struct PooledReply {
  redisReply reply;  // first: a redisReply* is a PooledReply*
  char inline_str[kInlineBytes];
  PooledReply* next_free;
};

class FreeList {
 public:
  ~FreeList() {
    while (head_ != nullptr) delete std::exchange(head_, head_->next_free);
  }
  PooledReply* Take() {
    if (head_ == nullptr) return new (std::nothrow) PooledReply;
    --size_;
    return std::exchange(head_, head_->next_free);
  }
  void Give(PooledReply* reply) {
    if (size_ == kMaxFreeObjects) {
      delete reply;
      return;
    }
    ++size_;
    reply->next_free = std::exchange(head_, reply);
  }

 private:
  PooledReply* head_ = nullptr;
  size_t size_ = 0;
};

thread_local FreeList free_list;

PooledReply* Of(redisReply* reply) { return reinterpret_cast<PooledReply*>(reply); }

redisReply* NewReply(int type) {
  PooledReply* pooled = free_list.Take();
  if (pooled == nullptr) return nullptr;
  redisReply* r = &pooled->reply;
  std::memset(r, 0, sizeof(*r));
  r->type = type;
  return r;
}

// A complete object becomes its parent's element (hiredis frees it through the parent then).
void* Linked(const redisReadTask* task, redisReply* r) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = r;
  }
  return r;
}

void FreeReply(void* object) {
  auto* r = static_cast<redisReply*>(object);
  if (r == nullptr) return;
  switch (r->type) {
    case REDIS_REPLY_ARRAY:
      if (r->element != nullptr) {
        for (size_t i = 0; i < r->elements; ++i) FreeReply(r->element[i]);
        std::free(r->element);
      }
      break;
    case REDIS_REPLY_ERROR:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_STRING:
      if (r->str != Of(r)->inline_str) std::free(r->str);
      break;
    default:
      break;
  }
  free_list.Give(Of(r));
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  redisReply* r = NewReply(task->type);
  if (r == nullptr) return nullptr;
  char* buf = Of(r)->inline_str;
  if (len >= kInlineBytes) {
    buf = static_cast<char*>(std::malloc(len + 1));
    if (buf == nullptr) {
      r->type = REDIS_REPLY_NIL;  // nothing to free but the object
      FreeReply(r);
      return nullptr;
    }
  }
  std::memcpy(buf, str, len);
  buf[len] = '\0';
  r->str = buf;
  r->len = len;
  return Linked(task, r);
}

void* CreateArray(const redisReadTask* task, int elements) {
  redisReply* r = NewReply(REDIS_REPLY_ARRAY);
  if (r == nullptr) return nullptr;
  if (elements > 0) {
    r->element = static_cast<redisReply**>(std::calloc(elements, sizeof(redisReply*)));
    if (r->element == nullptr) {
      FreeReply(r);
      return nullptr;
    }
  }
  r->elements = elements;
  return Linked(task, r);
}

void* CreateInteger(const redisReadTask* task, long long value) {
  redisReply* r = NewReply(REDIS_REPLY_INTEGER);
  if (r == nullptr) return nullptr;
  r->integer = value;
  return Linked(task, r);
}

void* CreateNil(const redisReadTask* task) {
  redisReply* r = NewReply(REDIS_REPLY_NIL);
  return r == nullptr ? nullptr : Linked(task, r);
}

redisReplyObjectFunctions kPooled = {CreateString, CreateArray, CreateInteger, CreateNil,
                                     FreeReply};

}  // namespace

void UsePooledReplies(redisReader* reader) { reader->fn = &kPooled; }

}  // namespace arvel::drivers
