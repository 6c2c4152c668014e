#include "cluster_error.hpp"

#include <string>

namespace taskorch::cluster {

namespace {

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, never deleted via a base
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "taskorch.cluster"; }

  std::string message(int ev) const override {
    switch (static_cast<cluster_errc>(ev)) {
      case cluster_errc::fenced:
        return "another node owns the partition now (fenced): nothing was written";
      case cluster_errc::database_unavailable:
        return "PostgreSQL refused the write or could not be reached";
    }
    return "unknown taskorch.cluster error";
  }
};

const category instance;

}  // namespace

const std::error_category& cluster_category() noexcept { return instance; }

}  // namespace taskorch::cluster
