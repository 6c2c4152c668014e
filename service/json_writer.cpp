#include <taskorch/http/json_writer.hpp>

namespace taskorch::http {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  out.push_back('"');
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(hex[u >> 4]);
          out.push_back(hex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void write_error(std::string& out, std::string_view code, std::string_view message) {
  out += "{\"error_code\":";
  append_json_string(out, code);
  out += ",\"error_msg\":";
  append_json_string(out, message);
  out.push_back('}');
}

}  // namespace taskorch::http
