#include "services/codebuild/records.h"

#include <algorithm>
#include <cstdio>

#include "core/common/arn.h"
#include "core/common/crypto.h"
#include "core/common/strings.h"

namespace gantry::services::codebuild {

namespace {

std::string Name(runtime::BuildPhaseType type) { return std::string(runtime::PhaseName(type)); }

int64_t Millis(TimePoint t) { return ToEpochMillis(t); }

// AWS shows no contexts for SUBMITTED, an empty list for QUEUED and one empty context for the
// phases that ran without one.
Document ContextsFor(bool queued, const std::vector<runtime::PhaseContext>& contexts) {
  Document out = Document::array();
  for (const auto& c : contexts) out.push_back({{"statusCode", c.status_code}, {"message", c.message}});
  if (out.empty() && !queued) {
    out.push_back({{"statusCode", ""}, {"message", ""}});
  }
  return out;
}

void Close(Document& phase, TimePoint end, runtime::BuildStatus status,
           const std::vector<runtime::PhaseContext>& contexts) {
  std::string name = phase.value("phaseType", "");
  int64_t start_ms = Millis(FromSeconds(phase["startTime"]));
  int64_t end_ms = std::max(Millis(end), start_ms);
  phase["endTime"] = static_cast<double>(end_ms) / 1000.0;
  phase["durationInSeconds"] = (end_ms - start_ms) / 1000;
  phase["phaseStatus"] = std::string(runtime::StatusName(status));
  if (name != "SUBMITTED") phase["contexts"] = ContextsFor(name == "QUEUED", contexts);
}

}  // namespace

std::string CodeBuildArn(std::string_view region, std::string_view account, std::string_view resource) {
  Arn arn;
  arn.service = "codebuild";
  arn.region = std::string(region);
  arn.account = std::string(account);
  arn.resource = std::string(resource);
  return arn.ToString();
}

std::string ProjectArn(std::string_view region, std::string_view account, std::string_view name) {
  return CodeBuildArn(region, account, "project/" + std::string(name));
}

std::string BuildArn(std::string_view region, std::string_view account, std::string_view build_id) {
  return CodeBuildArn(region, account, "build/" + std::string(build_id));
}

std::string DefaultEncryptionKey(std::string_view region, std::string_view account) {
  return "arn:aws:kms:" + std::string(region) + ":" + std::string(account) + ":alias/aws/s3";
}

std::optional<BuildIdParts> ParseBuildId(std::string_view id) {
  if (id.rfind("arn:", 0) == 0) {
    size_t at = id.find(":build/");
    if (at == std::string_view::npos) return std::nullopt;
    id = id.substr(at + 7);
  }
  size_t colon = id.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == id.size()) return std::nullopt;
  if (id.find(':', colon + 1) != std::string_view::npos || id.find('/') != std::string_view::npos) return std::nullopt;
  return BuildIdParts{std::string(id.substr(0, colon)), std::string(id.substr(colon + 1))};
}

std::string ProjectNameOf(std::string_view name_or_arn) {
  if (name_or_arn.rfind("arn:", 0) == 0) {
    size_t at = name_or_arn.find(":project/");
    if (at != std::string_view::npos) return std::string(name_or_arn.substr(at + 9));
  }
  return std::string(name_or_arn);
}

Status InvalidInput(std::string message) {
  return Status::InvalidArgument(std::move(message), "InvalidInputException");
}

Status ProjectNotFound(std::string_view region, std::string_view account, std::string_view name) {
  return Status::NotFound("Project cannot be found: " + ProjectArn(region, account, name), "ResourceNotFoundException");
}

Status BuildNotFound(std::string_view id) {
  return Status::NotFound("Build cannot be found: " + std::string(id), "ResourceNotFoundException");
}

Status InvalidBuildId() { return InvalidInput("Invalid build ID provided"); }

std::string Padded(int64_t n) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%020lld", static_cast<long long>(n < 0 ? 0 : n));
  return buffer;
}

