// S3's legacy Signature Version 2: HMAC-SHA1 over a string to sign made of the method, Content-MD5,
// Content-Type, the date (the Expires second for presigned URLs), the x-amz-* headers and the
// canonical resource ("/bucket/key" plus the sub-resources botocore lists). Two forms reach Gantry:
// the presigned query (AWSAccessKeyId, Signature, Expires) that `aws s3 presign` of CLI v1 still
// emits, and the "Authorization: AWS <key>:<signature>" header. Only S3 ever accepted SigV2, so a
// request signed this way is an S3 request. Failures are worded as S3 words them.
//
// Thread-safety: every function is thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "core/aws/sigv4.h"
#include "core/common/clock.h"
#include "core/http/message.h"

namespace gantry::aws {

// Whether the request carries a SigV2 signature (presigned query or "AWS " Authorization header).
bool IsSigV2Request(const http::Request& request);

// Verifies a SigV2 request at server time `now`. The returned info carries the credential and
// presigned; the SigV4-only fields (scope, signing key, payload hash) are empty.
std::variant<SignedRequestInfo, AuthFailure> VerifySigV2(const http::Request& request,
                                                         const CredentialResolver& credentials, TimePoint now);

// The string to sign of a request; `date` is the Date header value or the Expires second, and
// `resource_path` the raw path including the bucket ("/bucket/key"). Exposed for tests.
std::string SigV2StringToSign(const http::Request& request, std::string_view date, std::string_view resource_path);

// Client side: presigns `request` (which must carry Host) with the query form, valid until `expires`.
void PresignSigV2(http::Request& request, const Credential& credential, TimePoint expires);

}  // namespace gantry::aws
