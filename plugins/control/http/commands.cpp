// The raw control session's command language (see routes.hpp).
#include "routes.hpp"

#include <stethoscope/json_writer.hpp>

#include <boost/json.hpp>

namespace stethoscope::control {

namespace json = boost::json;

namespace {

struct NamedKind {
    std::string_view name;
    Command::Kind kind;
};
constexpr NamedKind k_commands[] = {
    {"stats", Command::Kind::stats},       {"sessions", Command::Kind::sessions},
    {"session", Command::Kind::session},   {"config", Command::Kind::config},
    {"modules", Command::Kind::modules},   {"enable", Command::Kind::enable},
    {"disable", Command::Kind::disable},   {"health", Command::Kind::health},
    {"subscribe", Command::Kind::subscribe}, {"auth", Command::Kind::auth},
};

std::string known_commands() {
    std::string s;
    for (const auto& c : k_commands) s += (s.empty() ? "" : ", ") + std::string(c.name);
    return s;
}

// Reads the fields a command needs; "" when they are there, else the error message.
std::string read_fields(const json::object& o, Command& c) {
    using K = Command::Kind;
    if (c.kind == K::session) {
        const json::value* v = o.if_contains("uid");
        auto uid = v != nullptr ? json::try_value_to<uint64_t>(*v) : json::result<uint64_t>();
        if (v == nullptr || v->is_double() || v->is_bool() || !uid || *uid == 0)
            return "\"uid\": expected a positive integer";
        c.uid = *uid;
    } else if (c.kind == K::enable || c.kind == K::disable) {
        const json::value* v = o.if_contains("module");
        if (v == nullptr || !v->is_string() || v->get_string().empty())
            return "\"module\": expected a module name";
        c.module = std::string(v->get_string());
    } else if (c.kind == K::subscribe) {
        const json::value* v = o.if_contains("types");
        if (v == nullptr) return {};
        if (!v->is_array()) return "\"types\": expected an array of event type names";
        for (const auto& t : v->get_array()) {
            if (!t.is_string()) return "\"types\": expected an array of event type names";
            c.types.emplace_back(t.get_string());
        }
    } else if (c.kind == K::auth) {
        const json::value* v = o.if_contains("token");
        if (v == nullptr || !v->is_string()) return "\"token\": expected a string";
        c.token = std::string(v->get_string());
    }
    return {};
}

std::string snapshot_answer(std::string_view cmd, std::string_view key,
                            const std::optional<std::string>& text) {
    if (!text) return command_error("the host does not provide this (plugin ABI older than 1.3)", cmd);
    JsonWriter w;
    w.key(key).raw(*text);
    return command_ok(cmd, w.str());
}

}  // namespace

const char* command_name(Command::Kind k) {
    for (const auto& c : k_commands)
        if (c.kind == k) return c.name.data();
    return "?";
}

std::string command_error(std::string_view message, std::string_view cmd) {
    JsonWriter w;
    w.begin_object().key("ok").value(false);
    if (!cmd.empty()) w.key("cmd").value(cmd);
    w.key("error").value(message).end_object();
    return w.take();
}

std::string command_ok(std::string_view cmd, std::string_view members) {
    JsonWriter w;
    w.begin_object().key("ok").value(true).key("cmd").value(cmd);
    if (!members.empty()) w.raw(members);
    w.end_object();
    return w.take();
}

std::variant<Command, std::string> parse_command(std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec) return "bad JSON: " + ec.message() + "; send one object per line, e.g. {\"cmd\":\"stats\"}";
    const json::object* o = v.if_object();
    if (o == nullptr) return std::string("expected a JSON object such as {\"cmd\":\"stats\"}");
    const json::value* cmd = o->if_contains("cmd");
    if (cmd == nullptr || !cmd->is_string()) return std::string("\"cmd\": expected a string");
    Command c;
    bool found = false;
    for (const auto& k : k_commands)
        if (k.name == cmd->get_string()) c.kind = k.kind, found = true;
    if (!found)
        return "unknown cmd \"" + std::string(cmd->get_string()) + "\"; known: " + known_commands();
    std::string err = read_fields(*o, c);
    if (!err.empty()) return std::string(command_name(c.kind)) + ": " + err;
    return c;
}

std::string answer_command(const Command& c, const HostView& host) {
    using K = Command::Kind;
    const std::string_view name = command_name(c.kind);
    switch (c.kind) {
        case K::stats: return snapshot_answer(name, "stats", host.stats());
        case K::sessions: return snapshot_answer(name, "sessions", host.sessions(0));
        case K::config: return snapshot_answer(name, "config", host.config());
        case K::modules: return snapshot_answer(name, "modules", host.modules());
        case K::session: {
            if (auto s = host.sessions(c.uid)) return snapshot_answer(name, "session", s);
            return command_error("no live session with uid " + std::to_string(c.uid), name);
        }
        case K::enable:
        case K::disable: {
            std::string err = host.set_module_enabled(c.module, c.kind == K::enable);
            if (!err.empty()) return command_error(err, name);
            JsonWriter w;
            w.key("module").value(c.module).key("enabled").value(c.kind == K::enable);
            return command_ok(name, w.str());
        }
        case K::health: {
            JsonWriter w;
            w.key("status").value(health_name(host.health()));
            return command_ok(name, w.str());
        }
        case K::subscribe:
        case K::auth: break;
    }
    return command_error("handled by the session", name);
}

}  // namespace stethoscope::control
