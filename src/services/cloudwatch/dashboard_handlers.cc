// Dashboards: PutDashboard (the body checked against the dashboard body structure, then stored
// byte for byte as given), GetDashboard, ListDashboards (prefix, pages) and DeleteDashboards (all
// or nothing). Dashboards are global: one per name per account, whatever the region.
//
// Layout: cloudwatch.dashboard, scope <account>, key <name>:
//   {DashboardName, DashboardBody, LastModified (epoch ms)}
#include <cctype>
#include <optional>
#include <set>

#include "core/common/strings.h"
#include "services/cloudwatch/handlers.h"
#include "services/cloudwatch/metric_validation.h"

namespace gantry::services::cloudwatch {

namespace {

using aws::Document;

constexpr std::string_view kDashboardTable = "cloudwatch.dashboard";
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxWidgets = 500;
constexpr int kListPageSize = 1000;

struct ValidationMessage {
  std::string data_path;
  std::string message;
};

// The body structure of "Dashboard Body Structure and Syntax", checked as CloudWatch's schema
// validator words its findings (JSON pointer data paths).
class BodyValidator {
 public:
  std::vector<ValidationMessage> Check(const Document& body) {
    if (!Expect(body.is_object(), "", "Should be object")) return messages_;
    Allowed(body, "", {"widgets", "start", "end", "periodOverride", "variables"});
    if (!body.contains("widgets")) {
      Add("", "Should have required property 'widgets'");
    } else if (Expect(body["widgets"].is_array(), "/widgets", "Should be array")) {
      const Document& widgets = body["widgets"];
      if (widgets.size() > kMaxWidgets) Add("/widgets", "Should NOT have more than 500 items");
      for (size_t i = 0; i < widgets.size(); ++i) Widget(widgets[i], "/widgets/" + std::to_string(i));
    }
    for (const char* member : {"start", "end"}) {
      if (body.contains(member)) Expect(body[member].is_string(), std::string("/") + member, "Should be string");
    }
    if (body.contains("periodOverride")) {
      const Document& v = body["periodOverride"];
      Expect(v == "auto" || v == "inherit", "/periodOverride", "Should be equal to one of the allowed values");
    }
    if (body.contains("variables")) Expect(body["variables"].is_array(), "/variables", "Should be array");
    return messages_;
  }

 private:
  void Add(std::string path, std::string message) { messages_.push_back({std::move(path), std::move(message)}); }

  bool Expect(bool ok, const std::string& path, const char* message) {
    if (!ok) Add(path, message);
    return ok;
  }

  void Allowed(const Document& object, const std::string& path, std::initializer_list<std::string_view> names) {
    for (const auto& [key, value] : object.items()) {
      bool known = false;
      for (std::string_view name : names) known = known || key == name;
      if (!known) {
        Add(path, "Should NOT have additional properties");
        return;
      }
    }
  }

  void Integer(const Document& widget, const std::string& path, const char* member, int64_t lo, int64_t hi) {
    if (!widget.contains(member)) return;
    const Document& v = widget[member];
    std::string at = path + "/" + member;
    if (!Expect(v.is_number_integer(), at, "Should be integer")) return;
    if (v.get<int64_t>() < lo) Add(at, "Should be >= " + std::to_string(lo));
    if (v.get<int64_t>() > hi) Add(at, "Should be <= " + std::to_string(hi));
  }

