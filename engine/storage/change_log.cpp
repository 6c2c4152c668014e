#include "change_log.hpp"

namespace taskorch::storage {

namespace {

/// Appends one frame around the payload `encode_payload` appends to `out`.
template <class Encode>
void append_framed(std::string& out, Encode encode_payload) {
  out.append(frame_overhead, '\0');
  const std::size_t payload_begin = out.size();
  encode_payload(out);
  seal_frame(out, payload_begin);
}

void append_state(std::string& out, const set_state_record& r) {
  append_framed(out, [&](std::string& o) { encode_set_state(o, r); });
}

}  // namespace

void change_log::touch(detail::shard& where) {
  if (touched_.empty() || touched_.back() != &where) touched_.push_back(&where);
}

template <class Append>
void change_log::transact(detail::shard& where, std::uint64_t records, Append append) {
  const std::size_t redo_size = redo_.size();
  const std::size_t undo_size = undo_.size();
  try {
    append();
    touch(where);
  } catch (...) {
    redo_.resize(redo_size);  // a change is recorded whole or not at all
    undo_.resize(undo_size);
    throw;
  }
  count_ += records;
}

void change_log::set_state(detail::shard& where, const set_state_record& after,
                           const set_state_record& before) {
  transact(where, 1, [&] {
    append_state(redo_, after);
    append_state(undo_, before);
  });
}

void change_log::set_family_state(detail::shard& where, const set_state_record& forward_after,
                                  const set_state_record& forward_before,
                                  const set_state_record& backward_after,
                                  const set_state_record& backward_before) {
  transact(where, 1, [&] {
    append_framed(redo_, [&](std::string& o) {
      encode_set_family_state(o, {forward_after, backward_after});
    });
    append_framed(undo_, [&](std::string& o) {
      encode_set_family_state(o, {forward_before, backward_before});
    });
  });
}

void change_log::add(detail::shard& where, const record& redo, const record& undo) {
  transact(where, 1, [&] {
    append_framed(redo_, [&](std::string& o) { encode(redo, o); });
    append_framed(undo_, [&](std::string& o) { encode(undo, o); });
  });
}

void change_log::put_task(detail::shard& where, const task_spec& spec) {
  add(where, spec, erase_task_record{spec.id});
}

void change_log::put_family(detail::shard& where, const family_spec& spec) {
  add(where, spec, erase_family_record{spec.id});
}

void change_log::erase_task(detail::shard& where, const task_spec& before) {
  add(where, erase_task_record{before.id}, before);
}

void change_log::erase_family(detail::shard& where, const family_spec& before) {
  add(where, erase_family_record{before.id}, before);
}

}  // namespace taskorch::storage
