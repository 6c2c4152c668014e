#include "store_sink.hpp"

#include "frame.hpp"

namespace taskorch::storage {

std::error_code store_sink::write(const journal_group& g, std::uint64_t /*cut_lsn*/) {
  bytes_.clear();
  append_header({file_type::journal_segment, g.first}, bytes_);
  bytes_ += g.redo;
  const auto begin = clock::now();
  std::error_code ec = store_->append(g.first, g.last, bytes_);
  if (!ec) counters_.count_sync(clock::now() - begin);
  return ec;
}

}  // namespace taskorch::storage