  void Widget(const Document& widget, const std::string& path) {
    if (!Expect(widget.is_object(), path, "Should be object")) return;
    Allowed(widget, path, {"type", "x", "y", "width", "height", "properties"});
    Integer(widget, path, "x", 0, 23);
    Integer(widget, path, "y", 0, INT32_MAX);
    Integer(widget, path, "width", 1, 24);
    Integer(widget, path, "height", 1, 1000);
    if (!widget.contains("type")) {
      Add(path, "Should have required property 'type'");
      return;
    }
    static const std::set<std::string> kTypes = {"metric", "text", "log", "alarm", "explorer", "custom"};
    const Document& type = widget["type"];
    if (!Expect(type.is_string() && kTypes.count(type.get<std::string>()) > 0, path + "/type",
                "Should be equal to one of the allowed values")) {
      return;
    }
    if (!widget.contains("properties")) {
      Add(path, "Should have required property 'properties'");
      return;
    }
    const Document& properties = widget["properties"];
    std::string at = path + "/properties";
    if (!Expect(properties.is_object(), at, "Should be object")) return;
    if (type == "text") {
      if (!properties.contains("markdown")) {
        Add(at, "Should have required property 'markdown'");
      } else {
        Expect(properties["markdown"].is_string(), at + "/markdown", "Should be string");
      }
    } else if (type == "metric") {
      MetricProperties(properties, at);
    } else if (type == "log") {
      if (!properties.contains("query")) {
        Add(at, "Should have required property 'query'");
      } else {
        Expect(properties["query"].is_string(), at + "/query", "Should be string");
      }
    } else if (type == "alarm") {
      if (!properties.contains("alarms")) {
        Add(at, "Should have required property 'alarms'");
      } else {
        Expect(properties["alarms"].is_array(), at + "/alarms", "Should be array");
      }
    }
  }

  void MetricProperties(const Document& properties, const std::string& path) {
    for (const char* member : {"region", "title", "view", "stat"}) {
      if (properties.contains(member)) Expect(properties[member].is_string(), path + "/" + member, "Should be string");
    }
    if (properties.contains("period")) {
      Expect(properties["period"].is_number_integer(), path + "/period", "Should be integer");
    }
    if (!properties.contains("metrics")) return;
    const Document& metrics = properties["metrics"];
    if (!Expect(metrics.is_array(), path + "/metrics", "Should be array")) return;
    for (size_t i = 0; i < metrics.size(); ++i) {
      std::string at = path + "/metrics/" + std::to_string(i);
      const Document& metric = metrics[i];
      if (!Expect(metric.is_array(), at, "Should be array")) continue;
      for (size_t j = 0; j < metric.size(); ++j) {
        bool last = j + 1 == metric.size();
        // Strings (namespace, name, dimension pairs), then optionally one rendering-properties object.
        if (!metric[j].is_string() && !(last && metric[j].is_object())) {
          Add(at + "/" + std::to_string(j), "Should be string");
        }
      }
    }
  }

  std::vector<ValidationMessage> messages_;
};

Status InvalidInput(std::string message) { return Status::InvalidArgument(std::move(message), "InvalidParameterInput"); }

// The findings both as the error's dashboardValidationMessages member and in its message text.
Status InvalidBody(aws::RequestContext& ctx, const std::vector<ValidationMessage>& messages) {
  // As CloudWatch prints them: [ { "message": "...", "dataPath": "..." }, ... ]
  std::vector<std::string> items;
  Document members = Document::array();
  for (const auto& m : messages) {
    items.push_back("{ \"message\": " + Document(m.message).dump() + ", \"dataPath\": " + Document(m.data_path).dump() +
                    " }");
    members.push_back({{"DataPath", m.data_path}, {"Message", m.message}});
  }
  ctx.error_members = {{"dashboardValidationMessages", std::move(members)}};
  return InvalidInput("The dashboard body is invalid, there are " + std::to_string(messages.size()) +
                      " validation errors: [ " + Join(items, ", ") + " ]");
}

Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidInput("The value for field DashboardName must be between 1 and 255 characters long.");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return InvalidInput(
          "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash "
          "(-) and underscore (_).");
    }
  }
  return Status::Ok();
}

std::string DashboardArn(const std::string& account, const std::string& name) {
  return "arn:aws:cloudwatch::" + account + ":dashboard/" + name;
}

Status NotFound(const std::string& message) { return Status::NotFound(message, "ResourceNotFound"); }

