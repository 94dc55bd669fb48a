// addon.cc — the Node-API glue of the Coroscope addon (node-addon-api,
// Node-API 8). The work is in C (link.c: launching, attaching, draining the
// engine's rings, recording; reader.c: trace files); this file only turns
// it into JS objects.
//
// Exports:
//   launch(opts, onMessage) -> Target    opts: { file, argv, env, cwd?, preload,
//                                           stdinNull?, record?, batchEvents?, periodMs?, policy?,
//                                           follow? (default true: children and exec'd programs are
//                                           followed into the same stream, link.h) }
//   attach(opts, onMessage) -> Target    opts: { pid, record?, batchEvents?, periodMs?, policy? }
//   policy: 'drop' (default: the target never waits) or 'lossless' (its threads
//   wait for the link to drain, at most 1 s each time; link.h)
//   socketPath(pid) -> string
//   TraceFile(path)                      a trace file opened for reading: info, read, readAsync,
//                                        status, seekTime, seekEvent, summaries, close
//   symbolize(path, buildId, addrs)      libdw (symbolize.h): for each file address, its frames
//                                        [{ function, file, line, column, inlined }] innermost
//                                        first ([] unknown), or null for all when the object
//                                        cannot be opened or its build id differs
// Target: pid, send(line), kill(signal), stop(), stats()
// onMessage(msg) is called on the JS thread with, in order of happening:
//   { type: 'events', events: Buffer (64-byte records), strings: [id, text][] }
//   { type: 'output', stream: 1|2, data: Buffer }
//   { type: 'line', line }               a control reply (JSON text)
//   { type: 'error', message }           a problem that did not stop the link
//   { type: 'exit', code, signal }       code/signal null when unknown (attached)
//   { type: 'end' }                      the link is over; nothing follows
//
// Threads: each Target has one thread running cs_link_run; it reaches JS
// only through a thread-safe function with an unbounded queue (never
// blocks). Event batches in that queue are counted: above kMaxInFlight the
// link stops draining (sink.busy) rather than our memory growing: the engine
// then drops, and says so (policy drop), or its threads wait (lossless). No external buffers: every
// Buffer is a copy owned by JS (Electron forbids external buffers).
// A TraceFile's readAsync decodes on a libuv pool thread into the caller's
// Uint8Array while JS runs on (what lets a reader decode the next batch while
// the current one is processed): from the call until its promise settles the
// pool thread alone touches the cs_reader, and every other method of that
// TraceFile throws ("a read is in progress"); the array and the TraceFile are
// held by references until then. The strings of the batch are made JS strings
// back on the JS thread.

#include <napi.h>

#include "symbolize.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
#include "link.h"
#include "wire/reader.h"
#include "wire/control_path.h"
}

