// The commands that talk to a server's HTTP API: login, job, group, exec,
// node, plan, and `worker ls`. Tables by default, `-o json` for scripts;
// on failure the server's message and exit status 1 (2 for bad usage).
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "cli/yaml.h"
#include "common/host.h"

namespace forest::cli {
namespace {

using nlohmann::json;

struct ClientArgs {
  std::string server;
  std::string token;
  std::string output = "table";
};

void AddClientFlags(CLI::App* cmd, ClientArgs& a) {
  cmd->add_option("--server", a.server, "the server's API (default: forest login's, else :2856)")
      ->envname("FOREST_SERVER");
  cmd->add_option("--token", a.token, "an API token (default: forest login's)")
      ->envname("FOREST_TOKEN");
  cmd->add_option("-o,--output", a.output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

absl::StatusOr<ApiClient> Connect(const ClientArgs& a) {
  ASSIGN_OR_RETURN(const std::optional<Credentials> saved, LoadCredentials());
  std::string server = a.server;
  std::string token = a.token;
  if (server.empty() && saved) server = saved->server;
  if (server.empty()) server = "http://127.0.0.1:2856";
  ASSIGN_OR_RETURN(server, NormalizeServer(server));
  // The saved token goes to the server it was made for, however it is written.
  if (token.empty() && saved && saved->server == server) token = saved->token;
  return ApiClient(server, token);
}

// Runs `body` and turns its error into a message and exit status 1.
void Run(int& exit_code, const ClientArgs& args,
         const std::function<absl::Status(ApiClient&)>& body) {
  auto client = Connect(args);
  absl::Status s = client.ok() ? body(*client) : client.status();
  if (!s.ok()) {
    std::cerr << "forest: " << s.message() << "\n";
    exit_code = s.code() == absl::StatusCode::kInvalidArgument && !client.ok() ? 2 : 1;
    return;
  }
  exit_code = 0;
}

std::string Cell(const json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const json& e : v)
      out += (out.empty() ? "" : ",") + (e.is_string() ? e.get<std::string>() : e.dump());
    return out;
  }
  return v.dump();
}

// Prints `items` as a table of `columns` (header, key), or the whole answer as JSON.
void Print(const ClientArgs& args, const json& answer, const json& items,
           const std::vector<std::pair<std::string, std::string>>& columns) {
  if (args.output == "json") {
    std::cout << answer.dump(2) << "\n";
    return;
  }
  std::vector<std::string> headers;
  for (const auto& [header, key] : columns) headers.push_back(header);
  std::vector<std::vector<std::string>> rows;
  for (const json& item : items) {
    std::vector<std::string> row;
    for (const auto& [header, key] : columns) row.push_back(Cell(item, key));
    rows.push_back(std::move(row));
  }
  PrintTable(std::cout, headers, rows);
}

// One object as "key: value" lines (or JSON).
void PrintObject(const ClientArgs& args, const json& object) {
  if (args.output == "json" || !object.is_object()) {
    std::cout << object.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : object.items()) {
    rows.push_back({key + ":", value.is_string() ? value.get<std::string>() : value.dump()});
  }
  PrintTable(std::cout, {"FIELD", "VALUE"}, rows, 200);
}

absl::StatusOr<json> ReadDocument(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path));
    text << in.rdbuf();
  }
  auto doc = YamlToJson(text.str());
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", path, std::string(doc.status().message())));
  }
  return doc;
}

// YAML reads `id: 123` and `cron: 0` as numbers: the job's text fields are text.
json AsJob(json job) {
  for (const char* field : {"id", "name", "group", "cron", "target", "params", "mobile", "remark",
                            "timezone", "description", "owner"}) {
    if (job.contains(field) && (job[field].is_number() || job[field].is_boolean())) {
      job[field] = job[field].dump();
    }
  }
  return job;
}

std::string ReadPassword(const std::string& prompt) {
  if (const char* p = std::getenv("FOREST_PASSWORD"); p != nullptr) return p;
  std::cerr << prompt << std::flush;
  termios old{};
  const bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string password;
  std::getline(std::cin, password);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return password;
}

const std::vector<std::pair<std::string, std::string>> kJobColumns = {
    {"ID", "id"},         {"NAME", "name"},     {"GROUP", "group"},    {"CRON", "cron"},
    {"STATUS", "status"}, {"TARGET", "target"}, {"VERSION", "version"}};

