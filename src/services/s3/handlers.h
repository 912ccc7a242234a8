// S3 operation handlers (internal to the service): each translates the operation's Document to the
// ObjectStore engine and back. bucket_handlers.cc: buckets and listings; object_handlers.cc:
// objects; multipart_handlers.cc: multipart uploads. Shared helpers live here. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/aws/service.h"
#include "services/s3/object_store.h"

namespace gantry::services::s3 {

using aws::Document;
using aws::RequestContext;

using Handler = StatusOr<Document> (*)(ObjectStore&, RequestContext&, const Document&);

// Every handler, by operation name.
const std::vector<std::pair<std::string_view, Handler>>& AllHandlers();

// The error extras S3 puts in error bodies (BucketName, Key, UploadId...), from the failed input.
void AddErrorDetails(RequestContext& ctx, const Document& input, const Status& status);

// --- helpers shared by the handler files ------------------------------------------------------

// A string member of the input, or "".
std::string Member(const Document& input, const char* name);
// The bucket the input names, checked against x-amz-expected-bucket-owner.
StatusOr<Bucket> LoadBucket(ObjectStore& objects, const RequestContext& ctx, const Document& input,
                            const char* member = "Bucket");
// The canonical user id S3 shows for an account (64 hex digits).
std::string CanonicalUserId(const std::string& account_id);
Document OwnerOf(const std::string& account_id);
double Seconds(int64_t millis);
std::string Quoted(const std::string& etag);
// The object attributes a write carries (content headers, metadata, tags from x-amz-tagging).
StatusOr<ObjectAttributes> AttributesFromInput(const Document& input);
Document TagSetDocument(const TagSet& tags);
StatusOr<TagSet> TagSetFromInput(const Document& tagging, size_t max_tags);
// Refuses ACLs other than the bucket owner's (buckets enforce bucket-owner object ownership, S3's
// default since 2023).
Status CheckCannedAcl(const Document& input);

// The checksum a write sends (x-amz-checksum-* headers or trailers): its algorithm, or "" when none.
// InvalidRequest for several, malformed or unsupported ones, and for x-amz-sdk-checksum-algorithm
// without its value.
StatusOr<std::string> RequestChecksumAlgorithm(const Document& input);
// BadDigest when Content-MD5 or the sent checksum does not match the staged bytes; InvalidDigest
// for a malformed Content-MD5.
Status CheckBodyDigests(const Document& input, const std::string& checksum_algorithm, const BodyDigests& digests);
Status CheckContentMd5Format(const Document& input);
// Content-MD5 and x-amz-checksum-* of an operation whose small XML body the codec parsed
// (DeleteObjects, Put*Tagging, PutBucketVersioning, PutBucketPolicy).
Status CheckRequestBody(const RequestContext& ctx, const Document& input);
// The request's body: the spooled file, the in-memory body, or (in-process calls) input.Body.
BodySource RequestBody(const RequestContext& ctx, const Document& input);
// Adds Checksum<ALG> (and ChecksumType) of `checksum` to an output document.
void PutChecksum(Document& out, const ObjectChecksum& checksum, bool with_type = true);

// Bucket operations.
StatusOr<Document> CreateBucket(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> HeadBucket(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteBucket(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListBuckets(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetBucketLocation(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> PutBucketVersioning(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetBucketVersioning(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> PutBucketTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetBucketTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteBucketTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> PutBucketPolicy(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetBucketPolicy(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteBucketPolicy(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetBucketAcl(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListObjects(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListObjectsV2(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListObjectVersions(ObjectStore&, RequestContext&, const Document&);

// Object operations.
StatusOr<Document> PutObject(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetObject(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> HeadObject(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteObject(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteObjects(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> CopyObject(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetObjectTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> PutObjectTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> DeleteObjectTagging(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> GetObjectAcl(ObjectStore&, RequestContext&, const Document&);

// Multipart uploads.
StatusOr<Document> CreateMultipartUpload(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> UploadPart(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> UploadPartCopy(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> CompleteMultipartUpload(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> AbortMultipartUpload(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListParts(ObjectStore&, RequestContext&, const Document&);
StatusOr<Document> ListMultipartUploads(ObjectStore&, RequestContext&, const Document&);

}  // namespace gantry::services::s3