namespace
{

constexpr int kMaxInFlight = 16;

struct Msg {
    enum Kind { Events, Output, Line, Error, Exit, End } kind;
    std::vector<uint8_t> bytes; // events or output
    std::vector<std::pair<double, std::string>> strings;
    std::string text;
    int stream = 0, code = -1, sig = -1;
};

struct Shared {
    Napi::ThreadSafeFunction tsfn;
    std::atomic<int> inflight{0};
};

Napi::Value ToJs(Napi::Env env, const Msg &m)
{
    Napi::Object o = Napi::Object::New(env);
    switch (m.kind) {
    case Msg::Events: {
        o.Set("type", "events");
        o.Set("events", Napi::Buffer<uint8_t>::Copy(env, m.bytes.data(), m.bytes.size()));
        Napi::Array s = Napi::Array::New(env, m.strings.size());
        for (size_t i = 0; i < m.strings.size(); i++) {
            Napi::Array pair = Napi::Array::New(env, 2);
            pair.Set(0u, Napi::Number::New(env, m.strings[i].first));
            pair.Set(1u, Napi::String::New(env, m.strings[i].second));
            s.Set(i, pair);
        }
        o.Set("strings", s);
        break;
    }
    case Msg::Output:
        o.Set("type", "output");
        o.Set("stream", m.stream);
        o.Set("data", Napi::Buffer<uint8_t>::Copy(env, m.bytes.data(), m.bytes.size()));
        break;
    case Msg::Line:
        o.Set("type", "line");
        o.Set("line", m.text);
        break;
    case Msg::Error:
        o.Set("type", "error");
        o.Set("message", m.text);
        break;
    case Msg::Exit:
        o.Set("type", "exit");
        o.Set("code", m.code >= 0 ? Napi::Value(Napi::Number::New(env, m.code)) : env.Null());
        o.Set("signal", m.sig > 0 ? Napi::Value(Napi::Number::New(env, m.sig)) : env.Null());
        break;
    case Msg::End: o.Set("type", "end"); break;
    }
    return o;
}

// ---- the sink: runs on the link thread -----------------------------------------------------

void Post(Shared *sh, Msg *m)
{
    if (m->kind == Msg::Events) sh->inflight++;
    napi_status st = sh->tsfn.NonBlockingCall(m, [sh](Napi::Env env, Napi::Function fn, Msg *msg) {
        if (msg->kind == Msg::Events) sh->inflight--;
        if (env != nullptr && fn != nullptr) fn.Call({ToJs(env, *msg)});
        delete msg;
    });
    if (st != napi_ok) { // the JS side is gone (closing): nothing to tell
        if (m->kind == Msg::Events) sh->inflight--;
        delete m;
    }
}

extern "C" void SinkEvents(void *ctx, const coroscope_event *ev, size_t n, const cs_link_string *s, size_t ns)
{
    auto *m = new Msg{Msg::Events};
    m->bytes.assign(reinterpret_cast<const uint8_t *>(ev), reinterpret_cast<const uint8_t *>(ev + n));
    m->strings.reserve(ns);
    for (size_t i = 0; i < ns; i++)
        m->strings.emplace_back(static_cast<double>(s[i].id), std::string(s[i].text, s[i].len));
    Post(static_cast<Shared *>(ctx), m);
}
extern "C" void SinkOutput(void *ctx, int stream, const char *data, size_t n)
{
    auto *m = new Msg{Msg::Output};
    m->stream = stream;
    m->bytes.assign(data, data + n);
    Post(static_cast<Shared *>(ctx), m);
}
extern "C" void SinkLine(void *ctx, const char *line)
{
    auto *m = new Msg{Msg::Line};
    m->text = line;
    Post(static_cast<Shared *>(ctx), m);
}
extern "C" void SinkError(void *ctx, const char *msg)
{
    auto *m = new Msg{Msg::Error};
    m->text = msg;
    Post(static_cast<Shared *>(ctx), m);
}
extern "C" void SinkExit(void *ctx, int code, int sig)
{
    auto *m = new Msg{Msg::Exit};
    m->code = code;
    m->sig = sig;
    Post(static_cast<Shared *>(ctx), m);
}
extern "C" int SinkBusy(void *ctx)
{
    return static_cast<Shared *>(ctx)->inflight.load() >= kMaxInFlight;
}

// ---- Target ------------------------------------------------------------------------------------

std::string GetString(const Napi::Object &o, const char *key, bool required)
{
    Napi::Value v = o.Get(key);
    if (v.IsString()) return v.As<Napi::String>().Utf8Value();
    if (required || !(v.IsUndefined() || v.IsNull()))
        throw Napi::TypeError::New(o.Env(), std::string("option '") + key + "' must be a string");
    return "";
}

uint32_t GetU32(const Napi::Object &o, const char *key)
{
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull()) return 0;
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("option '") + key + "' must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 4294967295.0)
        throw Napi::RangeError::New(o.Env(), std::string("option '") + key + "' is out of range");
    return static_cast<uint32_t>(d);
}

std::vector<std::string> GetStrings(const Napi::Object &o, const char *key)
{
    Napi::Value v = o.Get(key);
    if (!v.IsArray())
        throw Napi::TypeError::New(o.Env(), std::string("option '") + key + "' must be an array of strings");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<std::string> out;
    for (uint32_t i = 0; i < a.Length(); i++) {
        Napi::Value e = a.Get(i);
        if (!e.IsString())
            throw Napi::TypeError::New(o.Env(), std::string("option '") + key + "' must be an array of strings");
        out.push_back(e.As<Napi::String>().Utf8Value());
    }
    return out;
}

std::vector<char *> CStrings(std::vector<std::string> &v)
{
    std::vector<char *> p;
    for (auto &s : v) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
}

class Target : public Napi::ObjectWrap<Target>
{
  public:
    static Napi::FunctionReference *ctor;

    static Napi::Function Init(Napi::Env env)
    {
        Napi::Function f = DefineClass(env, "Target",
                                       {InstanceAccessor<&Target::Pid>("pid"), InstanceMethod<&Target::Send>("send"),
                                        InstanceMethod<&Target::Kill>("kill"), InstanceMethod<&Target::Stop>("stop"),
                                        InstanceMethod<&Target::Stats>("stats")});
        ctor = new Napi::FunctionReference(Napi::Persistent(f));
        return f;
    }

