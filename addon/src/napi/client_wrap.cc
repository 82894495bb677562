// The native client object (client_wrap.h). Arguments are validated in src/xapi/client.ts;
// here only what keeps C++ from crashing is checked. Mirror reads run on the main thread
// under the mirror's shared lock; everything that can block runs in a worker.
#include "napi/client_wrap.h"

#include <algorithm>

#include "napi/call_worker.h"
#include "napi/convert.h"
#include "napi/mirror_js.h"
#include "napi/schema_js.h"
#include "xapi/rpc.h"

namespace xapi::js {

namespace {

std::string str_opt(const Napi::Object& o, const char* key, const std::string& dflt = "") {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : dflt;
}

int64_t num_opt(const Napi::Object& o, const char* key, int64_t dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int64Value() : dflt;
}

}  // namespace

Napi::Function ClientWrap::Define(Napi::Env env) {
  return DefineClass(env, "NativeClient",
                     {
                         InstanceMethod<&ClientWrap::Connect>("connect"),
                         InstanceMethod<&ClientWrap::Call>("call"),
                         InstanceMethod<&ClientWrap::TaskResult>("taskResult"),
                         InstanceMethod<&ClientWrap::MirrorGet>("mirrorGet"),
                         InstanceMethod<&ClientWrap::MirrorQuery>("mirrorQuery"),
                         InstanceMethod<&ClientWrap::MirrorCount>("mirrorCount"),
                         InstanceMethod<&ClientWrap::Synced>("synced"),
                         InstanceMethod<&ClientWrap::KeepAlive>("keepAlive"),
                         InstanceMethod<&ClientWrap::SyncTasks>("syncTasks"),
                         InstanceMethod<&ClientWrap::Info>("info"),
                         InstanceMethod<&ClientWrap::Resyncs>("resyncs"),
                         InstanceMethod<&ClientWrap::HttpPut>("httpPut"),
                         InstanceMethod<&ClientWrap::Close>("close"),
                     });
}

ClientWrap::ClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClientWrap>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeClient expects a config object");
  Napi::Object cfg = info[0].As<Napi::Object>();

  schema_ = schema_from_js(cfg.Get("schema"));
  Napi::Value rt = cfg.Get("resultTypes");
  if (rt.IsArray()) {
    auto a = rt.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      std::string t = a.Get(i).As<Napi::String>().Utf8Value();
      result_types_[t] = schema_->parse_type(t);
    }
  }

  SessionConfig sc;
  sc.url = str_opt(cfg, "url");
  sc.user = str_opt(cfg, "user");
  sc.password = str_opt(cfg, "password");
  std::string proto = str_opt(cfg, "protocol", "auto");
  sc.protocol = proto == "json-rpc" ? Protocol::JsonRpc : proto == "xml-rpc" ? Protocol::XmlRpc : Protocol::Auto;
  Napi::Value tls = cfg.Get("tls");
  if (tls.IsObject()) {
    Napi::Object t = tls.As<Napi::Object>();
    sc.tls.ca_file = str_opt(t, "caFile");
    sc.tls.fingerprint = str_opt(t, "fingerprint");
    sc.tls.insecure = t.Get("insecure").ToBoolean().Value();
  }
  connect_timeout_ms_ = static_cast<int>(num_opt(cfg, "connectTimeoutMs", 10000));
  sc.limits.connect_timeout_ms = connect_timeout_ms_;
  sc.limits.read_timeout_ms = static_cast<int>(num_opt(cfg, "callTimeoutMs", 300000));
  sc.limits.max_response_bytes = static_cast<size_t>(num_opt(cfg, "maxResponseBytes", int64_t(1) << 30));
  poll_seconds_ = static_cast<int>(num_opt(cfg, "eventPollSeconds", 30));
  pool_ = std::make_shared<WorkerPool>(static_cast<size_t>(num_opt(cfg, "callThreads", 16)));

  std::vector<int> mirrored;
  Napi::Value mv = cfg.Get("mirror");
  if (mv.IsArray()) {
    auto a = mv.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      int idx = schema_->class_index(a.Get(i).As<Napi::String>().Utf8Value());
      if (idx >= 0) mirrored.push_back(idx);
    }
  }
  try {
    session_ = std::make_shared<Session>(sc);
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const TransportError& e) {
    Failure f;
    f.set = true;
    f.code = e.code;
    f.message = e.what();
    f.method = "connect";
    throw Napi::Error(env, failure_to_js(env, f));
  }
  mirror_ = std::make_shared<Mirror>(schema_, mirrored);
  Napi::Value cb = cfg.Get("onChange");
  if (!cb.IsFunction()) throw Napi::TypeError::New(env, "config.onChange must be a function");
  pump_ = EventPump::create(env, cb.As<Napi::Function>(), schema_);
  EventPump* pump = pump_;
  // Tasks get a stream of their own: xapi answers a task-only event.from at once, while any
  // other subscription waits its batching delay (50 ms) after each change, which a task's
  // completion would otherwise pay twice per Async call.
  std::vector<int> tasks, others;
  for (int c : mirror_->classes()) (schema_->cls(c).name == "task" ? tasks : others).push_back(c);
  auto sink = [pump](std::vector<Change>&& c) { pump->push(std::move(c)); };
  // The task stream comes last so stopping in order never leaves it waiting on a live stream.
  for (auto* group : {&others, &tasks})
    if (!group->empty())
      streams_.push_back(std::make_shared<EventStream>(session_, mirror_, std::move(*group), sink, poll_seconds_));
  if (streams_.size() == 2) streams_[1]->follow(streams_[0]);
  napi_add_env_cleanup_hook(env, CleanupHook, this);
  hook_ = true;
}

