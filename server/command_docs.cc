#include "server/command_docs.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>

#include "server/command.h"

namespace arvel::server {

namespace {

// ---- Tokens ----------------------------------------------------------------------------------

struct Token {
  enum class Kind : uint8_t { kWord, kOpen, kClose, kBar, kEllipsis };
  Kind kind;
  std::string_view text;  // kWord
};

bool IsSpecial(char c) { return std::string_view("[]()<>|").find(c) != std::string_view::npos; }

// "..." or the Unicode ellipsis "…" (U+2026), which syntax lines written by hand often use.
size_t EllipsisLength(std::string_view s) {
  if (s.substr(0, 3) == "...") return 3;
  if (s.substr(0, 3) == "\xE2\x80\xA6") return 3;
  return 0;
}

std::vector<Token> Tokenize(std::string_view syntax) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < syntax.size()) {
    char c = syntax[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (size_t n = EllipsisLength(syntax.substr(i))) {
      tokens.push_back({Token::Kind::kEllipsis, {}});
      i += n;
    } else if (c == '[' || c == '(' || c == '<') {
      tokens.push_back({Token::Kind::kOpen, syntax.substr(i, 1)});
      ++i;
    } else if (c == ']' || c == ')' || c == '>') {
      tokens.push_back({Token::Kind::kClose, syntax.substr(i, 1)});
      ++i;
    } else if (c == '|') {
      tokens.push_back({Token::Kind::kBar, {}});
      ++i;
    } else {
      size_t start = i;
      while (i < syntax.size() && !std::isspace(static_cast<unsigned char>(syntax[i])) &&
             !IsSpecial(syntax[i]) && EllipsisLength(syntax.substr(i)) == 0) {
        ++i;
      }
      tokens.push_back({Token::Kind::kWord, syntax.substr(start, i - start)});
    }
  }
  return tokens;
}

// ---- Syntax tree -----------------------------------------------------------------------------

struct Node;
using Sequence = std::vector<Node>;

struct Node {
  std::string_view word;               // a word when `alternatives` is empty
  std::vector<Sequence> alternatives;  // a group
  bool group = false;
  bool optional = false;  // [ … ]
  bool repeat = false;    // followed by "..."
};

class SyntaxParser {
 public:
  explicit SyntaxParser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  // Alternatives up to the matching closer (or the end: unbalanced groups close implicitly).
  std::vector<Sequence> Alternatives(bool nested) {
    std::vector<Sequence> alternatives(1);
    while (pos_ < tokens_.size()) {
      const Token& token = tokens_[pos_++];
      Sequence& current = alternatives.back();
      switch (token.kind) {
        case Token::Kind::kWord: {
          Node word;
          word.word = token.text;
          current.push_back(std::move(word));
          break;
        }
        case Token::Kind::kOpen: {
          Node group;
          group.group = true;
          group.optional = token.text == "[";
          group.alternatives = Alternatives(true);
          current.push_back(std::move(group));
          break;
        }
        case Token::Kind::kClose:
          if (nested) return Trim(std::move(alternatives));
          break;  // a stray closer at the top level is ignored
        case Token::Kind::kBar:
          alternatives.emplace_back();
          break;
        case Token::Kind::kEllipsis:
          if (!current.empty()) current.back().repeat = true;
          break;
      }
    }
    return Trim(std::move(alternatives));
  }