void AddJobCommands(CLI::App& app, int& exit_code) {
  CLI::App* job = app.add_subcommand("job", "List, create, edit, run and delete jobs");
  job->require_subcommand(1);

  {
    auto a = std::make_shared<ClientArgs>();
    auto f = std::make_shared<std::map<std::string, std::string>>();
    CLI::App* c = job->add_subcommand("ls", "List jobs");
    AddClientFlags(c, *a);
    for (const char* name : {"group", "status", "q", "tag", "sort", "page", "page-size"}) {
      c->add_option(std::string("--") + name, (*f)[name]);
    }
    c->callback([a, f, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        Query q;
        for (const auto& [k, v] : *f) {
          if (!v.empty()) q.emplace_back(k == "page-size" ? "pageSize" : k, v);
        }
        ASSIGN_OR_RETURN(const json page, api.Call("GET", "/api/v1/jobs", q));
        Print(*a, page, page["items"], kJobColumns);
        if (a->output == "table") {
          std::cout << fmt::format("{} of {} jobs\n", page["items"].size(), Cell(page, "total"));
        }
        return absl::OkStatus();
      });
    });
  }
  // Commands on one job by id.
  const auto by_id = [&](const char* name, const char* help, const std::string& method,
                         const std::string& suffix) {
    auto a = std::make_shared<ClientArgs>();
    auto id = std::make_shared<std::string>();
    CLI::App* c = job->add_subcommand(name, help);
    AddClientFlags(c, *a);
    c->add_option("id", *id, "the job's id")->required();
    c->callback([a, id, method, suffix, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        ASSIGN_OR_RETURN(const json j,
                         api.Call(method, "/api/v1/jobs/" + PathEscape(*id) + suffix));
        if (method == "DELETE") {
          std::cout << "deleted job " << *id << "\n";
        } else {
          PrintObject(*a, j);
        }
        return absl::OkStatus();
      });
    });
  };
  by_id("get", "Show one job", "GET", "");
  by_id("rm", "Delete a job", "DELETE", "");
  by_id("pause", "Stop a job firing", "POST", "/pause");
  by_id("resume", "Let a stopped job fire again", "POST", "/resume");

  {
    auto a = std::make_shared<ClientArgs>();
    auto id = std::make_shared<std::string>();
    auto params = std::make_shared<std::string>();
    CLI::App* c = job->add_subcommand("run", "Run a job now (once, through the leader)");
    AddClientFlags(c, *a);
    c->add_option("id", *id, "the job's id")->required();
    c->add_option("--params", *params, "params for this run instead of the job's");
    c->callback([a, id, params, c, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        json body = json::object();
        if (c->count("--params") > 0) body["params"] = *params;
        ASSIGN_OR_RETURN(const json j,
                         api.Call("POST", "/api/v1/jobs/" + PathEscape(*id) + "/run", {}, body));
        if (a->output == "json") {
          std::cout << j.dump(2) << "\n";
        } else {
          std::cout << "requested execution " << Cell(j, "executionId") << "\n";
        }
        return absl::OkStatus();
      });
    });
  }
  {
    auto a = std::make_shared<ClientArgs>();
    auto file = std::make_shared<std::string>();
    auto fields = std::make_shared<std::map<std::string, std::string>>();
    CLI::App* c = job->add_subcommand("create", "Create a job from flags or a file (-f)");
    AddClientFlags(c, *a);
    c->add_option("-f,--file", *file, "a job as YAML or JSON ('-' for stdin)");
    for (const char* name : {"name", "group", "cron", "target", "params", "remark", "timezone"}) {
      c->add_option(std::string("--") + name, (*fields)[name]);
    }
    c->callback([a, file, fields, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        json body = json::object();
        if (!file->empty()) {
          ASSIGN_OR_RETURN(body, ReadDocument(*file));
        }
        for (const auto& [k, v] : *fields) {
          if (!v.empty()) body[k] = v;
        }
        ASSIGN_OR_RETURN(const json j, api.Call("POST", "/api/v1/jobs", {}, AsJob(body)));
        PrintObject(*a, j);
        return absl::OkStatus();
      });
    });
  }
  {
    auto a = std::make_shared<ClientArgs>();
    auto id = std::make_shared<std::string>();
    auto fields = std::make_shared<std::map<std::string, std::string>>();
    CLI::App* c = job->add_subcommand("edit", "Change fields of a job (the others are kept)");
    AddClientFlags(c, *a);
    c->add_option("id", *id, "the job's id")->required();
    for (const char* name :
         {"name", "group", "cron", "target", "params", "remark", "timezone", "description"}) {
      c->add_option(std::string("--") + name, (*fields)[name]);
    }
    c->callback([a, id, fields, c, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        const std::string path = "/api/v1/jobs/" + PathEscape(*id);
        ASSIGN_OR_RETURN(json job_json, api.Call("GET", path));
        bool changed = false;
        for (const auto& [k, v] : *fields) {
          if (c->count("--" + k) > 0) {
            job_json[k] = v;
            changed = true;
          }
        }
        if (!changed)
          return absl::InvalidArgumentError("nothing to change: give --cron, --target, ...");
        ASSIGN_OR_RETURN(const json j, api.Call("PUT", path, {}, job_json));
        PrintObject(*a, j);
        return absl::OkStatus();
      });
    });
  }
  {
    auto a = std::make_shared<ClientArgs>();
    auto file = std::make_shared<std::string>();
    CLI::App* c = job->add_subcommand(
        "apply", "Create or update the jobs of a file by name (YAML or JSON); idempotent");
    AddClientFlags(c, *a);
    c->add_option("-f,--file", *file, "jobs as YAML or JSON: a list, or {jobs: [...]}")->required();
    c->callback([a, file, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        ASSIGN_OR_RETURN(json doc, ReadDocument(*file));
        json jobs = doc.is_array() ? doc : (doc.is_object() ? doc.value("jobs", json()) : json());
        if (!jobs.is_array()) {
          return absl::InvalidArgumentError(
              fmt::format("{}: expected a list of jobs, or an object with `jobs:`", *file));
        }
        for (json& j : jobs) j = AsJob(j);
        ASSIGN_OR_RETURN(const json answer,
                         api.Call("POST", "/api/v1/jobs:apply", {}, json{{"jobs", jobs}}));
        Print(*a, answer, answer["results"],
              {{"NAME", "name"}, {"ID", "id"}, {"ACTION", "action"}});
        return absl::OkStatus();
      });
    });
  }
}

void AddGroupCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand("group", "List, create and delete groups");
  group->require_subcommand(1);
  {
    auto a = std::make_shared<ClientArgs>();
    CLI::App* c = group->add_subcommand("ls", "List groups");
    AddClientFlags(c, *a);
    c->callback([a, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        ASSIGN_OR_RETURN(const json j, api.Call("GET", "/api/v1/groups"));
        Print(*a, j, j["items"], {{"NAME", "name"}, {"REMARK", "remark"}});
        return absl::OkStatus();
      });
    });
  }
  {
    auto a = std::make_shared<ClientArgs>();
    auto name = std::make_shared<std::string>();
    auto remark = std::make_shared<std::string>();
    CLI::App* c = group->add_subcommand("create", "Create a group");
    AddClientFlags(c, *a);
    c->add_option("name", *name)->required();
    c->add_option("--remark", *remark);
    c->callback([a, name, remark, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        ASSIGN_OR_RETURN(const json j, api.Call("POST", "/api/v1/groups", {},
                                                json{{"name", *name}, {"remark", *remark}}));
        PrintObject(*a, j);
        return absl::OkStatus();
      });
    });
  }
  {
    auto a = std::make_shared<ClientArgs>();
    auto name = std::make_shared<std::string>();
    CLI::App* c = group->add_subcommand("rm", "Delete a group no job uses");
    AddClientFlags(c, *a);
    c->add_option("name", *name)->required();
    c->callback([a, name, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        RETURN_IF_ERROR(api.Call("DELETE", "/api/v1/groups/" + PathEscape(*name)).status());
        std::cout << "deleted group " << *name << "\n";
        return absl::OkStatus();
      });
    });
  }
}

void AddExecCommands(CLI::App& app, int& exit_code) {
  CLI::App* exec = app.add_subcommand("exec", "List, show and kill executions");
  exec->require_subcommand(1);
  {
    auto a = std::make_shared<ClientArgs>();
    auto f = std::make_shared<std::map<std::string, std::string>>();
    CLI::App* c = exec->add_subcommand("ls", "List executions, newest first");
    AddClientFlags(c, *a);
    for (const char* name :
         {"job", "group", "worker", "status", "trigger", "from", "to", "page", "page-size"}) {
      c->add_option(std::string("--") + name, (*f)[name]);
    }
    c->callback([a, f, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        Query q;
        for (const auto& [k, v] : *f) {
          if (v.empty()) continue;
          q.emplace_back(k == "job" ? "jobId" : k == "page-size" ? "pageSize" : k, v);
        }
        ASSIGN_OR_RETURN(const json page, api.Call("GET", "/api/v1/executions", q));
        Print(*a, page, page["items"],
              {{"ID", "id"},
               {"JOB", "jobId"},
               {"NAME", "name"},
               {"WORKER", "ip"},
               {"STATUS", "status"},
               {"START", "startTime"},
               {"MS", "durationMs"},
               {"RESULT", "result"}});
        return absl::OkStatus();
      });
    });
  }
  const auto by_id = [&](const char* name, const char* help, const std::string& method,
                         const std::string& suffix) {
    auto a = std::make_shared<ClientArgs>();
    auto id = std::make_shared<std::string>();
    CLI::App* c = exec->add_subcommand(name, help);
    AddClientFlags(c, *a);
    c->add_option("id", *id, "the execution's id")->required();
    c->callback([a, id, method, suffix, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        ASSIGN_OR_RETURN(const json j,
                         api.Call(method, "/api/v1/executions/" + PathEscape(*id) + suffix));
        PrintObject(*a, j);
        return absl::OkStatus();
      });
    });
  };
  by_id("get", "Show one execution with its output", "GET", "");
  by_id("kill", "Stop a running execution", "POST", "/kill");
}