std::string Inverted(int64_t n) { return Padded(INT64_MAX - n); }

std::string TokenAfter(std::string_view key) { return Base64Encode("k:" + std::string(key)); }

StatusOr<std::string> KeyAfter(const Document& input) {
  std::string token = input.value("nextToken", "");
  if (token.empty()) return std::string();
  std::optional<std::string> decoded = Base64Decode(token);
  if (!decoded || decoded->rfind("k:", 0) != 0) return InvalidInput("Invalid next token: " + token);
  return decoded->substr(2);
}

double Seconds(TimePoint t) { return static_cast<double>(ToEpochMillis(t)) / 1000.0; }

TimePoint FromSeconds(const Document& seconds) {
  return seconds.is_number() ? FromEpochSeconds(seconds.get<double>()) : TimePoint();
}

std::vector<std::string> IndexKeys(int64_t seq, std::string_view project, int64_t number) {
  const std::string p = "p/" + std::string(project) + "/";
  return {"a/" + Padded(seq), "d/" + Inverted(seq), p + "a/" + Padded(number), p + "d/" + Inverted(number)};
}

StatusOr<Document> ListIndex(store::Store& store, std::string_view table, const std::string& scope,
                             const Document& input, const std::string& prefix,
                             const std::function<StatusOr<bool>(const std::string& id)>& keep) {
  bool ascending = input.value("sortOrder", "DESCENDING") == "ASCENDING";
  size_t limit = static_cast<size_t>(input.value("maxResults", kPageSize));
  store::ListOptions options;
  options.prefix = prefix + (ascending ? "a/" : "d/");
  GANTRY_ASSIGN_OR_RETURN(options.start_after, KeyAfter(input));
  if (!options.start_after.empty() && options.start_after.rfind(options.prefix, 0) != 0) {
    return InvalidInput("Invalid next token: " + input.value("nextToken", ""));
  }
  options.limit = kPageSize;
  Document ids = Document::array();
  std::string last;
  bool more = false;
  while (true) {
    GANTRY_ASSIGN_OR_RETURN(store::ListPage page, store.List(table, scope, options));
    for (const store::Record& r : page.records) {
      if (ids.size() == limit) {
        more = true;
        break;
      }
      last = r.key;
      std::string id = r.doc.value("id", "");
      if (keep) {
        GANTRY_ASSIGN_OR_RETURN(bool kept, keep(id));
        if (!kept) continue;
      }
      ids.push_back(id);
    }
    if (more || page.next_token.empty()) break;
    options.start_after = page.next_token;
  }
  Document out = {{"ids", ids}};
  if (more) out["nextToken"] = TokenAfter(last);
  return out;
}

StatusOr<Document> GetEach(const Document& ids, const std::function<StatusOr<store::Record>(const std::string&)>& load,
                           const char* member, const char* found, const char* not_found) {
  Document records = Document::array();
  Document missing = Document::array();
  for (const Document& id : ids) {
    auto loaded = load(id.get<std::string>());
    if (loaded.ok()) {
      records.push_back(loaded->doc[member]);
    } else if (loaded.status().code() == StatusCode::kNotFound) {
      missing.push_back(id);
    } else {
      return loaded.status();
    }
  }
  return Document{{found, records}, {not_found, missing}};
}

std::string RequestHash(const Document& input) { return HexEncode(Sha256(input.dump())); }

StatusOr<std::optional<std::string>> UsedToken(store::Transaction& tx, const std::string& scope,
                                               const std::string& prefix, const std::string& token,
                                               const std::string& hash, TimePoint now) {
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> used, tx.Get(kIdempotencyTable, scope, prefix + token));
  if (!used || FromSeconds(used->doc["Expires"]) <= now) return std::optional<std::string>();
  if (used->doc.value("Hash", "") != hash) {
    return InvalidInput("The idempotency token " + token + " was used with different parameters within the last 5 minutes.");
  }
  return std::optional<std::string>(used->doc.value("Id", ""));
}