ClientWrap::~ClientWrap() {
  teardown();
  keys_.release(env_);
  if (hook_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
}

void ClientWrap::CleanupHook(void* arg) {
  auto* self = static_cast<ClientWrap*>(arg);
  self->hook_ = false;
  self->teardown();
  self->keys_.release(self->env_);
}

void ClientWrap::teardown() {
  for (auto& s : streams_) s->stop();
  if (session_) session_->shutdown();
  if (pool_) pool_->stop();  // before the pump goes: pool threads hand finished jobs to it
  if (pump_) {
    pump_->release();
    pump_ = nullptr;
  }
}

Napi::Value ClientWrap::submit(Napi::Env env, PromiseWorker* job, bool urgent) {
  Napi::Promise p = job->promise();
  EventPump* pump = pump_;
  if (pump && pool_->post(
                  [job, pump] {
                    job->Execute();
                    pump->push_done(job);
                  },
                  urgent)) {
    pump->job_started(env);
    return p;
  }
  job->Refuse();
  job->Settle(env);
  delete job;
  return p;
}

int ClientWrap::class_arg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "class name must be a string");
  int idx = schema_->class_index(info[i].As<Napi::String>().Utf8Value());
  if (idx < 0 || !mirror_->mirrored(idx))
    throw Napi::TypeError::New(info.Env(), "class is not mirrored: " + info[i].As<Napi::String>().Utf8Value());
  return idx;
}

int ClientWrap::result_type(const std::string& text) const {
  auto it = result_types_.find(text);
  return it == result_types_.end() ? -1 : it->second;
}

Napi::Value ClientWrap::Connect(const Napi::CallbackInfo& info) {
  auto session = session_;
  auto streams = streams_;
  int timeout = connect_timeout_ms_ * 3 + 120000;
  auto* w = new TaskWorker(
      info.Env(), "session.login_with_password",
      [session, streams, timeout] {
        session->login();
        for (auto& s : streams) s->start();
        for (auto& s : streams) s->wait_synced(timeout);
      },
      [session](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("sessionRef", session->session_ref());
        o.Set("masterUrl", session->master_url());
        o.Set("protocol", protocol_name(session->protocol()));
        return o;
      });
  return submit(info.Env(), w);
}

Napi::Value ClientWrap::Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsArray()) throw Napi::TypeError::New(env, "call(method, args[])");
  std::string method = info[0].As<Napi::String>().Utf8Value();
  Array params;
  auto a = info[1].As<Napi::Array>();
  params.reserve(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) params.push_back(from_js(a.Get(i)));
  int type = info[2].IsString() ? result_type(info[2].As<Napi::String>().Utf8Value()) : -1;
  auto* w = new CallWorker(env, session_, schema_, method, std::move(params), type);
  return submit(info.Env(), w);
}

Napi::Value ClientWrap::TaskResult(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "taskResult(text, type?)");
  xapi::Value v = decode_task_result(info[0].As<Napi::String>().Utf8Value());
  if (info[1].IsString()) schema_->coerce(v, result_type(info[1].As<Napi::String>().Utf8Value()));
  return to_js(env, v);
}

Napi::Value ClientWrap::MirrorGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cls = class_arg(info, 0);
  if (!info[1].IsString()) throw Napi::TypeError::New(env, "mirrorGet(cls, key, byUuid)");
  std::string key = info[1].As<Napi::String>().Utf8Value();
  RowPtr row = info[2].ToBoolean().Value() ? mirror_->get_by_uuid(cls, key) : mirror_->get(cls, key);
  if (!row) return env.Undefined();
  // As JSON text when asked (JS parses it faster than N-API builds objects), else as an object.
  if (info[3].ToBoolean().Value()) {
    std::string json;
    json.reserve(row->data.size() * 2);
    if (row_json(json, schema_->cls(cls), *row, nullptr)) return Napi::String::New(env, json);
  }
  return Napi::Value(env, row_to_js(env, keys_, cls, schema_->cls(cls), *row, nullptr));
}

