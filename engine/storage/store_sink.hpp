#pragma once
// store_sink: the journal's sink when an embedder's journal_store keeps the registry
// (storage_options::store). Each group goes to the store as one append, in the bytes of a
// journal segment holding just that group (a header naming its first record and the format,
// then its frames), so that a group read back is checked as a segment file is. The append
// is the group's sync: it returns once the store holds it durably.

#include "journal_sink.hpp"
#include <taskorch/journal_store.hpp>

#include <memory>

namespace taskorch::storage {

class store_sink final : public journal_sink {
 public:
  store_sink(std::shared_ptr<journal_store> store, journal_counters& counters)
      : store_(std::move(store)), counters_(counters) {}

  std::error_code write(const journal_group& g, std::uint64_t cut_lsn) override;
  std::string where() const override { return store_->name(); }

 private:
  std::shared_ptr<journal_store> store_;
  journal_counters& counters_;
  std::string bytes_;  // the last group's, kept for its capacity
};

}  // namespace taskorch::storage
