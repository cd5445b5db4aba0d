#include "drivers/file_entry.h"

#include <openssl/evp.h>

#include <array>
#include <nlohmann/json.hpp>

namespace arvel::drivers {

namespace {

using Json = nlohmann::json;

constexpr int kFormat = 1;
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::array<std::string_view, kSpaceCount> kSpaceNames = {
    "data", "tagged", "tag_version", "lock", "throttle", "lease"};

std::optional<Space> SpaceNamed(std::string_view name) {
  for (size_t i = 0; i < kSpaceNames.size(); ++i) {
    if (kSpaceNames[i] == name) return static_cast<Space>(i);
  }
  return std::nullopt;
}

// Stores `bytes` under `field`, base64 with `field`_base64 = true when it is not UTF-8.
void PutBytes(Json& object, const char* field, std::string_view bytes) {
  if (IsValidUtf8(bytes)) {
    object[field] = bytes;
  } else {
    object[field] = Base64Encode(bytes);
    object[std::string(field) + "_base64"] = true;
  }
}

std::optional<std::string> GetBytes(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  auto flag = object.find(std::string(field) + "_base64");
  if (flag == object.end()) return it->get<std::string>();
  if (!flag->is_boolean()) return std::nullopt;
  if (!flag->get<bool>()) return it->get<std::string>();
  return Base64Decode(it->get_ref<const std::string&>());
}

std::optional<int64_t> GetInteger(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX) return std::nullopt;
  return it->get<int64_t>();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int Base64Value(char c) {
  size_t pos = kBase64Alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Length of the UTF-8 sequence led by `lead` and the bounds of its second byte (which rule out
// overlong forms, surrogates and code points above U+10FFFF); 0 for an invalid lead byte.
struct Utf8Lead {
  size_t length;
  unsigned char second_min;
  unsigned char second_max;
};
Utf8Lead ClassifyLead(unsigned char lead) {
  if (lead < 0x80) return {1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    Utf8Lead lead = ClassifyLead(static_cast<unsigned char>(text[i]));
    if (lead.length == 0 || text.size() - i < lead.length) return false;
    for (size_t k = 1; k < lead.length; ++k) {
      auto byte = static_cast<unsigned char>(text[i + k]);
      unsigned char lo = k == 1 ? lead.second_min : 0x80;
      unsigned char hi = k == 1 ? lead.second_max : 0xBF;
      if (byte < lo || byte > hi) return false;
    }
    i += lead.length;
  }
  return true;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = 0;
    for (size_t k = 0; k < 3; ++k) {
      group = (group << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0);
    }
    for (size_t k = 0; k < 4; ++k) {
      out += k <= n ? kBase64Alphabet[(group >> (18 - 6 * k)) & 0x3F] : '=';
    }
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    size_t padding = 0;
    uint32_t group = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      int value = c == '=' ? 0 : Base64Value(c);
      // Padding only at the very end, and at most two characters of it.
      if (c == '=') ++padding;
      if (value < 0 || (c == '=' && (!last || k < 2)) || (c != '=' && padding > 0)) {
        return std::nullopt;
      }
      group = (group << 6) | static_cast<uint32_t>(value);
    }
    // Canonical form: the bits the padding hides must be zero.
    if ((padding == 1 && (group & 0xFF) != 0) || (padding == 2 && (group & 0xFFFF) != 0)) {
      return std::nullopt;
    }
    for (size_t k = 0; k < 3 - padding; ++k)
      out += static_cast<char>((group >> (16 - 8 * k)) & 0xFF);
  }
  return out;
}

std::string EncodeFileRecord(const FileRecord& record) {
  Json object = Json::object();
  object["format"] = kFormat;
  object["space"] = SpaceDirectoryName(record.space);
  PutBytes(object, "key", record.key);
  object["expire_at_ms"] = record.entry.expire_at_ms;
  PutBytes(object, "value", record.entry.value);
  // Every string is valid UTF-8 by construction, so the strict handler has nothing to reject.
  return object.dump();
}

std::optional<FileRecord> DecodeFileRecord(std::string_view text) {
  Json object = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) return std::nullopt;
  if (GetInteger(object, "format") != kFormat) return std::nullopt;
  auto space = object.find("space");
  if (space == object.end() || !space->is_string()) return std::nullopt;
  std::optional<Space> space_value = SpaceNamed(space->get_ref<const std::string&>());
  std::optional<std::string> key = GetBytes(object, "key");
  std::optional<int64_t> expire_at_ms = GetInteger(object, "expire_at_ms");
  std::optional<std::string> value = GetBytes(object, "value");
  if (!space_value || !key || !expire_at_ms || *expire_at_ms < 0 || !value) return std::nullopt;
  FileRecord record;
  record.space = *space_value;
  record.key = std::move(*key);
  record.entry.expire_at_ms = *expire_at_ms;
  record.entry.value = std::move(*value);
  return record;
}

std::string FileRecordHash(std::string_view prefix, Space space, std::string_view key) {
  // Length-prefixing the prefix keeps ("ab", "c…") and ("a", "bc…") apart.
  std::string input = std::to_string(prefix.size()) + ":";
  input.append(prefix);
  input += static_cast<char>('0' + static_cast<int>(space));
  input += ':';
  input.append(key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHexDigits[digest[i] >> 4];
    hex += kHexDigits[digest[i] & 0xF];
  }
  return hex;
}

bool IsRecordFileName(std::string_view name) {
  constexpr std::string_view kSuffix = ".json";
  constexpr size_t kHexLength = 64;
  if (name.size() != kHexLength + kSuffix.size() || !name.ends_with(kSuffix)) return false;
  for (size_t i = 0; i < kHexLength; ++i) {
    if (HexValue(name[i]) < 0) return false;
  }
  return true;
}

uint64_t HashPosition(std::string_view hex) {
  uint64_t position = 0;
  for (size_t i = 0; i < 16 && i < hex.size(); ++i) {
    position = (position << 4) | static_cast<uint64_t>(std::max(HexValue(hex[i]), 0));
  }
  return position;
}

std::string_view SpaceDirectoryName(Space space) { return kSpaceNames[static_cast<size_t>(space)]; }

}  // namespace arvel::drivers