    explicit Target(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Target>(info) {}
    ~Target() override { Shutdown(); }

    // Takes ownership of link; starts the reader thread.
    // events false: no 'events' messages (the link records and counts them: stats).
    void Start(Napi::Env env, cs_link *link, Napi::Function onMessage, bool events)
    {
        link_ = link;
        shared_ = std::make_unique<Shared>();
        shared_->tsfn = Napi::ThreadSafeFunction::New(env, onMessage, "coroscope-link", 0, 1);
        Shared *sh = shared_.get();
        thread_ = std::thread([link, sh, events] {
            // Without events, the process records still come (cs_link_sink process_only): the session
            // knows its processes and which children were not traced.
            cs_link_sink sink = {sh, SinkEvents, SinkOutput, SinkLine, SinkExit, SinkError, SinkBusy, events ? 0 : 1};
            cs_link_run(link, &sink);
            Post(sh, new Msg{Msg::End});
            sh->tsfn.Release();
        });
    }

  private:
    cs_link *link_ = nullptr;
    std::unique_ptr<Shared> shared_;
    std::thread thread_;

    void Shutdown()
    {
        if (!link_) return;
        cs_link_stop(link_);
        if (thread_.joinable()) thread_.join();
        cs_link_free(link_);
        link_ = nullptr;
    }

    Napi::Value Pid(const Napi::CallbackInfo &info)
    {
        return Napi::Number::New(info.Env(), link_ ? cs_link_pid(link_) : -1);
    }

    Napi::Value Send(const Napi::CallbackInfo &info)
    {
        if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "send(line): line must be a string");
        if (!link_) throw Napi::Error::New(info.Env(), "the link is stopped");
        int e = cs_link_send(link_, info[0].As<Napi::String>().Utf8Value().c_str());
        if (e) throw Napi::Error::New(info.Env(), std::string("cannot send to the engine: ") + strerror(e));
        return info.Env().Undefined();
    }

    Napi::Value Kill(const Napi::CallbackInfo &info)
    {
        int sig = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 15;
        if (!link_) throw Napi::Error::New(info.Env(), "the link is stopped");
        int e = cs_link_kill(link_, sig);
        if (e == EPERM) throw Napi::Error::New(info.Env(), "only a launched target can be killed from here");
        if (e && e != ESRCH) throw Napi::Error::New(info.Env(), std::string("kill: ") + strerror(e));
        return Napi::Boolean::New(info.Env(), e == 0);
    }

    // Stop reading (after a final drain); the recording is closed. Idempotent.
    Napi::Value Stop(const Napi::CallbackInfo &info)
    {
        Shutdown();
        return info.Env().Undefined();
    }

    Napi::Value Stats(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        Napi::Object o = Napi::Object::New(env);
        cs_link_stats s{};
        if (link_) cs_link_stats_get(link_, &s);
        o.Set("events", static_cast<double>(s.events));
        o.Set("dropped", static_cast<double>(s.dropped));
        o.Set("delivered", static_cast<double>(s.delivered));
        o.Set("bytesRecorded", static_cast<double>(s.bytes_recorded));
        o.Set("batches", static_cast<double>(s.batches));
        o.Set("rings", s.rings);
        o.Set("recordingError",
              s.recording_error ? Napi::Value(Napi::String::New(env, strerror(s.recording_error))) : env.Null());
        return o;
    }
};
Napi::FunctionReference *Target::ctor = nullptr;

Napi::Value NewTarget(Napi::Env env, cs_link *link, Napi::Function onMessage, bool events)
{
    Napi::Object obj = Target::ctor->New({});
    Target::Unwrap(obj)->Start(env, link, onMessage, events);
    return obj;
}

// A failed launch or attach: the link's message, with its errno code for the JS side.
[[noreturn]] void ThrowLinkError(Napi::Env env, const char *msg, int code)
{
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("errno", Napi::Number::New(env, code));
    throw e;
}

