// The printable page of the opening record (开标记录), with the product's Chinese labels.

#include "hall_tx.hpp"

#include <boost/json.hpp>

#include <string>

namespace tender::db::hall_tx {
namespace json = boost::json;

namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string text(const json::value& v) {
  if (v.is_null()) return "—";
  if (v.is_string()) return esc(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "是" : "否";
  return esc(json::serialize(v));
}

std::string field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr ? "—" : text(*v);
}

std::string status_zh(std::string_view s) {
  if (s == "done") return "解密成功";
  if (s == "failed") return "解密失败";
  if (s == "decrypting") return "解密中";
  return "未解密";
}

}  // namespace

std::string record_html_page(const json::object& file) {
  const auto& rec = file.at("record").as_object();
  const auto& t = rec.at("tender").as_object();
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">";
  h += "<title>开标记录 " + field(t, "project_code") + "</title>";
  h += "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #888;padding:4px 8px;text-align:left}code{word-break:break-all}"
       "@media print{a{color:inherit}}</style></head><body>\n";
  h += "<h1>开标记录</h1>\n";
  h += "<table><tr><th>项目名称</th><td>" + field(t, "title") + "</td></tr>";
  h += "<tr><th>项目编号</th><td>" + field(t, "project_code") + "</td></tr>";
  h += "<tr><th>招标人</th><td>" + field(t, "tenderer") + "</td></tr>";
  h += "<tr><th>投标截止时间</th><td>" + field(t, "deadline_at") + "</td></tr>";
  h += "<tr><th>开标时间</th><td>" + field(t, "opening_at") + "</td></tr>";
  h += "<tr><th>解密时段</th><td>" + field(t, "window_opens_at") + " – " +
       field(t, "window_closes_at") + "</td></tr>";
  h += "<tr><th>唱标时间</th><td>" + field(t, "announced_at") + "</td></tr></table>\n";

  h += "<h2>签到</h2><table><tr><th>投标人</th><th>签到时间</th></tr>";
  for (const auto& a : rec.at("attendance").as_array()) {
    const auto& o = a.as_object();
    h += "<tr><td>" + field(o, "name") + "</td><td>" + field(o, "signed_in_at") + "</td></tr>";
  }
  h += "</table>\n";

  for (const auto& l : rec.at("lots").as_array()) {
    const auto& lo = l.as_object();
    h += "<h2>标段 " + field(lo, "lot") + "</h2>";
    h += "<p>最高投标限价：" + field(lo, "ceiling_price") + "　下浮率：" + field(lo, "draw_value") +
         "</p>";
    h += "<table><tr><th>投标人</th><th>解密状态</th><th>投标报价</th><th>工期</th><th>质量</th>"
         "<th>项目经理</th><th>其他</th></tr>";
    for (const auto& r : lo.at("rows").as_array()) {
      const auto& ro = r.as_object();
      const auto* summary = ro.if_contains("summary");
      std::string price = "—", days = "—", quality = "—", manager = "—", other;
      if (summary != nullptr && summary->is_object()) {
        for (const auto& kv : summary->get_object()) {
          const std::string k(kv.key());
          if (k == "price" || k == "bid_price")
            price = text(kv.value());
          else if (k == "duration_days" || k == "days" || k == "duration")
            days = text(kv.value());
          else if (k == "quality")
            quality = text(kv.value());
          else if (k == "project_manager" || k == "manager")
            manager = text(kv.value());
          else
            other += esc(k) + "：" + text(kv.value()) + "<br>";
        }
      }
      std::string status = status_zh(
          ro.at("status").is_string() ? std::string_view(ro.at("status").get_string()) : "");
      if (ro.contains("cause") && !ro.at("cause").is_null())
        status += "（" + text(ro.at("cause")) + "）";
      h += "<tr><td>" + field(ro, "name") + "</td><td>" + status + "</td><td>" + price +
           "</td><td>" + days + "</td><td>" + quality + "</td><td>" + manager + "</td><td>" +
           (other.empty() ? "—" : other) + "</td></tr>";
    }
    h += "</table>\n";
  }

  h += "<h2>解密情况</h2><table><tr><th>标段</th><th>投标人</th><th>解密状态</th><th>方式</th>"
       "<th>原因</th><th>责任方</th><th>处理</th><th>次数</th></tr>";
  for (const auto& d : rec.at("decryption").as_array()) {
    const auto& o = d.as_object();
    h +=
        "<tr><td>" + field(o, "lot") + "</td><td>" + field(o, "name") + "</td><td>" +
        status_zh(o.at("status").is_string() ? std::string_view(o.at("status").get_string()) : "") +
        "</td><td>" + field(o, "via") + "</td><td>" + field(o, "cause") + "</td><td>" +
        field(o, "side") + "</td><td>" + field(o, "treatment") + "</td><td>" +
        field(o, "attempts") + "</td></tr>";
  }
  h += "</table>\n";

  h += "<h2>确认</h2><table><tr><th>投标人</th><th>确认时间</th></tr>";
  for (const auto& c : rec.at("confirmations").as_array()) {
    const auto& o = c.as_object();
    h += "<tr><td>" + field(o, "org_id") + "</td><td>" + field(o, "confirmed_at") + "</td></tr>";
  }
  for (const auto& s : rec.at("silent").as_array()) {
    h += "<tr><td>" + text(s) + "</td><td>未确认（视为认可）</td></tr>";
  }
  h += "</table>\n";

  h += "<h2>异议</h2><table><tr><th>投标人</th><th>异议</th><th>答复</th></tr>";
  for (const auto& c : rec.at("objections").as_array()) {
    const auto& o = c.as_object();
    h += "<tr><td>" + field(o, "org_id") + "</td><td>" + field(o, "text") + "</td><td>" +
         field(o, "answer") + "</td></tr>";
  }
  h += "</table>\n";

  h += "<h2>中断记录</h2><table><tr><th>开始</th><th>结束</th></tr>";
  for (const auto& c : rec.at("outages").as_array()) {
    const auto& o = c.as_object();
    h += "<tr><td>" + field(o, "from") + "</td><td>" + field(o, "to") + "</td></tr>";
  }
  h += "</table>\n";

  h += "<h2>签名</h2><p>记录摘要（SHA-256）：<code>" + field(file, "digest") + "</code></p>";
  h += "<p>唱标摘要：<code>" + field(rec, "record_digest") + "</code>　日志序号：" +
       field(file, "log_index") + "</p>";
  h += "<pre>" + field(file, "note") + "</pre>\n";
  h += "</body></html>\n";
  return h;
}

}  // namespace tender::db::hall_tx