// `forest node ls`, `forest plan ls`, and the `ls` of `forest worker`.
void AddListCommand(CLI::App* parent, const char* help, const std::string& path,
                    std::vector<std::pair<std::string, std::string>> columns, bool by_group,
                    int& exit_code) {
  auto a = std::make_shared<ClientArgs>();
  auto group = std::make_shared<std::string>();
  CLI::App* c = parent->add_subcommand("ls", help);
  AddClientFlags(c, *a);
  if (by_group) c->add_option("--group", *group, "only this group");
  c->callback([a, group, path, columns, &exit_code] {
    Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
      Query q;
      if (!group->empty()) q.emplace_back("group", *group);
      ASSIGN_OR_RETURN(const json j, api.Call("GET", path, q));
      Print(*a, j, j.is_array() ? j : j.value("items", json::array()), columns);
      return absl::OkStatus();
    });
  });
}

}  // namespace

void AddClientCommands(CLI::App& app, int& exit_code) {
  {
    auto a = std::make_shared<ClientArgs>();
    auto user = std::make_shared<std::string>("admin");
    CLI::App* c = app.add_subcommand(
        "login", "Log in to a server and keep an API token for the other commands (0600 file)");
    AddClientFlags(c, *a);
    c->add_option("-u,--user", *user)->capture_default_str();
    c->callback([a, user, &exit_code] {
      Run(exit_code, *a, [&](ApiClient& api) -> absl::Status {
        const std::string password = ReadPassword(fmt::format("password for {}: ", *user));
        ASSIGN_OR_RETURN(
            const json session,
            api.Call("POST", "/api/v1/login", {}, json{{"user", *user}, {"password", password}}));
        const std::string cookie = api.last_set_cookie.substr(0, api.last_set_cookie.find(';'));
        api.extra_headers = {{"Cookie", cookie}, {"X-CSRF-Token", session.value("csrfToken", "")}};
        const std::string host = MachineAddress();
        ASSIGN_OR_RETURN(const json token,
                         api.Call("POST", "/api/v1/tokens", {},
                                  json{{"name", fmt::format("forest login on {}", host)}}));
        RETURN_IF_ERROR(SaveCredentials({api.server(), token.value("token", ""), *user}));
        std::cout << fmt::format("logged in to {} as {}; token saved in {}\n", api.server(), *user,
                                 CredentialsPath());
        return absl::OkStatus();
      });
    });
  }
  AddJobCommands(app, exit_code);
  AddGroupCommands(app, exit_code);
  AddExecCommands(app, exit_code);
  CLI::App* node = app.add_subcommand("node", "Scheduler nodes");
  node->require_subcommand(1);
  AddListCommand(node, "List scheduler nodes (leader and followers)", "/api/v1/nodes",
                 {{"ID", "id"},
                  {"ROLE", "role"},
                  {"HTTP", "httpAddress"},
                  {"VERSION", "version"},
                  {"STARTED", "startedAt"}},
                 false, exit_code);
  CLI::App* plan = app.add_subcommand("plan", "Schedule plans");
  plan->require_subcommand(1);
  AddListCommand(plan, "List the previous and next fire of every enabled job", "/api/v1/plans",
                 {{"ID", "id"},
                  {"NAME", "name"},
                  {"GROUP", "group"},
                  {"CRON", "cron"},
                  {"PREVIOUS", "previousTime"},
                  {"NEXT", "nextTime"}},
                 true, exit_code);
}

void AddWorkerListCommand(CLI::App& worker, int& exit_code) {
  AddListCommand(&worker, "List registered workers by group", "/api/v1/workers",
                 {{"GROUP", "group"},
                  {"NAME", "name"},
                  {"RUNNING", "running"},
                  {"CAPACITY", "capacity"},
                  {"REGISTERED", "registeredAt"}},
                 true, exit_code);
}

}  // namespace forest::cli
