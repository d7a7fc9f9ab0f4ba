#include <tender/protocol/version.hpp>

namespace tender::protocol {

std::string_view product_version() {
  return TENDER_VERSION;
}

}  // namespace tender::protocol
