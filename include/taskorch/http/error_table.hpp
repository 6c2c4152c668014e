#pragma once
// error_table: the one table of how the DRS HTTP API answers errors: for each error, the HTTP
// status, the DRS error code and the message in English and Chinese. Two parts:
//
//   - engine_error_table: the engine's errors (taskorch::errc), one row per code, in the enum's
//     order. Per-item failures show their code and message; a whole batch the engine refuses
//     answers with the row's status.
//   - request_error_table: the service's own refusals of a request (request_errc): routing,
//     authentication, HTTP framing and body validation. Messages with `{}` are fmt templates
//     filled by request_error's factories (request_error.hpp).
//
//   describe(taskorch::errc::task_deleted).drs_code == "DRS.M05004"
//   describe(request_errc::not_found).status == 404
//
// The engine stopping before it ran something (operation_aborted) is 503 TASKORCH.0503,
// "Not run"; anything else the tables do not list is 500 DRS.M00004, "Service is abnormal".
// docs/errors.md is generated from these tables and the core's errc_table (tools/errors_doc.cpp).

#include <taskorch/error.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace taskorch::http {

/// One error as the API shows it.
struct wire_error {
  unsigned status = 0;        ///< the HTTP status when it refuses a whole request
  std::string_view drs_code;  ///< e.g. "DRS.M05003"
  std::string_view en;        ///< English message (a fmt template for request errors)
  std::string_view zh;        ///< Chinese message (likewise)
};

/// One row of the engine-error table.
struct engine_error_row {
  errc code{};
  wire_error wire;
};

// clang-format off
/// Every engine error, in the enum's order.
inline constexpr std::array engine_error_table{
  engine_error_row{errc::task_not_found,        {400, "DRS.M05003", "Task information not found.", "任务信息未找到。"}},
  engine_error_row{errc::task_deleted,          {400, "DRS.M05004", "The task has been deleted or the resource has been released.", "任务已删除或资源已释放。"}},
  engine_error_row{errc::invalid_state,         {400, "DRS.M00304", "This API cannot be called in the current task status.", "当前任务状态不允许调用该接口。"}},
  engine_error_row{errc::parent_task_forbidden, {400, "DRS.M00307", "Only subtasks can invoke this interface.", "只有子任务可以调用该接口。"}},
  engine_error_row{errc::child_task_forbidden,  {400, "DRS.M00308", "Only parent tasks can invoke this interface.", "只有父任务可以调用该接口。"}},
  engine_error_row{errc::empty_batch,           {400, "DRS.M00201", "The parameter jobs is empty.", "参数jobs为空。"}},
  engine_error_row{errc::batch_too_large,       {400, "DRS.M00202", "The value of parameter jobs is invalid: too many jobs.", "参数jobs的值无效：任务过多。"}},
  engine_error_row{errc::duplicate_job_id,      {400, "DRS.M00301", "There are duplicate job_id in request.", "请求中存在重复的job_id。"}},
  engine_error_row{errc::task_exists,           {400, "DRS.M00301", "A task with this id already exists.", "该ID的任务已存在。"}},
  engine_error_row{errc::invalid_task_spec,     {400, "DRS.M00202", "The task specification is invalid.", "任务定义无效。"}},
  engine_error_row{errc::not_a_worker_event,    {400, "DRS.M00202", "Only events reported by workers may be sent here.", "此处只能提交工作节点上报的事件。"}},
  engine_error_row{errc::would_deadlock,        {500, "DRS.M00004", "Service is abnormal. Check logs.", "服务异常，请检查日志。"}},
  engine_error_row{errc::invalid_item,          {400, "DRS.M00202", "The value of parameter jobs is invalid.", "参数jobs的值无效。"}},
  engine_error_row{errc::journal_failed,        {503, "TASKORCH.0507", "The task registry cannot store changes: its disk or its database failed, and the change was not made. Queries still work; changes resume when the service is restarted (data directory) or the partition is loaded again (PostgreSQL).", "任务注册表无法保存变更：磁盘或数据库故障，变更未执行。查询仍可使用；重启服务（数据目录）或重新加载分区（PostgreSQL）后可再次变更。"}},
};
// clang-format on

