#include <tender/core/hall_draw.hpp>

namespace tender::core {

std::vector<seed_material> representative_seed_materials(std::string_view tender_id,
                                                         std::string_view checkpoint_root_b64,
                                                         std::string_view host_nonce) {
  return {{"checkpoint_root", std::string(checkpoint_root_b64)},
          {"host_reveal", std::string(host_nonce)},
          {"draw_id", std::string(tender_id) + "/representative"}};
}

std::vector<seed_material> discount_seed_materials(const discount_draw_inputs& in) {
  std::vector<seed_material> out{{"checkpoint_root", in.checkpoint_root_b64},
                                 {"host_reveal", in.host_nonce}};
  if (in.representative) {
    out.emplace_back("representative:" + *in.representative, in.representative_nonce);
  }
  out.emplace_back("draw_checkpoint", in.draw_checkpoint_b64);
  out.emplace_back("draw_id", in.tender_id + "/lot/" + std::to_string(in.lot) + "/discount");
  return out;
}

}  // namespace tender::core
