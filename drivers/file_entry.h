#pragma once
// What one file of the `file` driver holds, and how it is named (drivers/file_store.h).
//
// A record is one JSON object:
//   {"format":1,"space":"data","key":"user:1","expire_at_ms":0,"value":"…"}
// Keys and values are byte strings; JSON strings must be UTF-8, so a key or value that is not
// valid UTF-8 is stored base64-encoded with a flag beside it ("key_base64":true,
// "value_base64":true). Text stays readable with `cat` and `jq`, and every byte survives.
//
// The file's name is the SHA-256 of the store's prefix, the space and the key, in hex: a fixed
// alphabet and length whatever the key holds, so no key can reach outside the store's tree.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "drivers/store.h"

namespace arvel::drivers {

struct FileRecord {
  Space space = Space::kData;
  std::string key;
  Entry entry;
};

// The JSON text of `record`.
std::string EncodeFileRecord(const FileRecord& record);
// The record in `text`, or nullopt when it is not one this driver wrote (torn, garbage, a future
// format). Never throws.
std::optional<FileRecord> DecodeFileRecord(std::string_view text);

// The lowercase hex SHA-256 of prefix, space and key, unambiguously joined (64 characters).
std::string FileRecordHash(std::string_view prefix, Space space, std::string_view key);
// Whether `name` is "<64 lowercase hex>.json", the name of a record file.
bool IsRecordFileName(std::string_view name);
// The first 64 bits of the hash that starts `hex` (at least 16 hex digits): the order in which
// the driver walks its files, and the cursor of its scans.
uint64_t HashPosition(std::string_view hex);
// The directory name of a space inside the store's tree ("data", "tagged", …).
std::string_view SpaceDirectoryName(Space space);

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);
// Standard base64 with padding (RFC 4648 §4).
std::string Base64Encode(std::string_view bytes);
// nullopt for anything but canonical padded base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace arvel::drivers