static_assert(
    [] {
      if (engine_error_table.size() != errc_table.size()) return false;
      for (std::size_t i = 0; i < engine_error_table.size(); ++i) {
        if (engine_error_table[i].code != errc_table[i].code) return false;
      }
      return true;
    }(),
    "engine_error_table lists every errc once, in the enum's order");

/// The service's own refusals of a request, in the order the service checks them.
enum class request_errc : std::uint8_t {
  over_capacity = 1,         ///< more connections than the cap
  header_too_large,          ///< request line and headers over the limit
  bad_request,               ///< bytes that are not an HTTP/1.1 request
  bad_transfer_encoding,     ///< a Transfer-Encoding other than one `chunked`
  not_found,                 ///< unknown path
  method_not_allowed,        ///< known path, wrong method
  token_missing,             ///< neither X-Auth-Token nor Authorization, or an unknown token
  token_repeated,            ///< X-Auth-Token given more than once
  credentials_ambiguous,     ///< both X-Auth-Token and Authorization
  authorization_malformed,   ///< Authorization twice, or not one SDK-HMAC-SHA256 signature
  access_key_unknown,        ///< the signature's access key is not known
  required_header_unsigned,  ///< SignedHeaders lacks host or x-sdk-date
  sdk_date_malformed,        ///< X-Sdk-Date missing or not YYYYMMDD'T'HHMMSS'Z'
  sdk_date_expired,          ///< X-Sdk-Date too far from the server's clock
  signed_header_missing,     ///< a header of SignedHeaders missing or given twice
  payload_unsigned,          ///< X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD
  signature_mismatch,        ///< the signature is not the request's
  project_mismatch,          ///< the caller's project (or X-Project-Id) is not the path's
  role_forbidden,            ///< the caller's role may not call this route
  content_type_invalid,      ///< Content-Type other than application/json, or given twice
  body_too_large,            ///< body over the size limit
  bad_chunked_body,          ///< a chunked body that does not follow the chunked format
  nested_too_deep,           ///< JSON nested deeper than the limit
  too_many_jobs,             ///< more items than the limit
  malformed_body,            ///< not JSON, not an object, or a key repeated
  empty_parameter,           ///< a required parameter missing, null or empty
  invalid_parameter,         ///< a parameter of the wrong value or type
  duplicate_parameter,       ///< the same job id twice
  service_abnormal,          ///< an error of the service itself
  bad_event_position,        ///< an event stream's Last-Event-ID or since is not a position
  event_position_gone,       ///< an event stream's position is no longer kept (410)
  too_many_streams,          ///< more event streams than the cap
  partition_unavailable,     ///< no node serves the project's partition now (scale-out)
  not_run,                   ///< the engine stopped before it ran the request or an item
  owner_gave_no_answer,      ///< a forwarded request got no answer: it may have run (502)
};

/// One row of the request-error table.
struct request_error_row {
  request_errc code;
  std::string_view name;           ///< the enumerator's name, e.g. "not_found"
  wire_error wire;                 ///< en and zh are fmt templates with `arguments` `{}` each
  std::uint8_t arguments;          ///< how many values the messages take
  std::string_view arguments_are;  ///< what they are, for docs/errors.md ("" when none)
  std::string_view when;           ///< when the service answers it, in one sentence
};