Napi::Value Launch(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "launch(opts, onMessage)");
    Napi::Object o = info[0].As<Napi::Object>();
    std::string file = GetString(o, "file", true), cwd = GetString(o, "cwd", false),
                preload = GetString(o, "preload", true), rec = GetString(o, "record", false);
    std::vector<std::string> argv = GetStrings(o, "argv"), envs = GetStrings(o, "env");
    std::vector<char *> argvp = CStrings(argv), envp = CStrings(envs);
    cs_link_spawn_opts so{};
    so.file = file.c_str();
    so.argv = argvp.data();
    so.envp = envp.data();
    so.cwd = cwd.empty() ? nullptr : cwd.c_str();
    so.preload = preload.c_str();
    so.stdin_null = o.Get("stdinNull").ToBoolean().Value() ? 1 : 0;
    so.record_path = rec.empty() ? nullptr : rec.c_str();
    so.batch_events = GetU32(o, "batchEvents");
    so.period_ms = GetU32(o, "periodMs");
    std::string policy = GetString(o, "policy", false);
    so.policy = policy.empty() ? nullptr : policy.c_str();
    // follow: false -> children and exec'd programs are not followed (default: followed, link.h)
    Napi::Value follow = o.Get("follow");
    so.no_follow = follow.IsBoolean() && !follow.As<Napi::Boolean>().Value() ? 1 : 0;
    char err[512] = "";
    cs_link *link = nullptr;
    int code = cs_link_spawn(&link, &so, err, sizeof err);
    if (code) ThrowLinkError(env, err, code);
    return NewTarget(env, link, info[1].As<Napi::Function>(),
                     !o.Get("events").IsBoolean() || o.Get("events").As<Napi::Boolean>().Value());
}

Napi::Value Attach(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) throw Napi::TypeError::New(env, "attach(opts, onMessage)");
    Napi::Object o = info[0].As<Napi::Object>();
    uint32_t pid = GetU32(o, "pid");
    std::string rec = GetString(o, "record", false), policy = GetString(o, "policy", false);
    char err[512] = "";
    cs_link *link = nullptr;
    int code =
        cs_link_attach(&link, static_cast<pid_t>(pid), rec.empty() ? nullptr : rec.c_str(), GetU32(o, "batchEvents"),
                       GetU32(o, "periodMs"), policy.empty() ? nullptr : policy.c_str(), err, sizeof err);
    if (code) ThrowLinkError(env, err, code);
    return NewTarget(env, link, info[1].As<Napi::Function>(),
                     !o.Get("events").IsBoolean() || o.Get("events").As<Napi::Boolean>().Value());
}

// The control socket of pid where a reader finds it (the last candidate's path when none exists).
Napi::Value SocketPath(const Napi::CallbackInfo &info)
{
    char p[108];
    cs_control_socket_find(info[0].As<Napi::Number>().Int32Value(), p, sizeof p);
    return Napi::String::New(info.Env(), p);
}

// The directories the engines' control sockets may be in, in the engine's order (control_path.h).
Napi::Value ControlDirs(const Napi::CallbackInfo &info)
{
    Napi::Array dirs = Napi::Array::New(info.Env());
    char d[4096];
    for (int i = 0; i < CS_CONTROL_DIRS; i++)
        if (cs_control_dir(i, d, sizeof d) == 0) dirs.Set(dirs.Length(), Napi::String::New(info.Env(), d));
    return dirs;
}

// ---- TraceFile -----------------------------------------------------------------------------------

class TraceFile : public Napi::ObjectWrap<TraceFile>
{
  public:
    static Napi::Function Init(Napi::Env env)
    {
        return DefineClass(
            env, "TraceFile",
            {InstanceMethod<&TraceFile::Info>("info"), InstanceMethod<&TraceFile::Read>("read"),
             InstanceMethod<&TraceFile::ReadAsync>("readAsync"), InstanceMethod<&TraceFile::Status>("status"),
             InstanceMethod<&TraceFile::Seek>("seekTime"), InstanceMethod<&TraceFile::Summaries>("summaries"),
             InstanceMethod<&TraceFile::SeekEvent>("seekEvent"), InstanceMethod<&TraceFile::Close>("close")});
    }

