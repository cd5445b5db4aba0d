#pragma once
// Reply objects for hiredis's reader, from a free list instead of two allocations per reply
// (hiredis 0.14 callocs every redisReply and mallocs its string): under a pipelined load a
// proxy reads hundreds of replies per loop turn and frees them right after their callbacks, so
// the same few thousand objects serve over and over. A string of up to 63 bytes lives inside its
// object; a longer one, and an array's element vector, are allocated as hiredis does. The
// objects are the same redisReply structs hiredis makes, released through the reader's own
// freeObject, which hiredis always calls (never freeReplyObject) for replies it read.
//
// Each thread keeps its own free list (at most a few thousand objects, freed when the thread
// ends); a reply may be released on another thread than the one that read it.

#include <hiredis/hiredis.h>

namespace arvel::drivers {

// Makes `reader` build its replies with the pooled functions. Call before it reads anything.
void UsePooledReplies(redisReader* reader);

}  // namespace arvel::drivers