// clang-format off
/// Every refusal of the service, in the enum's order.
inline constexpr std::array request_error_table{
  request_error_row{request_errc::over_capacity, "over_capacity",
    {503, "TASKORCH.0503", "Too many connections; try again later.", "连接过多，请稍后重试。"}, 0, "",
    "the connection is over --max-connections, or was shed at the descriptor limit; answered before the request is read, in English"},
  request_error_row{request_errc::header_too_large, "header_too_large",
    {431, "TASKORCH.0431", "The request header is too large: at most {} bytes.", "请求头过大：最多{}字节。"}, 1, "the limit (8192)",
    "the request line and the header fields, with their line ends and the empty line, are over 8192 bytes; in English (the headers were not read)"},
  request_error_row{request_errc::bad_request, "bad_request",
    {400, "TASKORCH.0400", "The request is not valid HTTP/1.1.", "请求不是合法的HTTP/1.1请求。"}, 0, "",
    "the bytes are not an HTTP/1.0 or HTTP/1.1 request; in English when the headers could not be read"},
  request_error_row{request_errc::bad_transfer_encoding, "bad_transfer_encoding",
    {400, "TASKORCH.0400", "The request is not valid HTTP/1.1: the only transfer coding accepted is chunked, once.", "请求不是合法的HTTP/1.1请求：只接受一次chunked传输编码。"}, 0, "",
    "a Transfer-Encoding other than exactly one chunked (identity, gzip, chunked twice, chunked not last...): the body's length cannot be known (RFC 9112 §6.3); the connection is closed"},
  request_error_row{request_errc::not_found, "not_found",
    {404, "TASKORCH.0404", "The requested API does not exist.", "请求的接口不存在。"}, 0, "",
    "no route has this path (the query string is ignored)"},
  request_error_row{request_errc::method_not_allowed, "method_not_allowed",
    {405, "TASKORCH.0405", "The method is not allowed for this API.", "该接口不支持此请求方法。"}, 0, "",
    "the route exists but not for this method; the Allow header lists the methods it takes"},
  request_error_row{request_errc::token_missing, "token_missing",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the X-Auth-Token header is missing or not valid.", "IAM认证信息错误：X-Auth-Token请求头缺失或无效。"}, 0, "",
    "neither X-Auth-Token nor Authorization is given, or X-Auth-Token is bound to no project; checked before the body is read"},
  request_error_row{request_errc::token_repeated, "token_repeated",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the X-Auth-Token header appears more than once.", "IAM认证信息错误：X-Auth-Token请求头出现了多次。"}, 0, "",
    "X-Auth-Token is given more than once, whatever the values"},
  request_error_row{request_errc::credentials_ambiguous, "credentials_ambiguous",
    {401, "APIGW.0301", "Incorrect IAM authentication information: send either X-Auth-Token or an AK/SK signature (Authorization), not both.", "IAM认证信息错误：X-Auth-Token与AK/SK签名（Authorization）只能使用其一，不能同时使用。"}, 0, "",
    "the request has both X-Auth-Token and Authorization headers; checked before either is looked at"},
  request_error_row{request_errc::authorization_malformed, "authorization_malformed",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the Authorization header is not one SDK-HMAC-SHA256 signature (SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...).", "IAM认证信息错误：Authorization请求头不是一个SDK-HMAC-SHA256签名（SDK-HMAC-SHA256 Access=...，SignedHeaders=...，Signature=...）。"}, 0, "",
    "Authorization is given more than once, names another scheme, lacks Access, SignedHeaders or Signature, repeats or adds a parameter, lists a header name that is not a lowercase token, or has a Signature other than 64 hexadecimal digits"},
  request_error_row{request_errc::access_key_unknown, "access_key_unknown",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the access key (Access) is not known.", "IAM认证信息错误：访问密钥（Access）不存在。"}, 0, "",
    "the signature's Access names no --credential; checked before the body is read"},
  request_error_row{request_errc::required_header_unsigned, "required_header_unsigned",
    {401, "APIGW.0301", "Incorrect IAM authentication information: SignedHeaders must include {}.", "IAM认证信息错误：SignedHeaders必须包含{}。"}, 1, "host or x-sdk-date",
    "the signature does not cover the Host header or the X-Sdk-Date header (the official SDKs always sign both)"},
  request_error_row{request_errc::sdk_date_malformed, "sdk_date_malformed",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the X-Sdk-Date header is missing or not a UTC time of the form YYYYMMDDTHHMMSSZ.", "IAM认证信息错误：X-Sdk-Date请求头缺失，或不是YYYYMMDDTHHMMSSZ格式的UTC时间。"}, 0, "",
    "a signed request has no X-Sdk-Date, or one that is not a real UTC time written as 20260504T030201Z"},
  request_error_row{request_errc::sdk_date_expired, "sdk_date_expired",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the signing time (X-Sdk-Date) is more than {} seconds away from the server's clock.", "IAM认证信息错误：签名时间（X-Sdk-Date）与服务器时间相差超过{}秒。"}, 1, "the window (--signature-window, default 900)",
    "X-Sdk-Date is earlier or later than the server's clock by more than --signature-window seconds: an old signed request cannot be replayed later"},
  request_error_row{request_errc::signed_header_missing, "signed_header_missing",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the header {} of SignedHeaders is missing from the request or given more than once.", "IAM认证信息错误：SignedHeaders中的请求头{}在请求中缺失或出现了多次。"}, 1, "the header's name",
    "a header the signature covers is not in the request (removed after signing), or is in it twice; X-Sdk-Content-Sha256 twice also"},
  request_error_row{request_errc::payload_unsigned, "payload_unsigned",
    {401, "APIGW.0301", "Incorrect IAM authentication information: the request body is not signed (X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD); send it as application/json.", "IAM认证信息错误：请求体未签名（X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD）；请以application/json发送。"}, 0, "",
    "the request says its body is not signed (the SDKs do so for a Content-Type other than application/json): every body a command carries must be signed"},
  request_error_row{request_errc::signature_mismatch, "signature_mismatch",
    {401, "APIGW.0301", "Incorrect IAM authentication information: verify aksk signature fail: the signature does not match the request (a wrong secret key, or the request changed after it was signed).", "IAM认证信息错误：AK/SK签名校验失败：签名与请求不符（密钥错误，或请求在签名后被修改）。"}, 0, "",
    "the Signature is not the HMAC-SHA256 of the request with the access key's secret key, or X-Sdk-Content-Sha256 is not the body's SHA-256; checked once the body is read, before it is parsed or applied"},
  request_error_row{request_errc::project_mismatch, "project_mismatch",
    {403, "DRS.M00261", "Invalid project ID.", "项目ID无效。"}, 0, "",
    "the token or access key is valid but bound to another project than the path's project_id (malformed or not), or an X-Project-Id header names another project or is given twice"},
  request_error_row{request_errc::role_forbidden, "role_forbidden",
    {403, "TASKORCH.0403", "The caller's role ({}) may not call this API.", "调用者的角色（{}）无权调用该接口。"}, 1, "the role of the token or access key (operator, worker or reader)",
    "the role of the token or access key may not call this route (a reader: queries and the event stream only; a worker: also reports; an operator: commands, queries and the event stream, not reports); checked after the project, before Content-Type and the body"},
  request_error_row{request_errc::content_type_invalid, "content_type_invalid",
    {400, "DRS.M00202", "The value of parameter Content-Type is invalid: use application/json.", "参数Content-Type的值无效：请使用application/json。"}, 0, "",
    "Content-Type is not application/json (parameters such as charset are allowed; a missing header counts as application/json), or is given twice"},
  request_error_row{request_errc::body_too_large, "body_too_large",
    {413, "DRS.M00202", "The request body is too large: at most {} bytes.", "请求体过大：最多{}字节。"}, 1, "the limit (--max-body)",
    "the body is over --max-body, by Content-Length (answered from the head) or while a chunked body is read"},
  request_error_row{request_errc::bad_chunked_body, "bad_chunked_body",
    {400, "TASKORCH.0400", "The request is not valid HTTP/1.1: the chunked body is malformed.", "请求不是合法的HTTP/1.1请求：chunked请求体格式错误。"}, 0, "",
    "a chunked body whose chunk sizes, extensions or line ends are malformed; the connection is closed"},
  request_error_row{request_errc::nested_too_deep, "nested_too_deep",
    {400, "DRS.M00202", "The value of parameter {} is invalid: nested deeper than {} levels.", "参数{}的值无效：嵌套超过{}层。"}, 2, "the top-level field, the limit (8)",
    "the body's objects and arrays are nested deeper than 8 levels (the body itself is level 1); found while the body is read, before its syntax is checked"},
  request_error_row{request_errc::too_many_jobs, "too_many_jobs",
    {400, "DRS.M00202", "The value of parameter jobs is invalid: at most {} jobs per request.", "参数jobs的值无效：每个请求最多{}个任务。"}, 1, "the limit (--max-jobs)",
    "`jobs` holds more items than --max-jobs; found while the body is read, as soon as the item past the limit starts, before the syntax of the rest is checked"},
  request_error_row{request_errc::malformed_body, "malformed_body",
    {400, "DRS.M00200", "Parameter error: the request body is not a valid JSON object.", "参数错误：请求体不是合法的JSON对象。"}, 0, "",
    "the body is not JSON, not a JSON object, or an object in it has the same key twice"},
  request_error_row{request_errc::empty_parameter, "empty_parameter",
    {400, "DRS.M00201", "The parameter {} is empty.", "参数{}为空。"}, 1, "the parameter",
    "`jobs` is missing, not an array or empty; an item is not an object, is {} or lacks a required field (job_id, pause_mode), or has it null or \"\"; a batch-status item is null or \"\""},
  request_error_row{request_errc::invalid_parameter, "invalid_parameter",
    {400, "DRS.M00202", "The value of parameter {} is invalid.", "参数{}的值无效。"}, 1, "the parameter",
    "a job_id of the wrong shape or type; a pause_mode other than target or all; an is_sync_re_edit that is not a boolean; a batch-status id that is not a string of the id shape; a page_req that is not an object, a cur_page that is not an integer >= 1, a per_page that is not an integer 0..100"},
  request_error_row{request_errc::duplicate_parameter, "duplicate_parameter",
    {400, "DRS.M00301", "There are duplicate {} in request.", "请求中存在重复的{}。"}, 1, "the parameter",
    "the same job id twice in one request, caught at its second occurrence"},
  request_error_row{request_errc::service_abnormal, "service_abnormal",
    {500, "DRS.M00004", "Service is abnormal. Check logs.", "服务异常，请检查日志。"}, 0, "",
    "the service failed while answering the request (an error no table lists)"},
  request_error_row{request_errc::bad_event_position, "bad_event_position",
    {400, "TASKORCH.0400", "The event position is invalid: Last-Event-ID and since take a whole number, a position in the event stream.", "事件位置无效：Last-Event-ID和since须为整数，即事件流中的位置。"}, 0, "",
    "GET events: the Last-Event-ID header, or else the since query parameter, is not a whole number of 1 to 20 digits below 2^64 (empty, signed, not decimal), or is given more than once"},
  request_error_row{request_errc::event_position_gone, "event_position_gone",
    {410, "TASKORCH.0410", "The events after this position are no longer kept: list the tasks again, then resume after the position in oldest.", "该位置之后的事件已不再保留：请重新查询任务列表，然后从oldest所示的位置之后继续。"}, 0, "",
    "GET events: Last-Event-ID or since names a position the event feed no longer keeps (more than --feed-capacity changes ago) or never gave out (a server started afresh); the body adds oldest, the position to resume after"},
  request_error_row{request_errc::too_many_streams, "too_many_streams",
    {503, "TASKORCH.0503", "Too many event streams are open; try again later.", "打开的事件流过多，请稍后重试。"}, 0, "",
    "GET events: --max-event-streams event streams are open already"},
  request_error_row{request_errc::partition_unavailable, "partition_unavailable",
    {503, "TASKORCH.0503", "No server serves this project at the moment (its partition is changing owner); try again shortly.", "当前没有服务器处理该项目（其分区正在更换所有者），请稍后重试。"}, 0, "",
    "scale-out mode (--postgres): no node holds the project's partition now (its owner stopped or froze and no other has claimed it yet, or the node holding it cannot renew its lease), or the request came forwarded from another node and this one does not hold it either, or its owner cannot be reached or fails before it has the whole request; nothing was run; the answer has Retry-After: 1"},
  request_error_row{request_errc::not_run, "not_run",
    {503, "TASKORCH.0503", "Not run: the server stopped serving this project before it got to it (the project's partition moved to another node, or the server is stopping). Nothing changed; send it again.", "未执行：服务器在处理前已停止服务该项目（项目分区已迁至其他节点，或服务器正在停止）。未做任何变更，请重新发送。"}, 0, "",
    "the engine serving the project stopped (its partition moved to another node, or the server is stopping) before it ran the request, or an item of a batch: as a batch item's error_code the item was not run while others of the batch may have been; as the whole answer (with Retry-After: 1) nothing was run"},
  request_error_row{request_errc::owner_gave_no_answer, "owner_gave_no_answer",
    {502, "TASKORCH.0502", "The server serving this project took the request but gave no answer (it stopped, or did not answer in time): the request may or may not have been carried out. Read the tasks to see, or send it again.", "服务该项目的服务器已接收请求但未应答（已停止或超时未应答）：请求可能已执行，也可能未执行。请查询任务确认，或重新发送。"}, 0, "",
    "scale-out mode (--postgres): the request was sent on to the project's owner in full, and the owner closed the connection or did not answer within the forward timeout; unlike 503, the request may have been carried out"},
};
// clang-format on