StatusOr<Document> PutDashboard(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["DashboardName"].get<std::string>();
  GANTRY_RETURN_IF_ERROR(CheckName(name));
  const std::string& text = input["DashboardBody"].get_ref<const std::string&>();
  Document body = Document::parse(text, nullptr, false);
  if (body.is_discarded()) return InvalidInput("The field DashboardBody must be a valid JSON object");
  std::vector<ValidationMessage> messages = BodyValidator().Check(body);
  if (!messages.empty()) return InvalidBody(ctx, messages);
  Document record = {{"DashboardName", name},
                     {"DashboardBody", text},
                     {"LastModified", ToEpochMillis(deps.clock->Now())}};
  GANTRY_RETURN_IF_ERROR(deps.store->Put(kDashboardTable, ctx.account_id, name, record).status());
  return Document{{"DashboardValidationMessages", Document::array()}};
}

StatusOr<Document> GetDashboard(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  std::string name = input["DashboardName"].get<std::string>();
  GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record, deps.store->Get(kDashboardTable, ctx.account_id, name));
  if (!record) return NotFound("Dashboard " + name + " does not exist");
  return Document{{"DashboardArn", DashboardArn(ctx.account_id, name)},
                  {"DashboardBody", record->doc["DashboardBody"]},
                  {"DashboardName", name}};
}

StatusOr<Document> ListDashboards(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  store::ListOptions options;
  options.prefix = input.value("DashboardNamePrefix", "");
  options.limit = kListPageSize;
  if (input.contains("NextToken")) {
    std::optional<std::string> after = Base64Decode(input["NextToken"].get<std::string>());
    if (!after || after->rfind(options.prefix, 0) != 0) {
      return InvalidParameterValue("The value for parameter NextToken is invalid.");
    }
    options.start_after = *after;
  }
  GANTRY_ASSIGN_OR_RETURN(store::ListPage page, deps.store->List(kDashboardTable, ctx.account_id, options));
  Document entries = Document::array();
  for (const auto& record : page.records) {
    entries.push_back({{"DashboardName", record.key},
                       {"DashboardArn", DashboardArn(ctx.account_id, record.key)},
                       {"LastModified", static_cast<double>(record.doc.value("LastModified", int64_t{0})) / 1000},
                       {"Size", record.doc["DashboardBody"].get_ref<const std::string&>().size()}});
  }
  Document out = {{"DashboardEntries", entries}};
  if (!page.next_token.empty()) out["NextToken"] = Base64Encode(page.next_token);
  return out;
}

StatusOr<Document> DeleteDashboards(const CloudWatchDeps& deps, aws::RequestContext& ctx, const Document& input) {
  const Document& names = input["DashboardNames"];
  if (names.empty()) return MissingParameter("The parameter DashboardNames is required.");
  GANTRY_RETURN_IF_ERROR(deps.store->Transact([&](store::Transaction& txn) -> Status {
    std::vector<std::string> missing;
    for (const auto& name : names) {
      GANTRY_ASSIGN_OR_RETURN(std::optional<store::Record> record,
                              txn.Get(kDashboardTable, ctx.account_id, name.get<std::string>()));
      if (!record) missing.push_back(name.get<std::string>());
    }
    if (!missing.empty()) {
      return NotFound("The specified dashboard does not exist. [" + Join(missing, ", ") + "]");
    }
    for (const auto& name : names) {
      GANTRY_RETURN_IF_ERROR(txn.Delete(kDashboardTable, ctx.account_id, name.get<std::string>()).status());
    }
    return Status::Ok();
  }));
  return Document::object();
}

using Handler = StatusOr<Document> (*)(const CloudWatchDeps&, aws::RequestContext&, const Document&);

void Add(aws::HandlerTable& table, const CloudWatchDeps& deps, std::string_view operation, Handler fn) {
  table.Add("cloudwatch", operation, [&deps, fn](aws::RequestContext& ctx, const Document& input) {
    return fn(deps, ctx, input);
  });
}

}  // namespace

void RegisterDashboardHandlers(aws::HandlerTable& table, const CloudWatchDeps& deps) {
  Add(table, deps, "PutDashboard", PutDashboard);
  Add(table, deps, "GetDashboard", GetDashboard);
  Add(table, deps, "ListDashboards", ListDashboards);
  Add(table, deps, "DeleteDashboards", DeleteDashboards);
}

}  // namespace gantry::services::cloudwatch
