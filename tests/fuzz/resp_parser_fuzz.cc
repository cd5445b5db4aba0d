// libFuzzer target for RequestParser (and, on the side, ReplyWriter / FormatDouble).
//
// Input layout: byte 0 picks the limits and seeds the read chunking; the rest is what a client
// sent. Each input is parsed twice — in one buffer and in pseudo-random reads, each handed over
// in a fresh heap copy that is freed right after — and both runs must agree exactly. Every
// request is then re-encoded as a multibulk and must parse back to the same arguments. Any
// disagreement traps; sanitizers catch reads past a buffer or through a stale pointer.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_parser.h"
#include "protocol/resp_writer.h"

namespace {

using arvel::protocol::FormatDouble;
using arvel::protocol::ParserLimits;
using arvel::protocol::ParseStatus;
using arvel::protocol::ReplyWriter;
using arvel::protocol::RequestParser;
using arvel::protocol::RespVersion;

using Request = std::vector<std::string>;

struct Outcome {
  std::vector<Request> requests;
  ParseStatus last = ParseStatus::kIncomplete;
  std::string error;
  bool operator==(const Outcome&) const = default;
};

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// Small limits make the limit paths reachable with short inputs.
ParserLimits PickLimits(uint8_t config) {
  if ((config & 1) == 0) return {};
  return {.max_bulk_len = 64, .max_multibulk = 8, .max_inline_len = 32};
}

// Runs the parser until it needs more bytes; returns false once it failed.
bool Drain(RequestParser* parser, std::string* pending, Outcome* out) {
  while (true) {
    auto copy = std::make_unique<std::string>(*pending);  // a new address on every call
    out->last = parser->Parse(*copy);
    if (out->last == ParseStatus::kError) {
      out->error = parser->error();
      Check(!out->error.empty() && parser->args().empty());
      return false;
    }
    if (out->last == ParseStatus::kIncomplete) {
      Check(parser->consumed() == 0 && parser->args().empty());
      return true;
    }
    Check(parser->consumed() > 0 && parser->consumed() <= copy->size());
    out->requests.emplace_back(parser->args().begin(), parser->args().end());
    pending->erase(0, parser->consumed());
  }
}

// chunk_seed 0: the whole input in one read.
Outcome Parse(std::string_view input, ParserLimits limits, uint32_t chunk_seed) {
  RequestParser parser(limits);
  Outcome out;
  std::string pending;
  size_t offset = 0;
  while (offset < input.size()) {
    size_t chunk = input.size();
    if (chunk_seed != 0) {
      chunk_seed = chunk_seed * 1103515245 + 12345;
      if (chunk_seed % 4 != 0) chunk = 1 + (chunk_seed >> 16) % 17;
    }
    chunk = std::min(chunk, input.size() - offset);
    pending.append(input.substr(offset, chunk));
    offset += chunk;
    if (!Drain(&parser, &pending, &out)) return out;
  }
  return out;
}

void CheckReencodes(const Request& request) {
  std::vector<std::string_view> views(request.begin(), request.end());
  std::string wire;
  ReplyWriter(&wire, RespVersion::kResp2).BulkArray(views.data(), views.size());
  RequestParser parser;
  Check(parser.Parse(wire) == ParseStatus::kOk);
  Check(parser.consumed() == wire.size());
  Check(Request(parser.args().begin(), parser.args().end()) == request);
}

// A status or error line must stay one line whatever bytes it was given.
void CheckOneLine(const std::string& arg, bool error) {
  std::string out;
  ReplyWriter writer(&out, RespVersion::kResp3);
  error ? writer.Error(arg) : writer.Simple(arg);
  Check(out.size() == arg.size() + 3 && out.find_first_of("\r\n") == out.size() - 2);
}

// Feeds arguments through the other writer methods so the sanitizers see them too.
void ExerciseWriter(const Request& request) {
  for (RespVersion version : {RespVersion::kResp2, RespVersion::kResp3}) {
    std::string out;
    ReplyWriter writer(&out, version);
    writer.MapHeader(request.size());
    for (const std::string& arg : request) {
      writer.Verbatim(arg, arg.size() >= 3 ? std::string_view(arg).substr(0, 3) : "txt");
      writer.Integer(static_cast<int64_t>(arg.size()));
    }
  }
  for (const std::string& arg : request) {
    CheckOneLine(arg, true);
    CheckOneLine(arg, false);
  }
}

void CheckDouble(const uint8_t* data, size_t size) {
  if (size < sizeof(double)) return;
  double d = 0;
  std::memcpy(&d, data, sizeof d);
  std::string text = FormatDouble(d);
  Check(!text.empty() && text.size() <= 25);
  if (std::isnan(d)) return Check(text == "nan");
  double back = std::strtod(text.c_str(), nullptr);
  Check(std::memcmp(&back, &d, sizeof d) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t config = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  ParserLimits limits = PickLimits(config);

  Outcome whole = Parse(input, limits, 0);
  Outcome chunked = Parse(input, limits, config | 0x100u);
  Check(whole == chunked);

  for (const Request& request : whole.requests) {
    CheckReencodes(request);
    ExerciseWriter(request);
  }
  CheckDouble(data + 1, size - 1);
  return 0;
}
