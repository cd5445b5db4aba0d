#pragma once
// LCS: the longest common subsequence of two strings by Redis 7's dynamic programming, with the
// matched ranges in the order and shape Redis reports them (the IDX reply).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arvel::server {

// One run of consecutive matched bytes: a[a_first..a_last] == b[b_first..b_last].
struct LcsMatch {
  uint32_t a_first = 0;
  uint32_t a_last = 0;
  uint32_t b_first = 0;
  uint32_t b_last = 0;
  uint32_t length() const { return a_last - a_first + 1; }
};

struct LcsResult {
  std::string sequence;           // the common subsequence itself
  std::vector<LcsMatch> matches;  // runs at least min_match_len long, the last run first
  uint32_t length = 0;            // of the sequence
};

// Bytes of transient table LongestCommonSubsequence needs for strings of these sizes (Redis
// refuses LCS when this exceeds proto-max-bulk-len).
uint64_t LcsTableBytes(uint64_t a_size, uint64_t b_size);

// REQUIRES: both sizes below UINT32_MAX - 1. `min_match_len` <= 0 keeps every run.
LcsResult LongestCommonSubsequence(std::string_view a, std::string_view b, int64_t min_match_len);

}  // namespace arvel::server
