// est-server: command-line parsing and wiring only; the work is in server/.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>

#include "common/files.hpp"
#include "server/data_folder.hpp"
#include "server/serve.hpp"
#include "server/users.hpp"

namespace {

using namespace estfleet;

std::string strip_trailing_newline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

std::string read_password(const std::string& file) {
  if (!file.empty()) {
    return strip_trailing_newline(common::read_file(file));
  }
  std::string line;
  std::getline(std::cin, line);
  return strip_trailing_newline(line);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"est-fleet EST (RFC 7030) enrollment server"};
  app.require_subcommand(1);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  server::InitOptions init;
  std::string import_key;
  std::string import_chain;
  auto* init_cmd = app.add_subcommand("init", "create a data folder: CA, TLS certificate, config");
  init_cmd->add_option("--data", init.data_dir, "data folder")->required();
  init_cmd->add_option("--hostname", init.extra_hostnames,
                       "extra DNS name or IP for the TLS certificate (repeatable)");
  init_cmd->add_flag("--force", init.force, "replace an existing CA (moved aside, not deleted)");
  init_cmd->add_option("--import-ca-key", import_key, "PEM key of an existing issuing CA");
  init_cmd->add_option("--import-ca-chain", import_chain,
                       "PEM chain of that CA: issuing first, root last");

  server::ServeOptions serve;
  std::string listen;
  std::string port_file;
  auto* serve_cmd = app.add_subcommand("serve", "serve EST over HTTPS");
  serve_cmd->add_option("--data", serve.data_dir, "data folder")->required();
  serve_cmd->add_option("--listen", listen, "HOST:PORT (default from config, 127.0.0.1:8443)");
  serve_cmd->add_option("--port-file", port_file, "write the bound port here once listening");

  std::string user_name;
  std::filesystem::path user_data;
  std::string password_file;
  bool replace = false;
  auto* user_cmd = app.add_subcommand("user", "HTTP Basic users");
  user_cmd->require_subcommand(1);
  auto* user_add = user_cmd->add_subcommand("add", "add a user (password from file or stdin)");
  user_add->add_option("NAME", user_name, "user name")->required();
  user_add->add_option("--data", user_data, "data folder")->required();
  user_add->add_option("--password-file", password_file, "file holding the password");
  user_add->add_flag("--replace", replace, "replace the password of an existing user");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*init_cmd) {
      if (!import_key.empty()) {
        init.import_ca_key = import_key;
      }
      if (!import_chain.empty()) {
        init.import_ca_chain = import_chain;
      }
      const auto result = server::initialize_data_folder(init);
      if (result.moved_aside) {
        std::cout << "previous CA moved to " << result.moved_aside->string() << "\n";
      }
      std::cout << "data folder ready: " << init.data_dir.string() << "\n"
                << "root CA SHA-256 fingerprint: " << result.root_fingerprint << "\n";
    } else if (*serve_cmd) {
      if (!listen.empty()) {
        serve.listen = listen;
      }
      if (!port_file.empty()) {
        serve.port_file = port_file;
      }
      server::serve(serve);
    } else if (*user_add) {
      server::add_user(user_data, user_name, read_password(password_file), replace);
      std::cout << "user " << user_name << " saved\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "est-server: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
