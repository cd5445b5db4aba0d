// Micro-benchmarks of the protocol layer alone: parsing a pipelined batch of GET/SET requests
// as a connection would (one buffer, requests taken off the front with consumed()), and
// writing the matching replies. No main() here: the binary links benchmark_main.

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_parser.h"
#include "protocol/resp_writer.h"

namespace arvel::protocol {
namespace {

std::string Multibulk(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  ReplyWriter(&out, RespVersion::kResp2).BulkArray(views.data(), views.size());
  return out;
}

// `n` requests alternating SET key:i <value_size bytes> and GET key:i, as redis-benchmark -P.
std::string GetSetBatch(int n, size_t value_size) {
  std::string batch;
  for (int i = 0; i < n; ++i) {
    std::string key = "key:" + std::to_string(i / 2);
    batch +=
        i % 2 ? Multibulk({"GET", key}) : Multibulk({"SET", key, std::string(value_size, 'v')});
  }
  return batch;
}

void BM_ParsePipelinedGetSet(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string batch = GetSetBatch(n, static_cast<size_t>(state.range(1)));
  RequestParser parser;
  for (auto _ : state) {
    std::string_view rest = batch;
    while (parser.Parse(rest) == ParseStatus::kOk) {
      benchmark::DoNotOptimize(parser.args().data());
      rest.remove_prefix(parser.consumed());
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}
BENCHMARK(BM_ParsePipelinedGetSet)->Args({16, 32})->Args({100, 32})->Args({100, 4096});

void BM_ParseInlineBatch(benchmark::State& state) {
  std::string batch;
  for (int i = 0; i < 100; ++i) batch += "GET key:" + std::to_string(i) + "\r\n";
  RequestParser parser;
  for (auto _ : state) {
    std::string_view rest = batch;
    while (parser.Parse(rest) == ParseStatus::kOk) rest.remove_prefix(parser.consumed());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ParseInlineBatch);

// One large SET arriving in 16 KiB reads: the cost of resuming a partial request.
void BM_ParseLargeBulkInReads(benchmark::State& state) {
  const std::string request = Multibulk({"SET", "big", std::string(1 << 20, 'v')});
  constexpr size_t kRead = 16 * 1024;
  for (auto _ : state) {
    RequestParser parser;
    for (size_t end = kRead;; end += kRead) {
      if (parser.Parse(std::string_view(request).substr(0, end)) == ParseStatus::kOk) break;
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(request.size()));
}
BENCHMARK(BM_ParseLargeBulkInReads);

// Replies for a GET/SET batch: +OK for each SET, the value (or nil) for each GET.
void BM_WriteGetSetReplies(benchmark::State& state) {
  const auto version = static_cast<RespVersion>(state.range(0));
  const std::string value(32, 'v');
  std::string out;
  for (auto _ : state) {
    out.clear();
    ReplyWriter writer(&out, version);
    for (int i = 0; i < 100; ++i) {
      if (i % 2 == 0) {
        writer.Ok();
      } else if (i % 10 == 9) {
        writer.Null();
      } else {
        writer.Bulk(value);
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_WriteGetSetReplies)->Arg(2)->Arg(3);

void BM_WriteIntegers(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    ReplyWriter writer(&out, RespVersion::kResp2);
    for (int64_t i = 0; i < 100; ++i) writer.Integer(i * 1000003 - 50000000);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_WriteIntegers);

void BM_FormatDouble(benchmark::State& state) {
  const double values[] = {1.5, 3.0, 0.1, 1e20, 3.141592653589793, -2.5e-300, 1234.5678};
  for (auto _ : state) {
    for (double d : values) benchmark::DoNotOptimize(FormatDouble(d));
  }
  state.SetItemsProcessed(state.iterations() * 7);
}
BENCHMARK(BM_FormatDouble);

}  // namespace
}  // namespace arvel::protocol
