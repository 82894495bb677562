// Session lifecycle and call retry rules (see session.h). Logins are serialised by login_mu_;
// a generation counter makes concurrent callers that saw the same stale session re-login once.
#include "xapi/session.h"

namespace xapi {

Session::Session(SessionConfig cfg) : cfg_(std::move(cfg)) {
  Endpoint ep = Endpoint::parse(cfg_.url);
  if (ep.tls) tls_ = std::make_shared<TlsContext>(cfg_.tls);
  detected_ = cfg_.protocol;
}

Session::~Session() { shutdown(); }

Session::Link Session::current() {
  std::lock_guard<std::mutex> lk(mu_);
  return link_;
}

std::string Session::session_ref() { return current().ref; }
std::string Session::master_url() { return current().ep.url(); }
Protocol Session::protocol() {
  Link l = current();
  return l.rpc ? l.rpc->protocol() : cfg_.protocol;
}

void Session::set_pool_addresses(std::vector<std::string> addresses) {
  std::lock_guard<std::mutex> lk(mu_);
  if (!addresses.empty()) addresses_ = std::move(addresses);
}

Session::Link Session::open(Endpoint ep, int hops) {
  if (shut_.load()) throw TransportError("ECANCELED", "client closed");
  auto http = std::make_shared<HttpClient>(ep, ep.tls ? tls_ : nullptr, cfg_.limits);
  Protocol p;
  {
    std::lock_guard<std::mutex> lk(mu_);
    p = detected_;
  }
  auto rpc = std::make_shared<Rpc>(http, p);
  Array params{Value(cfg_.user), Value(cfg_.password), Value("1.1"), Value(cfg_.originator)};
  Response r = rpc->call("session.login_with_password", params);
  if (!r.ok) {
    if (!r.error.empty() && r.error[0] == "HOST_IS_SLAVE" && r.error.size() > 1 && hops < 3 &&
        ep.kind == Endpoint::Kind::Tcp)
      return open(ep.with_host(r.error[1]), hops + 1);
    throw XapiFailure(r.error, "session.login_with_password");
  }
  if (!r.value.is_string()) throw TransportError("EPROTO", "login answered without a session reference");
  {
    std::lock_guard<std::mutex> lk(mu_);
    detected_ = rpc->protocol();
  }
  Link l;
  l.ep = ep;
  l.rpc = rpc;
  l.ref = r.value.str();
  return l;
}

void Session::refresh_pool_addresses(const Link& link) {
  if (link.ep.kind != Endpoint::Kind::Tcp) return;
  try {
    Response r = link.rpc->call("host.get_all_records", Array{Value(link.ref)});
    if (!r.ok || !r.value.is_struct()) return;
    std::vector<std::string> out;
    for (auto& m : r.value.members()) {
      const Value* a = m.second.get("address");
      if (a && a->is_string() && !a->str().empty()) out.push_back(a->str());
    }
    set_pool_addresses(std::move(out));
  } catch (const std::exception&) {
    // Addresses are an optimisation for failover; the session works without them.
  }
}

void Session::login() {
  std::lock_guard<std::mutex> guard(login_mu_);
  Link l = open(Endpoint::parse(cfg_.url), 0);
  refresh_pool_addresses(l);
  std::lock_guard<std::mutex> lk(mu_);
  link_ = l;
  link_.gen = ++generation_;
}

void Session::relogin(uint64_t seen_gen) {
  std::lock_guard<std::mutex> guard(login_mu_);
  if (generation_.load() != seen_gen) return;
  Link old = current();
  Link l;
  try {
    l = open(old.ep, 0);
  } catch (const TransportError& e) {
    if (!e.unsent || old.ep.kind != Endpoint::Kind::Tcp) throw;
    failover_locked(old, e);
    return;
  }
  refresh_pool_addresses(l);
  std::lock_guard<std::mutex> lk(mu_);
  link_ = l;
  link_.gen = ++generation_;
}

void Session::failover(uint64_t seen_gen, const TransportError& cause) {
  std::lock_guard<std::mutex> guard(login_mu_);
  if (generation_.load() != seen_gen) return;
  failover_locked(current(), cause);
}

void Session::failover_locked(const Link& old, const TransportError& cause) {
  std::vector<std::string> candidates;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& a : addresses_)
      if (a != old.ep.host) candidates.push_back(a);
  }
  candidates.push_back(old.ep.host);  // it may be back
  for (auto& addr : candidates) {
    if (shut_.load()) break;
    try {
      Link l = open(old.ep.with_host(addr), 0);
      refresh_pool_addresses(l);
      std::lock_guard<std::mutex> lk(mu_);
      link_ = l;
      link_.gen = ++generation_;
      return;
    } catch (const std::exception&) {
      continue;
    }
  }
  throw cause;
}

Response Session::call(const std::string& method, const Array& params, CancelToken* cancel, int read_timeout_ms,
                       bool bulk) {
  bool relogged = false;
  for (int attempt = 0;; attempt++) {
    Link l = current();
    if (!l.rpc) throw TransportError("ENOTCONN", "not logged in");
    Array p;
    p.reserve(params.size() + 1);
    p.emplace_back(l.ref);
    for (auto& v : params) p.push_back(v);
    Response r;
    try {
      r = l.rpc->call(method, p, cancel, read_timeout_ms, bulk);
    } catch (const TransportError& e) {
      if (shut_.load() || e.code == "ECANCELED" || !e.unsent || attempt >= 2 ||
          l.ep.kind != Endpoint::Kind::Tcp)
        throw;
      failover(l.gen, e);
      continue;
    }
    if (!r.ok && !r.error.empty() && attempt < 2) {
      const std::string& code = r.error[0];
      if (code == "SESSION_INVALID" && !relogged) {
        relogged = true;
        relogin(l.gen);
        continue;
      }
      if (code == "HOST_IS_SLAVE" && l.ep.kind == Endpoint::Kind::Tcp) {
        relogin(l.gen);
        continue;
      }
    }
    return r;
  }
}

HttpResponse Session::http(HttpRequest req, const std::string& query) {
  Link l = current();
  if (!l.rpc) throw TransportError("ENOTCONN", "not logged in");
  req.target += (query.empty() ? "?" : "?" + query + "&") + std::string("session_id=") + l.ref;
  return l.rpc->http().request(req);
}

void Session::logout() {
  Link l = current();
  if (!l.rpc || l.ref.empty()) return;
  try {
    l.rpc->call("session.logout", Array{Value(l.ref)});
  } catch (const std::exception&) {
  }
  std::lock_guard<std::mutex> lk(mu_);
  link_.ref.clear();
}

void Session::shutdown() {
  shut_.store(true);
  Link l = current();
  if (l.rpc) l.rpc->http().shutdown();
}

}  // namespace xapi