 private:
  // "a | | b" and a trailing "|" leave empty alternatives behind; they mean nothing.
  static std::vector<Sequence> Trim(std::vector<Sequence> alternatives) {
    std::erase_if(alternatives, [](const Sequence& s) { return s.empty(); });
    return alternatives;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

// ---- Argument docs ---------------------------------------------------------------------------

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// An upper-case word is a literal token: "EX", "NO-EVICT", "LIB-NAME".
bool IsTokenWord(std::string_view word) {
  bool letter = false;
  for (char c : word) {
    if (std::islower(static_cast<unsigned char>(c))) return false;
    letter = letter || std::isupper(static_cast<unsigned char>(c));
  }
  return letter;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The Redis argument type a name implies. Names are the contract here: "ttl" is an integer
// wherever it appears, "key" a key, "pattern" a glob.
std::string TypeForName(std::string_view name) {
  static constexpr std::string_view kKeys[] = {"key",  "newkey", "source",
                                               "key1", "key2",   "destination"};
  static constexpr std::string_view kIntegers[] = {
      "ttl",           "seconds",   "milliseconds", "timeout",   "count",        "by",
      "amount",        "decay",     "period",       "quantity",  "index",        "cursor",
      "offset",        "start",     "end",          "lease",     "id",           "protover",
      "numkeys",       "limit",     "increment",    "decrement", "max_attempts", "max-attempts",
      "max_burst",     "max-burst", "db",           "port",      "bit",          "min-match-len",
      "destination-db"};
  static constexpr std::string_view kTimes[] = {"unix-time-seconds", "unix-time-milliseconds",
                                                "timestamp"};
  auto in = [&](auto& list) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
  };
  if (in(kKeys)) return "key";
  if (in(kTimes)) return "unix-time";
  if (in(kIntegers) || EndsWith(name, "seconds") || EndsWith(name, "milliseconds")) {
    return "integer";
  }
  if (name.find("float") != std::string_view::npos || name == "double") return "double";
  if (name == "pattern" || EndsWith(name, "pattern")) return "pattern";
  return "string";
}

ArgumentDoc WordArgument(std::string_view word) {
  ArgumentDoc arg;
  if (IsTokenWord(word)) {
    arg.name = Lower(word);
    arg.type = "pure-token";
    arg.token = std::string(word);
  } else {
    arg.name = std::string(word);
    arg.type = TypeForName(word);
  }
  return arg;
}

// A name for a oneof or block without a token, from its members: "seconds-milliseconds".
std::string JoinedName(const std::vector<ArgumentDoc>& members) {
  std::string name;
  for (const ArgumentDoc& m : members) {
    if (!name.empty()) name += '-';
    name += m.name;
  }
  return name;
}

ArgumentDoc Block(std::vector<ArgumentDoc> members) {
  ArgumentDoc block;
  block.name = JoinedName(members);
  block.type = "block";
  block.arguments = std::move(members);
  return block;
}

// Inside a group, a leading token belongs to what follows it: "EX seconds" is the argument
// `seconds` introduced by EX; "LIMIT offset count" a block introduced by LIMIT.
std::vector<ArgumentDoc> AttachLeadingToken(std::vector<ArgumentDoc> args) {
  if (args.size() < 2 || args[0].type != "pure-token" || args[0].optional || args[0].multiple) {
    return args;
  }
  std::string token = args[0].token;
  std::vector<ArgumentDoc> rest(std::make_move_iterator(args.begin() + 1),
                                std::make_move_iterator(args.end()));
  if (rest.size() == 1 && rest[0].token.empty() && !rest[0].optional) {
    rest[0].token = std::move(token);
    return rest;
  }
  ArgumentDoc block = Block(std::move(rest));
  block.name = Lower(token);
  block.token = std::move(token);
  return {std::move(block)};
}

std::vector<ArgumentDoc> Convert(const Sequence& sequence);

// One alternative of a group as a single argument: itself, or a block of its members.
ArgumentDoc Unit(const Sequence& sequence) {
  std::vector<ArgumentDoc> args = AttachLeadingToken(Convert(sequence));
  if (args.size() == 1) return std::move(args[0]);
  return Block(std::move(args));
}

// A group ending in "..." is a repetition. Right after what it repeats ("key [key ...]",
// "key value [key value ...]") it folds into the preceding arguments: one or more. Alone
// ("[key ...]") it is zero or more. Returns false if `group` is not a repetition.
bool FoldRepetition(const Node& group, std::vector<ArgumentDoc>& out) {
  if (group.alternatives.size() != 1 || !group.alternatives[0].back().repeat) return false;
  Sequence unit_nodes = group.alternatives[0];
  unit_nodes.back().repeat = false;
  std::vector<ArgumentDoc> unit = Convert(unit_nodes);
  bool follows_unit =
      unit.size() <= out.size() && std::equal(unit.begin(), unit.end(), out.end() - unit.size());
  if (follows_unit) out.erase(out.end() - unit.size(), out.end());
  ArgumentDoc arg = Unit(unit_nodes);
  arg.multiple = true;
  arg.optional = !follows_unit && group.optional;
  out.push_back(std::move(arg));
  return true;
}

ArgumentDoc GroupArgument(const Node& group) {
  ArgumentDoc arg;
  if (group.alternatives.size() == 1) {
    arg = Unit(group.alternatives[0]);
  } else {
    arg.type = "oneof";
    for (const Sequence& alternative : group.alternatives) {
      arg.arguments.push_back(Unit(alternative));
    }
    arg.name = JoinedName(arg.arguments);
  }
  arg.optional = arg.optional || group.optional;
  arg.multiple = arg.multiple || group.repeat;
  return arg;
}

std::vector<ArgumentDoc> Convert(const Sequence& sequence) {
  std::vector<ArgumentDoc> out;
  for (const Node& node : sequence) {
    if (!node.group) {
      out.push_back(WordArgument(node.word));
      out.back().multiple = node.repeat;
    } else if (node.alternatives.empty()) {
      continue;  // "[]"
    } else if (!FoldRepetition(node, out)) {
      out.push_back(GroupArgument(node));
    }
  }
  return out;
}

// ---- Rendering (as redis-cli's cliAddArgument) ---------------------------------------------

std::string RenderArgument(const ArgumentDoc& arg) {
  std::string repeat;
  if (arg.type == "oneof" || arg.type == "block") {
    for (size_t i = 0; i < arg.arguments.size(); ++i) {
      if (i > 0) repeat += arg.type == "oneof" ? "|" : " ";
      repeat += RenderArgument(arg.arguments[i]);
    }
  } else if (arg.type != "pure-token") {
    repeat = arg.name;
  }
  std::string token = arg.token;
  if (!token.empty() && arg.type != "pure-token") token += ' ';
  std::string out = arg.optional ? "[" : "";
  out += token + repeat;
  if (arg.multiple) out += " [" + repeat + " ...]";
  if (arg.optional) out += "]";
  return out;
}

// ---- Subcommands ---------------------------------------------------------------------------

// Fewest words an argument takes, and whether it can take more.
struct WordCount {
  int min = 0;
  bool variable = false;
};

WordCount WordsOf(const ArgumentDoc& arg) {
  WordCount span;
  if (arg.type == "block") {
    for (const ArgumentDoc& m : arg.arguments) {
      WordCount s = WordsOf(m);
      span.min += s.min;
      span.variable = span.variable || s.variable;
    }
  } else if (arg.type == "oneof") {
    span.min = -1;
    for (const ArgumentDoc& m : arg.arguments) {
      WordCount s = WordsOf(m);
      if (span.min >= 0 && s.min != span.min) span.variable = true;
      span.min = span.min < 0 ? s.min : std::min(span.min, s.min);
      span.variable = span.variable || s.variable;
    }
    span.min = std::max(span.min, 0);
  } else {
    span.min = 1;
  }
  if (!arg.token.empty() && arg.type != "pure-token") span.min += 1;
  if (arg.optional) {
    span.min = 0;
    span.variable = true;
  }
  if (arg.multiple) span.variable = true;
  return span;
}

int ArityOf(const std::vector<ArgumentDoc>& args, int words_before) {
  WordCount total{words_before, false};
  for (const ArgumentDoc& arg : args) {
    WordCount s = WordsOf(arg);
    total.min += s.min;
    total.variable = total.variable || s.variable;
  }
  return total.variable ? -total.min : total.min;
}

// A choice between token-led alternatives, at least one of which takes arguments: "GET
// parameter | RESETSTAT" lists subcommands, while "[ASYNC|SYNC]" or "ON|OFF" are options.
bool IsContainer(const std::vector<ArgumentDoc>& args) {
  if (args.size() != 1 || args[0].type != "oneof" || args[0].multiple) return false;
  const std::vector<ArgumentDoc>& alternatives = args[0].arguments;
  return std::all_of(alternatives.begin(), alternatives.end(),
                     [](const ArgumentDoc& alt) { return !alt.token.empty() && !alt.optional; }) &&
         std::any_of(alternatives.begin(), alternatives.end(),
                     [](const ArgumentDoc& alt) { return alt.type != "pure-token"; });
}

SubcommandDoc Subcommand(const ArgumentDoc& alternative) {
  SubcommandDoc sub;
  sub.name = Lower(alternative.token);
  if (alternative.type == "block" && !alternative.multiple) {
    sub.arguments = alternative.arguments;
  } else if (alternative.type != "pure-token") {
    ArgumentDoc value = alternative;
    value.token.clear();
    sub.arguments.push_back(std::move(value));
  }
  sub.arity = ArityOf(sub.arguments, 2);
  return sub;
}

}  // namespace

CommandDoc BuildCommandDoc(const CommandSpec& spec) {
  CommandDoc doc;
  doc.spec = &spec;
  doc.arguments = ParseSyntax(spec.syntax);
  if (!IsContainer(doc.arguments)) return doc;
  // The container itself lists just the subcommand tokens, so redis-cli hints "LOCK " with
  // "ACQUIRE|BLOCK|…" and, once a subcommand is typed, that subcommand's own arguments.
  ArgumentDoc choice;
  choice.name = "subcommand";
  choice.type = "oneof";
  choice.optional = doc.arguments[0].optional;  // COMMAND alone is a command too
  for (const ArgumentDoc& alternative : doc.arguments[0].arguments) {
    doc.subcommands.push_back(Subcommand(alternative));
    choice.arguments.push_back(WordArgument(alternative.token));
  }
  doc.arguments = {std::move(choice)};
  return doc;
}

namespace {

// ---- Replies -------------------------------------------------------------------------------

void WriteStatusSet(protocol::ReplyWriter& w, const std::vector<std::string_view>& items) {
  w.SetHeader(items.size());
  for (std::string_view item : items) w.Simple(item);
}

void WriteArgument(protocol::ReplyWriter& w, const ArgumentDoc& arg, bool has_key_spec) {
  bool key_spec = has_key_spec && arg.type == "key";
  std::vector<std::string_view> flags;
  if (arg.optional) flags.push_back("optional");
  if (arg.multiple) flags.push_back("multiple");
  bool nested = arg.type == "oneof" || arg.type == "block";
  w.MapHeader(2 + key_spec + !arg.token.empty() + !flags.empty() + nested);
  w.Bulk("name");
  w.Bulk(arg.name);
  w.Bulk("type");
  w.Bulk(arg.type);
  if (key_spec) {
    w.Bulk("key_spec_index");
    w.Integer(0);
  }
  if (!arg.token.empty()) {
    w.Bulk("token");
    w.Bulk(arg.token);
  }
  if (!flags.empty()) {
    w.Bulk("flags");
    WriteStatusSet(w, flags);
  }
  if (nested) {
    w.Bulk("arguments");
    w.ArrayHeader(arg.arguments.size());
    for (const ArgumentDoc& m : arg.arguments) WriteArgument(w, m, has_key_spec);
  }
}

void WriteArgumentList(protocol::ReplyWriter& w, const std::vector<ArgumentDoc>& args,
                       bool has_key_spec) {
  w.ArrayHeader(args.size());
  for (const ArgumentDoc& arg : args) WriteArgument(w, arg, has_key_spec);
}

// summary, since, group and (when there are any) arguments: the fields redis-cli reads.
void WriteDocFields(protocol::ReplyWriter& w, const CommandSpec& spec,
                    const std::vector<ArgumentDoc>& args, bool has_subcommands) {
  w.MapHeader(3 + !args.empty() + has_subcommands);
  w.Bulk("summary");
  w.Bulk(spec.summary);
  w.Bulk("since");
  w.Bulk(ARVEL_VERSION);  // the arvel-cached release the command appeared in
  w.Bulk("group");
  w.Bulk(spec.group);
  if (!args.empty()) {
    w.Bulk("arguments");
    WriteArgumentList(w, args, spec.first_key > 0);
  }
}

std::vector<std::string_view> FlagNames(uint32_t flags) {
  static constexpr std::pair<CommandFlag, std::string_view> kNames[] = {
      {kWrite, "write"},    {kReadOnly, "readonly"}, {kAdmin, "admin"}, {kBlocking, "blocking"},
      {kNoAuth, "no_auth"}, {kNoMulti, "no_multi"},  {kFast, "fast"},
      {kNumKeys, "movablekeys"}};
  std::vector<std::string_view> names;
  for (const auto& [flag, name] : kNames) {
    if (flags & flag) names.push_back(name);
  }
  return names;
}

void WriteKeySpecs(protocol::ReplyWriter& w, const CommandSpec& spec) {
  if (spec.first_key <= 0) {
    w.ArrayHeader(0);
    return;
  }
  bool write = spec.flags & kWrite;
  w.ArrayHeader(1);
  w.MapHeader(3);
  w.Bulk("flags");
  WriteStatusSet(w, {write ? "RW" : "RO", write ? "update" : "access"});
  w.Bulk("begin_search");
  w.MapHeader(2);
  w.Bulk("type");
  w.Bulk("index");
  w.Bulk("spec");
  w.MapHeader(1);
  w.Bulk("index");
  w.Integer(spec.first_key);
  w.Bulk("find_keys");
  w.MapHeader(2);
  w.Bulk("type");
  w.Bulk("range");
  w.Bulk("spec");
  w.MapHeader(3);
  w.Bulk("lastkey");
  // Redis counts the last key from the first one; negative values count from the end.
  w.Integer(spec.last_key >= 0 ? spec.last_key - spec.first_key : spec.last_key);
  w.Bulk("keystep");
  w.Integer(spec.key_step);
  w.Bulk("limit");
  w.Integer(0);
}

void WriteInfoEntry(protocol::ReplyWriter& w, const CommandSpec& spec, std::string_view name,
                    int arity, bool with_keys, const std::vector<SubcommandDoc>* subcommands);

void WriteSubcommandInfo(protocol::ReplyWriter& w, const CommandSpec& spec,
                         const SubcommandDoc& sub) {
  WriteInfoEntry(w, spec, std::string(spec.name) + "|" + sub.name, sub.arity, false, nullptr);
}

void WriteInfoEntry(protocol::ReplyWriter& w, const CommandSpec& spec, std::string_view name,
                    int arity, bool with_keys, const std::vector<SubcommandDoc>* subcommands) {
  w.ArrayHeader(10);
  w.Bulk(name);
  w.Integer(arity);
  WriteStatusSet(w, FlagNames(spec.flags));
  w.Integer(with_keys ? spec.first_key : 0);
  w.Integer(with_keys ? spec.last_key : 0);
  w.Integer(with_keys ? spec.key_step : 0);
  WriteStatusSet(w, AclCategories(spec));
  w.SetHeader(0);  // tips
  if (with_keys) {
    WriteKeySpecs(w, spec);
  } else {
    w.ArrayHeader(0);
  }
  if (subcommands == nullptr) {
    w.ArrayHeader(0);
    return;
  }
  w.ArrayHeader(subcommands->size());
  for (const SubcommandDoc& sub : *subcommands) WriteSubcommandInfo(w, spec, sub);
}

}  // namespace

std::vector<ArgumentDoc> ParseSyntax(std::string_view syntax) {
  std::vector<Sequence> top = SyntaxParser(Tokenize(syntax)).Alternatives(false);
  if (top.empty()) return {};
  if (top.size() == 1) return Convert(top[0]);
  // "a | b" across the whole syntax: one required choice.
  Node group;
  group.group = true;
  group.alternatives = std::move(top);
  return {GroupArgument(group)};
}

std::string RenderArguments(const std::vector<ArgumentDoc>& arguments) {
  std::string out;
  for (const ArgumentDoc& arg : arguments) {
    if (!out.empty()) out += ' ';
    out += RenderArgument(arg);
  }
  return out;
}

const CommandDoc& DocFor(const CommandSpec& spec) {
  // Keyed by the spec's address: specs live in the process-wide command table.
  static std::mutex mu;
  static std::map<const CommandSpec*, CommandDoc> docs;  // GUARDED_BY(mu); entries never move
  std::lock_guard<std::mutex> lock(mu);
  auto it = docs.find(&spec);
  if (it == docs.end()) it = docs.emplace(&spec, BuildCommandDoc(spec)).first;
  return it->second;
}

void WriteArguments(protocol::ReplyWriter& w, const std::vector<ArgumentDoc>& arguments) {
  WriteArgumentList(w, arguments, false);
}

void WriteCommandDoc(protocol::ReplyWriter& w, const CommandDoc& doc) {
  const CommandSpec& spec = *doc.spec;
  bool has_subcommands = !doc.subcommands.empty();
  WriteDocFields(w, spec, doc.arguments, has_subcommands);
  if (!has_subcommands) return;
  w.Bulk("subcommands");
  w.MapHeader(doc.subcommands.size());
  for (const SubcommandDoc& sub : doc.subcommands) {
    w.Bulk(std::string(spec.name) + "|" + sub.name);
    WriteSubcommandDoc(w, doc, sub);
  }
}

const SubcommandDoc* FindSubcommand(const CommandDoc& doc, std::string_view name) {
  for (const SubcommandDoc& sub : doc.subcommands) {
    if (sub.name == Lower(name)) return &sub;
  }
  return nullptr;
}

void WriteSubcommandDoc(protocol::ReplyWriter& w, const CommandDoc& doc, const SubcommandDoc& sub) {
  WriteDocFields(w, *doc.spec, sub.arguments, false);
}

void WriteSubcommandInfo(protocol::ReplyWriter& w, const CommandDoc& doc,
                         const SubcommandDoc& sub) {
  WriteSubcommandInfo(w, *doc.spec, sub);
}

void WriteCommandInfo(protocol::ReplyWriter& w, const CommandDoc& doc) {
  const CommandSpec& spec = *doc.spec;
  WriteInfoEntry(w, spec, spec.name, spec.arity, true, &doc.subcommands);
}

std::vector<std::string_view> AclCategories(const CommandSpec& spec) {
  std::vector<std::string_view> categories;
  if (spec.flags & kWrite) categories.push_back("@write");
  if (spec.flags & kReadOnly) categories.push_back("@read");
  static constexpr std::pair<std::string_view, std::string_view> kGroups[] = {
      {"string", "@string"},
      {"bitmap", "@bitmap"},
      {"generic", "@keyspace"},
      {"connection", "@connection"},
      {"transactions", "@transaction"},
      {"scripting", "@scripting"}};
  for (const auto& [group, category] : kGroups) {
    if (spec.group == group) categories.push_back(category);
  }
  if (spec.flags & kAdmin) categories.push_back("@admin");
  categories.push_back(spec.flags & kFast ? "@fast" : "@slow");
  if (spec.flags & kAdmin) categories.push_back("@dangerous");
  if (spec.flags & kBlocking) categories.push_back("@blocking");
  return categories;
}

}  // namespace arvel::server
