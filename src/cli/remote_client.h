// A small signed AWS JSON client for the command line (`gantry build` reads parameters and
// secrets from a running Gantry): SigV4-signs with core/aws and sends one HTTP/1.1 request over
// plain http:// with Boost.Beast, whose headers stay in remote_client.cc. Thread-compatible: one
// RemoteClient per thread.
#pragma once

#include <string>
#include <string_view>

#include "core/aws/document.h"
#include "core/aws/sigv4.h"
#include "core/common/status.h"

namespace gantry::cli {

class RemoteClient {
 public:
  RemoteClient(std::string endpoint, aws::Credential credential, std::string region);

  // POSTs an awsJson request (X-Amz-Target "<target_prefix>.<operation>") signed for
  // signing_name. An AWS error answer becomes a Status carrying its code and message.
  StatusOr<aws::Document> CallJson(std::string_view signing_name, std::string_view target_prefix,
                                   std::string_view json_version, std::string_view operation,
                                   const aws::Document& input) const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  aws::Credential credential_;
  std::string region_;
};

}  // namespace gantry::cli
