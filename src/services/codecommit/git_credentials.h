// Who a git smart HTTP request is: the Basic credentials git sends, checked as CodeCommit checks
// them. Two kinds:
//  - the aws CLI credential helper's (`aws codecommit credential-helper`): user name
//    ACCESS_KEY_ID or ACCESS_KEY_ID%SESSION_TOKEN, password YYYYMMDDTHHMMSSZ followed by the hex
//    SigV4 signature (service "codecommit") of the canonical request
//    "GIT\n<repository URL path>\n\nhost:<host without port>\n\nhost\n". The helper does not send
//    its region, so the signature is verified in the server's region; it must be within 15 minutes
//    of the server's clock. Access keys are resolved through the server's chain (root, IAM users,
//    STS sessions).
//  - IAM HTTPS Git credentials (CreateServiceSpecificCredential for codecommit.amazonaws.com):
//    checked by IAM through aws::ServicePasswordVerifier.
//
// Stateless functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/aws/service.h"
#include "core/common/clock.h"
#include "core/common/status.h"

namespace gantry::services::codecommit {

// The parts of a credential-helper password, or nullopt when the password is not one.
struct HelperPassword {
  std::string timestamp;  // YYYYMMDDTHHMMSS (what was signed; the 'Z' is not)
  std::string signature;  // 64 lower-case hex digits
};
std::optional<HelperPassword> ParseHelperPassword(std::string_view password);

// The helper's signature: hex HMAC of the SigV4 string to sign of the GIT canonical request.
std::string HelperSignature(std::string_view secret_access_key, std::string_view timestamp, std::string_view region,
                            std::string_view url_path, std::string_view host);

// The Basic credentials of an Authorization header value, or nullopt when it is not Basic.
struct BasicCredentials {
  std::string user;
  std::string password;
};
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

// The principal behind git's Basic credentials for the repository URL path (/v1/repos/<name>) and
// the Host header the client sent; Unauthenticated (with why) when they are not valid.
StatusOr<aws::Principal> AuthenticateGit(const aws::HttpServeContext& context, const BasicCredentials& credentials,
                                         std::string_view url_path, std::string_view host, TimePoint now);

}  // namespace gantry::services::codecommit