Napi::Value ClientWrap::MirrorQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cls = class_arg(info, 0);
  const ClassSchema& cs = schema_->cls(cls);
  std::vector<Cond> where = where_from_js(cs, info[1]);
  std::vector<int> fields;
  bool some = info[2].IsArray();
  if (some) {
    auto a = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      auto it = cs.field_ids.find(a.Get(i).As<Napi::String>().Utf8Value());
      if (it != cs.field_ids.end()) fields.push_back(it->second);
    }
  }
  size_t offset = info[3].IsNumber() ? static_cast<size_t>(info[3].As<Napi::Number>().Int64Value()) : 0;
  size_t limit = info[4].IsNumber() ? static_cast<size_t>(info[4].As<Napi::Number>().Int64Value()) : SIZE_MAX;
  std::vector<RowPtr> rows = mirror_->query(cls, where, offset, limit);
  if (info[5].ToBoolean().Value()) {
    std::string json = "[";
    bool ok = true;
    for (size_t i = 0; i < rows.size() && ok; i++) {
      if (i) json.push_back(',');
      ok = row_json(json, cs, *rows[i], some ? &fields : nullptr);
    }
    if (ok) {
      json.push_back(']');
      return Napi::String::New(env, json);
    }
  }
  napi_value arr;
  napi_create_array_with_length(env, rows.size(), &arr);
  for (size_t i = 0; i < rows.size(); i++)
    napi_set_element(env, arr, static_cast<uint32_t>(i), row_to_js(env, keys_, cls, cs, *rows[i], some ? &fields : nullptr));
  return Napi::Value(env, arr);
}

Napi::Value ClientWrap::MirrorCount(const Napi::CallbackInfo& info) {
  int cls = class_arg(info, 0);
  std::vector<Cond> where = where_from_js(schema_->cls(cls), info[1]);
  return Napi::Number::New(info.Env(), static_cast<double>(mirror_->count(cls, where)));
}

Napi::Value ClientWrap::Synced(const Napi::CallbackInfo& info) {
  bool synced = !streams_.empty();
  for (auto& s : streams_) synced = synced && s->synced();
  return Napi::Boolean::New(info.Env(), synced);
}

// While async tasks are tracked, the event pump must keep the process alive.
Napi::Value ClientWrap::KeepAlive(const Napi::CallbackInfo& info) {
  if (pump_) pump_->keep_alive(info.Env(), info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// Resolves true once the task records are mirrored as of an event.from issued after this call
// (a task created before it and absent then is gone); false when that could not be had.
Napi::Value ClientWrap::SyncTasks(const Napi::CallbackInfo& info) {
  std::shared_ptr<EventStream> tasks = streams_.empty() ? nullptr : streams_.back();
  auto ok = std::make_shared<bool>(false);
  auto* w = new TaskWorker(
      info.Env(), "event.from",
      [tasks, ok] { *ok = tasks && tasks->catch_up(5000); },
      [ok](Napi::Env env) { return Napi::Boolean::New(env, *ok); });
  return submit(info.Env(), w);
}

// How many times the mirror has reloaded (a XAPI restart or failover): one number, read on
// every instance read, so it builds no object.
Napi::Value ClientWrap::Resyncs(const Napi::CallbackInfo& info) {
  uint64_t resyncs = 0;
  for (auto& s : streams_) resyncs = std::max(resyncs, s->resyncs());
  return Napi::Number::New(info.Env(), static_cast<double>(resyncs));
}

Napi::Value ClientWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sessionRef", session_->session_ref());
  o.Set("masterUrl", session_->master_url());
  o.Set("protocol", protocol_name(session_->protocol()));
  o.Set("generation", Napi::Number::New(env, static_cast<double>(session_->generation())));
  uint64_t resyncs = 0;
  for (auto& s : streams_) resyncs = std::max(resyncs, s->resyncs());
  o.Set("resyncs", Napi::Number::New(env, static_cast<double>(resyncs)));
  return o;
}

Napi::Value ClientWrap::HttpPut(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsBuffer())
    throw Napi::TypeError::New(env, "httpPut(path, query, body)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string query = info[1].As<Napi::String>().Utf8Value();
  auto buf = info[2].As<Napi::Buffer<char>>();
  auto body = std::make_shared<std::string>(buf.Data(), buf.Length());
  auto session = session_;
  auto* w = new TaskWorker(
      env, "PUT " + path,
      [session, path, query, body] {
        HttpRequest req;
        req.method = "PUT";
        req.target = path;
        req.body = body->data();
        req.body_len = body->size();
        req.headers.emplace_back("Content-Type", "application/octet-stream");
        HttpResponse r = session->http(req, query);
        if (r.status < 200 || r.status >= 300)
          throw TransportError("HTTP_" + std::to_string(r.status),
                               "PUT " + path + " answered HTTP " + std::to_string(r.status));
      },
      [](Napi::Env e) { return e.Undefined(); });
  return submit(info.Env(), w);
}

Napi::Value ClientWrap::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  closing_ = true;
  auto session = session_;
  auto streams = streams_;
  EventPump* pump = pump_;
  auto pool = pool_;
  auto* w = new TaskWorker(
      env, "session.logout",
      [session, streams] {
        for (auto& s : streams) s->stop();
        session->logout();
        session->shutdown();
      },
      [pool, pump](Napi::Env e) {
        pool->stop();  // its calls fail fast on the shut session; joined before the pump goes
        if (pump) {
          pump->drain(e);
          pump->release();
        }
        return e.Undefined();
      });
  Napi::Value p = submit(env, w, true);  // never queued behind stalled calls
  pump_ = nullptr;  // later calls are refused (ECANCELED); the close job still settles through it
  return p;
}

}  // namespace xapi::js
