#include <taskorch/http/json_writer.hpp>
#include <taskorch/http/request_handler.hpp>

namespace taskorch::http {

response error_response(const request_error& e, language lang) {
  response r;
  r.status = e.status;
  write_error(r.body, e.code, e.message(lang));
  return r;
}

}  // namespace taskorch::http