    explicit TraceFile(const Napi::CallbackInfo &info) : Napi::ObjectWrap<TraceFile>(info)
    {
        if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "new TraceFile(path)");
        std::string path = info[0].As<Napi::String>().Utf8Value();
        cs_trace_err err;
        if (cs_reader_open_path(&r_, path.c_str(), CS_READ_SKIP_UNKNOWN, &err)) {
            std::string msg = err.msg;
            /* The reader names the file in some messages (a failed open); say it once. */
            if (msg.compare(0, path.size() + 1, path + ":") != 0) msg = path + ": " + msg;
            Napi::Error e = Napi::Error::New(info.Env(), msg);
            e.Set("code", Napi::String::New(info.Env(), cs_trace_code_name(err.code)));
            throw e;
        }
    }
    ~TraceFile() override
    {
        if (r_) cs_reader_close(r_);
    }

  private:
    friend class ReadWorker;
    cs_reader *r_ = nullptr;
    std::vector<coroscope_event> buf_;
    bool allStrings_ = false; // after seekEvent: the next read() lists every string known so far
    bool busy_ = false;       // a readAsync is in flight: its pool thread owns r_

    cs_reader *R(const Napi::CallbackInfo &info)
    {
        if (busy_) throw Napi::Error::New(info.Env(), "a read is in progress on this trace file");
        if (!r_) throw Napi::Error::New(info.Env(), "the trace file is closed");
        return r_;
    }

    // Up to max records into out (STRING records skipped; the ids they define
    // appended to ids); done when the data ended. Touches only r (any thread).
    static size_t Decode(cs_reader *r, coroscope_event *out, uint32_t max, std::vector<uint64_t> &ids, bool &done)
    {
        size_t n = 0;
        done = false;
        while (n < max) {
            coroscope_event *ev = &out[n];
            if (cs_reader_next(r, ev) != 1) {
                done = true;
                break;
            }
            if (ev->kind == COROSCOPE_EV_STRING || ev->kind == COROSCOPE_EV_STRING_MORE) {
                if (ids.empty() || ids.back() != ev->a[0]) ids.push_back(ev->a[0]);
                continue;
            }
            n++;
        }
        return n;
    }

    // The { events, strings, done } of a read (JS thread).
    Napi::Object Result(Napi::Env env, Napi::Value events, std::vector<uint64_t> &ids, bool done)
    {
        cs_reader *r = r_;
        Napi::Object o = Napi::Object::New(env);
        o.Set("events", events);
        Napi::Array s = Napi::Array::New(env);
        uint32_t k = 0;
        if (allStrings_) { // after a seek: every string defined before (and in) what this read covered
            allStrings_ = false;
            ids.clear();
            size_t cur = 0;
            uint64_t id;
            const char *t;
            size_t len;
            while (cs_reader_strings_next(r, &cur, &id, &t, &len)) ids.push_back(id);
        }
        for (uint64_t id : ids) {
            size_t len;
            const char *t = cs_reader_string(r, id, &len, nullptr);
            if (!t) continue;
            Napi::Array pair = Napi::Array::New(env, 2);
            pair.Set(0u, Napi::Number::New(env, static_cast<double>(id)));
            pair.Set(1u, Napi::String::New(env, t, len));
            s.Set(k++, pair);
        }
        o.Set("strings", s);
        o.Set("done", Napi::Boolean::New(env, done));
        return o;
    }

    // The `into` argument of read / readAsync: records decoded into it; max clipped to what fits.
    static coroscope_event *Into(Napi::Env env, Napi::Uint8Array into, uint32_t &max)
    {
        if (into.ByteOffset() % alignof(coroscope_event))
            throw Napi::TypeError::New(env, "read(max, into): into must be 8-byte aligned");
        size_t fits = into.ByteLength() / sizeof(coroscope_event);
        if (fits == 0) throw Napi::RangeError::New(env, "read(max, into): into holds no whole record");
        if (max > fits) max = static_cast<uint32_t>(fits);
        return reinterpret_cast<coroscope_event *>(into.Data());
    }

    // readAsync(max, into) -> Promise<{ events, strings, done }>: read(max, into) decoded on a pool
    // thread (see the top of this file); events is a view of into's start.
    Napi::Value ReadAsync(const Napi::CallbackInfo &info);

    Napi::Value Info(const Napi::CallbackInfo &info)
    {
        const cs_trace_info *i = cs_reader_info(R(info));
        Napi::Object o = Napi::Object::New(info.Env());
        o.Set("version", std::to_string(i->version_major) + "." + std::to_string(i->version_minor));
        o.Set("eventsVersion", i->events_version);
        o.Set("pid", i->pid);
        o.Set("monoNs", static_cast<double>(i->mono_ns));
        o.Set("realNs", static_cast<double>(i->real_ns));
        o.Set("fileSize", static_cast<double>(i->file_size));
        o.Set("complete", Napi::Boolean::New(info.Env(), i->has_index));
        o.Set("chunks", i->chunk_count);
        o.Set("records", static_cast<double>(i->total_records));
        return o;
    }

    // read(max[, into]) -> { events, strings, done }: up to max records (no
    // STRING records: their text is in strings); done when the data ended
    // (clean or not: see status()). With into (a Uint8Array, 8-byte aligned),
    // the records are decoded straight into it (max: at most what fits) and
    // events is a view of its start: no allocation per read, for a caller
    // that is done with one batch before asking for the next.
    Napi::Value Read(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        cs_reader *r = R(info);
        uint32_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 65536;
        if (max == 0) max = 1;
        coroscope_event *out;
        Napi::Uint8Array into;
        if (info.Length() > 1 && info[1].IsTypedArray() &&
            info[1].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
            into = info[1].As<Napi::Uint8Array>();
            out = Into(env, into, max);
        } else {
            buf_.resize(max);
            out = buf_.data();
        }
        std::vector<uint64_t> ids;
        bool done;
        size_t n = Decode(r, out, max, ids, done);
        Napi::Value events;
        if (!into.IsEmpty())
            events = Napi::Uint8Array::New(env, n * sizeof(coroscope_event), into.ArrayBuffer(), into.ByteOffset());
        else
            events =
                Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t *>(out), n * sizeof(coroscope_event));
        return Result(env, events, ids, done);
    }

    Napi::Value Status(const Napi::CallbackInfo &info)
    {
        const cs_trace_err *e = cs_reader_status(R(info));
        Napi::Env env = info.Env();
        if (e->code == 0) return env.Null();
        Napi::Object o = Napi::Object::New(env);
        o.Set("code", cs_trace_code_name(e->code));
        o.Set("message", e->msg);
        o.Set("offset", static_cast<double>(e->offset));
        o.Set("recordsLost", static_cast<double>(e->records_lost));
        o.Set("bytesLost", static_cast<double>(e->bytes_lost));
        return o;
    }

    Napi::Value Seek(const Napi::CallbackInfo &info)
    {
        double t = info[0].As<Napi::Number>().DoubleValue();
        int rc = cs_reader_seek_time(R(info), t < 0 ? 0 : static_cast<uint64_t>(t));
        return Napi::Boolean::New(info.Env(), rc == 0);
    }

    // seekEvent(n) -> number: position read() at event n (events as read()
    // returns them: no STRING records, no unknown kinds; 0 = the first), using
    // the chunks' summaries (format 2: headers only) to find the chunk holding it,
    // then skipping within that chunk. Returns the event reached: n, or fewer
    // when the readable data holds fewer events (then read() is at its end, or
    // at the bad chunk that stopped the walk: see status()). The next read()
    // lists every string defined before that point.
    Napi::Value SeekEvent(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        cs_reader *r = R(info);
        if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "seekEvent(n): n must be a number");
        double want = info[0].As<Napi::Number>().DoubleValue();
        uint64_t n = want > 0 ? static_cast<uint64_t>(want) : 0;
        uint64_t cursor = 0, before = 0, target = 0;
        cs_chunk_summary cs;
        cs_trace_err err;
        bool found = false;
        while (cs_reader_summary_next(r, &cursor, &cs, &err) == 1) {
            uint64_t k = 0;
            for (uint32_t i = 0; i < cs.nlanes; i++) {
                const cs_lane_summary &l = cs.lanes[i];
                for (uint32_t j = 0; j < l.d.nkinds; j++) {
                    cs_kind_count kc;
                    memcpy(&kc, &l.kinds[j], sizeof kc);
                    if (kc.kind != COROSCOPE_EV_STRING && kc.kind != COROSCOPE_EV_STRING_MORE &&
                        cs_event_kind_known(kc.kind))
                        k += kc.count;
                }
            }
            if (before + k > n) {
                target = cs.offset;
                found = true;
                break;
            }
            before += k;
            target = cursor;
        }
        // target 0: no chunk at all (seek_time(0) goes to the start of the chunk area)
        int rc = target ? cs_reader_seek_chunk(r, target) : cs_reader_seek_time(r, 0);
        allStrings_ = true;
        if (rc) return Napi::Number::New(env, static_cast<double>(before));
        if (!found) { // past the readable data: read() ends (cleanly or at the bad chunk the walk met)
            if (err.code == 0) return Napi::Number::New(env, static_cast<double>(before));
            coroscope_event ev;
            while (cs_reader_next(r, &ev) == 1) {
            } // meets the same bad chunk: status set
            return Napi::Number::New(env, static_cast<double>(before));
        }
        coroscope_event ev;
        while (before < n) { // skip within the chunk (its strings are resolved as it loads)
            if (cs_reader_next(r, &ev) != 1) break;
            if (ev.kind == COROSCOPE_EV_STRING || ev.kind == COROSCOPE_EV_STRING_MORE) continue;
            before++;
        }
        return Napi::Number::New(env, static_cast<double>(before));
    }

    // summaries([from[, max]]) -> { chunks: [...], problem, next }: the summary of every chunk (at
    // most max) from the one at file offset `from` on (0 or absent: the first; an offset a previous walk's `next` gave,
    // so a growing live file is walked once, not from its start at every look), without decoding
    // records in format 2; problem is null or the status of a bad chunk that ended the walk; next
    // is the offset after the last chunk given (where a later walk goes on). Independent of read().
    Napi::Value Summaries(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        cs_reader *r = R(info);
        Napi::Array chunks = Napi::Array::New(env);
        uint64_t cursor = 0;
        if (info.Length() > 0 && info[0].IsNumber()) {
            double from = info[0].As<Napi::Number>().DoubleValue();
            if (from > 0) cursor = static_cast<uint64_t>(from);
        }
        uint32_t max = UINT32_MAX; // summaries(from, max): at most max chunks (the rest: from next)
        if (info.Length() > 1 && info[1].IsNumber()) {
            double m = info[1].As<Napi::Number>().DoubleValue();
            if (m >= 1 && m < UINT32_MAX) max = static_cast<uint32_t>(m);
        }
        const uint64_t start = cursor;
        cs_chunk_summary s;
        cs_trace_err err;
        uint32_t k = 0;
        memset(&err, 0, sizeof err);
        while (k < max && cs_reader_summary_next(r, &cursor, &s, &err) == 1) {
            Napi::Object c = Napi::Object::New(env);
            c.Set("offset", static_cast<double>(s.offset));
            c.Set("size", static_cast<double>(s.size));
            c.Set("firstTs", static_cast<double>(s.first_ts));
            c.Set("lastTs", static_cast<double>(s.last_ts));
            c.Set("records", s.nrecords);
            Napi::Array lanes = Napi::Array::New(env, s.nlanes);
            for (uint32_t i = 0; i < s.nlanes; i++) {
                const cs_lane_summary_disk &d = s.lanes[i].d;
                Napi::Object l = Napi::Object::New(env);
                l.Set("tid", d.tid);
                l.Set("worker", d.worker);
                l.Set("records", d.nrecords);
                l.Set("firstTs", static_cast<double>(d.first_ts));
                l.Set("lastTs", static_cast<double>(d.last_ts));
                l.Set("busyNs", static_cast<double>(d.busy_ns));
                l.Set("coStart", static_cast<double>(d.co_start));
                l.Set("coEnd", static_cast<double>(d.co_end));
                l.Set("idleAtStart", Napi::Boolean::New(env, d.state & CS_LANE_IDLE_AT_START));
                l.Set("idleAtEnd", Napi::Boolean::New(env, d.state & CS_LANE_IDLE_AT_END));
                Napi::Object kinds = Napi::Object::New(env);
                for (uint32_t j = 0; j < d.nkinds; j++) {
                    cs_kind_count kc;
                    memcpy(&kc, &s.lanes[i].kinds[j], sizeof kc);
                    kinds.Set(std::to_string(kc.kind), kc.count);
                }
                l.Set("kinds", kinds);
                lanes.Set(i, l);
            }
            c.Set("lanes", lanes);
            chunks.Set(k++, c);
        }
        Napi::Object o = Napi::Object::New(env);
        o.Set("chunks", chunks);
        o.Set("next", static_cast<double>(cursor ? cursor : start));
        if (err.code == 0) {
            o.Set("problem", env.Null());
        } else {
            Napi::Object p = Napi::Object::New(env);
            p.Set("code", cs_trace_code_name(err.code));
            p.Set("message", err.msg);
            p.Set("offset", static_cast<double>(err.offset));
            o.Set("problem", p);
        }
        return o;
    }

    Napi::Value Close(const Napi::CallbackInfo &info)
    {
        if (busy_) throw Napi::Error::New(info.Env(), "a read is in progress on this trace file");
        if (r_) cs_reader_close(r_);
        r_ = nullptr;
        return info.Env().Undefined();
    }
};

