#pragma once
// Shared helpers for the config tests: loading TOML text with a given environment and flags,
// and a temporary directory for real files.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "config/config.h"

namespace arvel::config::testing {

// Loads `toml` as the file "cache.toml".
inline Result<Config> Load(std::string_view toml, const Environment& env = {},
                           const CommandLine& line = {}) {
  return LoadConfigText(toml, "cache.toml", line, env);
}

// The error Load gives, or "OK" when it succeeds, for EXPECT_EQ on the exact text.
inline std::string LoadError(std::string_view toml, const Environment& env = {},
                             const CommandLine& line = {}) {
  Result<Config> config = Load(toml, env, line);
  return config.ok() ? "OK" : config.status().message();
}

// Loads or fails the test with the error.
inline Config MustLoad(std::string_view toml, const Environment& env = {},
                       const CommandLine& line = {}) {
  Result<Config> config = Load(toml, env, line);
  if (!config.ok()) throw std::runtime_error("unexpected error: " + config.status().message());
  return *config;
}

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "arvel-config-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to `name` in the directory and returns the file's path.
  std::string Write(std::string_view name, std::string_view text) const {
    std::filesystem::path file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out << text;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

// Runs the current test body in `dir`, restoring the previous working directory afterwards.
class ScopedWorkingDirectory {
 public:
  explicit ScopedWorkingDirectory(const std::filesystem::path& dir)
      : previous_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~ScopedWorkingDirectory() { std::filesystem::current_path(previous_); }
  ScopedWorkingDirectory(const ScopedWorkingDirectory&) = delete;
  ScopedWorkingDirectory& operator=(const ScopedWorkingDirectory&) = delete;

 private:
  std::filesystem::path previous_;
};

}  // namespace arvel::config::testing