Status UseToken(store::Transaction& tx, const std::string& scope, const std::string& prefix, const std::string& token,
                const std::string& id, const std::string& hash, TimePoint now) {
  Document used = {{"Id", id}, {"Hash", hash}, {"Expires", Seconds(now + kIdempotencyWindow)}};
  return tx.Put(kIdempotencyTable, scope, prefix + token, used).status();
}

bool IsInlineBuildspec(std::string_view text) {
  if (text.find('\n') != std::string_view::npos) return true;
  std::string_view rest = Trim(text);
  if (!rest.empty() && rest.front() == '{') return true;
  if (rest.rfind("version", 0) != 0) return false;
  rest = Trim(rest.substr(7));
  return !rest.empty() && rest.front() == ':';
}

bool IsComplete(const Document& record) { return record["Build"].value("buildComplete", false); }

const Document* OpenPhase(const Document& record) {
  const Document& phases = record["Build"]["phases"];
  if (phases.empty()) return nullptr;
  const Document& last = phases.back();
  if (last.contains("endTime") || last.value("phaseType", "") == "COMPLETED") return nullptr;
  return &last;
}

void BeginPhase(Document& record, runtime::BuildPhaseType type, TimePoint start) {
  Document& build = record["Build"];
  Document& phases = build["phases"];
  std::string name = Name(type);
  if (!phases.empty() && phases.back().value("phaseType", "") == name && !phases.back().contains("endTime")) return;
  phases.push_back({{"phaseType", name}, {"startTime", Seconds(start)}});
  build["currentPhase"] = name;
}

void EndPhase(Document& record, runtime::BuildPhaseType type, TimePoint end, runtime::BuildStatus status,
              const std::vector<runtime::PhaseContext>& contexts) {
  Document& phases = record["Build"]["phases"];
  std::string name = Name(type);
  if (phases.empty() || phases.back().value("phaseType", "") != name || phases.back().contains("endTime")) {
    BeginPhase(record, type, end);
  }
  Close(phases.back(), end, status, contexts);
}

void CompleteBuild(Document& record, runtime::BuildStatus status, TimePoint end,
                   const std::vector<runtime::PhaseContext>& contexts) {
  Document& build = record["Build"];
  Document& phases = build["phases"];
  if (!phases.empty() && !phases.back().contains("endTime") && phases.back().value("phaseType", "") != "COMPLETED") {
    Close(phases.back(), end, status, contexts);
  }
  if (phases.empty() || phases.back().value("phaseType", "") != "COMPLETED") {
    phases.push_back({{"phaseType", "COMPLETED"}, {"startTime", Seconds(end)}});
  }
  build["currentPhase"] = "COMPLETED";
  build["buildStatus"] = std::string(runtime::StatusName(status));
  build["endTime"] = Seconds(end);
  build["buildComplete"] = true;
}

StatusOr<Document> UpdateBuild(store::Store& store, const std::string& scope, const std::string& id,
                               const std::function<Status(Document& record)>& fn) {
  Document updated;
  GANTRY_RETURN_IF_ERROR(store.Transact([&](store::Transaction& tx) -> Status {
    GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, tx.Get(kBuildTable, scope, id));
    if (!record) return BuildNotFound(id);
    updated = std::move(record->doc);
    GANTRY_RETURN_IF_ERROR(fn(updated));
    if (IsComplete(updated)) GANTRY_RETURN_IF_ERROR(RemoveFromQueue(tx, updated));
    return tx.Put(kBuildTable, scope, id, updated).status();
  }));
  return updated;
}

Status RemoveFromQueue(store::Transaction& tx, const Document& record) {
  return tx.Delete(kActiveTable, "", Padded(record.value("Seq", int64_t{0}))).status();
}

}  // namespace gantry::services::codebuild