// One readAsync: Execute decodes on a pool thread (the TraceFile is busy_ meanwhile), OnOK / OnError
// settle the promise on the JS thread and free the TraceFile.
class ReadWorker : public Napi::AsyncWorker
{
  public:
    ReadWorker(Napi::Env env, TraceFile *tf, Napi::Object self, Napi::Uint8Array into, coroscope_event *out,
               uint32_t max)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), tf_(tf), r_(tf->r_), out_(out),
          max_(max)
    {
        self_ = Napi::Persistent(self);
        into_ = Napi::Persistent(into);
    }
    Napi::Promise Promise() const { return deferred_.Promise(); }

    void Execute() override { n_ = TraceFile::Decode(r_, out_, max_, ids_, done_); }

    void OnOK() override
    {
        Napi::Env env = Env();
        Napi::HandleScope scope(env);
        tf_->busy_ = false;
        Napi::Uint8Array into = into_.Value();
        Napi::Value events =
            Napi::Uint8Array::New(env, n_ * sizeof(coroscope_event), into.ArrayBuffer(), into.ByteOffset());
        try {
            deferred_.Resolve(tf_->Result(env, events, ids_, done_));
        } catch (const Napi::Error &e) {
            deferred_.Reject(e.Value());
        }
    }

    void OnError(const Napi::Error &e) override
    {
        tf_->busy_ = false;
        deferred_.Reject(e.Value());
    }

  private:
    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference self_;             // keeps the TraceFile alive
    Napi::Reference<Napi::Uint8Array> into_; // keeps the records' memory alive
    TraceFile *tf_;
    cs_reader *r_;
    coroscope_event *out_;
    uint32_t max_;
    std::vector<uint64_t> ids_;
    size_t n_ = 0;
    bool done_ = false;
};