namespace detail {

/// The number of `{}` in `text`.
constexpr std::size_t placeholders(std::string_view text) noexcept {
  std::size_t n = 0;
  for (std::size_t at = text.find("{}"); at != std::string_view::npos;
       at = text.find("{}", at + 2)) {
    ++n;
  }
  return n;
}

}  // namespace detail

static_assert(
    [] {
      for (std::size_t i = 0; i < request_error_table.size(); ++i) {
        const request_error_row& row = request_error_table[i];
        if (static_cast<std::size_t>(row.code) != i + 1) return false;
        if (detail::placeholders(row.wire.en) != row.arguments) return false;
        if (detail::placeholders(row.wire.zh) != row.arguments) return false;
      }
      return true;
    }(),
    "request_error_table lists every request_errc once, in the enum's order, and each message "
    "has one {} per argument");

/// Returns the row of `e`.
constexpr const request_error_row& describe(request_errc e) noexcept {
  return request_error_table[static_cast<std::size_t>(e) - 1];
}

/// Returns how `ec` (a failure) is shown on the wire: its engine_error_table row, not_run for
/// operation_aborted (the engine stopped before it ran), or service_abnormal for any other
/// error the table does not list.
inline const wire_error& describe(const error_code& ec) noexcept {
  if (ec.category() == error_category()) {
    if (const errc_info* row = find_errc(static_cast<errc>(ec.value()))) {
      return engine_error_table[static_cast<std::size_t>(row->code) - 1].wire;
    }
  }
  if (ec == boost::system::errc::operation_canceled) return describe(request_errc::not_run).wire;
  return describe(request_errc::service_abnormal).wire;
}

/// Returns the DRS error code of `ec`, or the empty string for success.
inline std::string_view drs_error_code(const error_code& ec) noexcept {
  return ec ? describe(ec).drs_code : std::string_view();
}

}  // namespace taskorch::http
