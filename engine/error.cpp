#include <taskorch/error.hpp>

#include <string>

namespace taskorch {

namespace {

// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, never deleted via a base
class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "taskorch"; }

  std::string message(int ev) const override {
    if (const errc_info* row = find_errc(static_cast<errc>(ev))) return std::string(row->message);
    return "unknown taskorch error";
  }
};

const category instance;

}  // namespace

const boost::system::error_category& error_category() noexcept { return instance; }

}  // namespace taskorch
