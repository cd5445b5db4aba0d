#pragma once
// Command documentation derived from the command table, for COMMAND DOCS / COMMAND INFO.
//
// Every CommandSpec carries its arguments as a one-line syntax, the way Redis's manual writes
// them: "key [EX seconds|PX milliseconds] [NX|XX]". ParseSyntax turns that mini-language into
// the argument tree Redis 7 reports in COMMAND DOCS, which redis-cli 7 renders back as the hint
// shown while typing. The language:
//   word          lower case: an argument; its type (key, integer, pattern…) follows from its name
//   WORD          upper case: a literal token (pure-token); a token followed by one argument
//                 inside a group becomes that argument's `token` ("[EX seconds]")
//   [ … ]         optional group            ( … ) or < … >  required group
//   a | b         one of (inside a group, or across the whole syntax)
//   x [x ...]     x, repeated ("key value [key value ...]" repeats the pair); "x ..." too
// A syntax that is, as a whole, a choice (optional or not) between alternatives that each start
// with a token, some taking arguments ("ACQUIRE name ttl | RELEASE name token | HELP"),
// describes a container command: each alternative is reported as a subcommand ("lock|acquire"),
// as Redis does for CONFIG GET or CLIENT ID. A choice of bare tokens ("[ASYNC|SYNC]") is an
// option, not a list of subcommands.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/resp_writer.h"

namespace arvel::server {

struct CommandSpec;

struct ArgumentDoc {
  std::string name;
  // key, string, integer, double, pattern, unix-time, pure-token, oneof or block.
  std::string type;
  std::string token;  // the literal that precedes the value ("EX"), empty when none
  bool optional = false;
  bool multiple = false;
  std::vector<ArgumentDoc> arguments;  // the members of a oneof or block

  bool operator==(const ArgumentDoc&) const = default;
};

// The arguments described by `syntax`. Never fails: text it cannot make sense of becomes
// string arguments, so a typo in a syntax line degrades a hint rather than a command.
std::vector<ArgumentDoc> ParseSyntax(std::string_view syntax);

// Renders arguments the way redis-cli 7.0 builds its hints from COMMAND DOCS (tests use it to
// check a round trip: rendering a parsed syntax gives the syntax back, normalised).
std::string RenderArguments(const std::vector<ArgumentDoc>& arguments);

struct SubcommandDoc {
  std::string name;  // lower case, without the container's name ("acquire")
  int arity = 0;     // as in COMMAND INFO: container and subcommand names included
  std::vector<ArgumentDoc> arguments;
};

// Everything COMMAND DOCS and COMMAND INFO say about a command beyond its CommandSpec.
struct CommandDoc {
  const CommandSpec* spec = nullptr;
  std::vector<ArgumentDoc> arguments;  // for a container: the choice of subcommand tokens
  std::vector<SubcommandDoc> subcommands;
};

// The documentation of `spec`, parsed from its syntax.
CommandDoc BuildCommandDoc(const CommandSpec& spec);
// The same, for a spec of the process-wide command table: parsed once and cached for the life of
// the process (the command table never changes after start-up). Thread-safe.
const CommandDoc& DocFor(const CommandSpec& spec);

// The Redis 7 COMMAND DOCS value for one command (the map after its name), and for one
// argument list.
void WriteCommandDoc(protocol::ReplyWriter& w, const CommandDoc& doc);
void WriteArguments(protocol::ReplyWriter& w, const std::vector<ArgumentDoc>& arguments);

// The Redis 7 COMMAND INFO entry (10 elements) for one command, subcommands included.
void WriteCommandInfo(protocol::ReplyWriter& w, const CommandDoc& doc);

// A subcommand by its name after the "|" (any case), nullptr if there is none.
const SubcommandDoc* FindSubcommand(const CommandDoc& doc, std::string_view name);
// COMMAND DOCS / COMMAND INFO for "container|subcommand".
void WriteSubcommandDoc(protocol::ReplyWriter& w, const CommandDoc& doc, const SubcommandDoc& sub);
void WriteSubcommandInfo(protocol::ReplyWriter& w, const CommandDoc& doc, const SubcommandDoc& sub);

// Redis ACL categories implied by a command's flags and group ("@read", "@string", "@fast"…).
std::vector<std::string_view> AclCategories(const CommandSpec& spec);

}  // namespace arvel::server