Napi::Value TraceFile::ReadAsync(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    R(info);
    uint32_t max = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 65536;
    if (max == 0) max = 1;
    if (info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw Napi::TypeError::New(env, "readAsync(max, into): into must be a Uint8Array");
    Napi::Uint8Array into = info[1].As<Napi::Uint8Array>();
    coroscope_event *out = Into(env, into, max);
    auto *w = new ReadWorker(env, this, info.This().As<Napi::Object>(), into, out, max);
    busy_ = true;
    w->Queue(); // the worker deletes itself after OnOK / OnError
    return w->Promise();
}

Napi::Value Symbolize(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[2].IsArray())
        throw Napi::TypeError::New(env, "symbolize(path, buildId, addrs): path a string, addrs an array of numbers");
    std::string path = info[0].As<Napi::String>().Utf8Value();
    std::string bid = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
    Napi::Array addrs = info[2].As<Napi::Array>();
    Napi::Array out = Napi::Array::New(env, addrs.Length());
    cs_sym_frame frames[16];
    for (uint32_t i = 0; i < addrs.Length(); i++) {
        Napi::Value v = addrs.Get(i);
        if (!v.IsNumber()) throw Napi::TypeError::New(env, "symbolize: addrs must be numbers");
        int n = cs_symbolize(path.c_str(), bid.c_str(), (uint64_t)v.As<Napi::Number>().DoubleValue(), frames, 16);
        if (n < 0) return env.Null();
        Napi::Array list = Napi::Array::New(env, (size_t)n);
        for (int k = 0; k < n; k++) {
            Napi::Object f = Napi::Object::New(env);
            f.Set("function", frames[k].function);
            f.Set("file", frames[k].file);
            f.Set("line", frames[k].line);
            f.Set("column", frames[k].column);
            f.Set("inlined", frames[k].inlined != 0);
            list.Set((uint32_t)k, f);
        }
        out.Set(i, list);
    }
    return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    exports.Set("symbolize", Napi::Function::New(env, Symbolize));
    exports.Set("Target", Target::Init(env));
    exports.Set("TraceFile", TraceFile::Init(env));
    exports.Set("launch", Napi::Function::New(env, Launch));
    exports.Set("attach", Napi::Function::New(env, Attach));
    exports.Set("socketPath", Napi::Function::New(env, SocketPath));
    exports.Set("controlDirs", Napi::Function::New(env, ControlDirs));
    exports.Set("eventSize", COROSCOPE_EVENT_SIZE);
    exports.Set("eventsVersion", COROSCOPE_EVENTS_VERSION);
    return exports;
}

} // namespace

NODE_API_MODULE(coroscope, Init)
