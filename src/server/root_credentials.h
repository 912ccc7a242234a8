// The root principal's access key: made at first start, kept 0600 in <state-dir>/credentials in
// the AWS shared-credentials format ([default] profile), read back on every later start.
#pragma once

#include <string>

#include "core/common/ids.h"
#include "core/common/status.h"

namespace gantry::server {

struct RootKey {
  std::string access_key_id;
  std::string secret_access_key;
  bool created = false;  // true when this start made it
};

std::string CredentialsPath(const std::string& state_dir);

// Reads the key, or makes and writes one (atomically, mode 0600) when the file does not exist.
StatusOr<RootKey> LoadOrCreateRootKey(const std::string& state_dir, IdSource& ids);

// Reads the key without creating one.
StatusOr<RootKey> LoadRootKey(const std::string& state_dir);

}  // namespace gantry::server
