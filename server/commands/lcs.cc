#include "server/commands/lcs.h"

#include <algorithm>

namespace arvel::server {

namespace {

// LCS lengths of every pair of prefixes: at(i, j) for a[0..i) and b[0..j).
class LcsTable {
 public:
  LcsTable(std::string_view a, std::string_view b)
      : width_(b.size() + 1), cells_((a.size() + 1) * width_, 0) {
    for (size_t i = 1; i <= a.size(); ++i) {
      for (size_t j = 1; j <= b.size(); ++j) {
        cell(i, j) =
            a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
      }
    }
  }

  uint32_t at(size_t i, size_t j) const { return cells_[i * width_ + j]; }

 private:
  uint32_t& cell(size_t i, size_t j) { return cells_[i * width_ + j]; }

  size_t width_;
  std::vector<uint32_t> cells_;
};

}  // namespace

uint64_t LcsTableBytes(uint64_t a_size, uint64_t b_size) {
  return (a_size + 1) * (b_size + 1) * sizeof(uint32_t);
}

LcsResult LongestCommonSubsequence(std::string_view a, std::string_view b, int64_t min_match_len) {
  const LcsTable table(a, b);
  LcsResult result;
  result.length = table.at(a.size(), b.size());
  result.sequence.assign(result.length, '\0');
  // Walks back from the ends as Redis's lcsCommand does, so runs come out in its order.
  size_t i = a.size(), j = b.size(), left = result.length;
  bool open = false;
  LcsMatch run;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result.sequence[--left] = a[i - 1];
      if (!open) {
        run = {static_cast<uint32_t>(i - 1), static_cast<uint32_t>(i - 1),
               static_cast<uint32_t>(j - 1), static_cast<uint32_t>(j - 1)};
        open = true;
      } else {
        --run.a_first;  // the previous step matched a[i] and b[j]: the run grows backwards
        --run.b_first;
      }
      emit = run.a_first == 0 || run.b_first == 0;
      --i;
      --j;
    } else {
      if (table.at(i - 1, j) > table.at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      emit = open;
    }
    if (emit) {
      if (min_match_len <= 0 || run.length() >= min_match_len) result.matches.push_back(run);
      open = false;
    }
  }
  return result;
}

}  // namespace arvel::server
