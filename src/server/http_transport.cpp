// The studio's HTTP transport on Boost.Beast; see http_transport.hpp.
#include "server/http_transport.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <mutex>
#include <thread>

#include "atelier/error.hpp"
#include "atelier/studio.hpp"
#include "server/request_parsing.hpp"

namespace atelier::studio::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string Request::header(const std::string& lower_case_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_case_name) return value;
  return "";
}

std::string Request::param(const std::string& name) const {
  const auto found = query.find(name);
  return found == query.end() ? "" : found->second;
}

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

bool is_parse_error(const beast::error_code& error) {
  return error.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         error != bhttp::error::end_of_stream && error != bhttp::error::partial_message;
}

}  // namespace

struct Transport::Impl {
  TransportOptions options;
  TransportCallbacks callbacks;

  std::mutex mutex;  // guards what follows, up to the I/O objects
  int connections = 0;
  std::map<std::string, int> connections_by_client;
  std::size_t body_bytes = 0;
  struct Stream {
    std::thread thread;
    int fd;
    std::shared_ptr<bool> done;
  };
  std::vector<Stream> streams;
  bool stopped = false;

  // Declared last: destroyed first, while the counts above still exist for
  // the connections it destroys.
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::thread_pool handlers;

  Impl(TransportOptions options, TransportCallbacks callbacks)
      : options(std::move(options)), callbacks(std::move(callbacks)), handlers(this->options.handler_threads) {}

  ~Impl() {
    stop();
    handlers.join();
    std::vector<Stream> ending;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (Stream& stream : streams)
        if (!*stream.done) ::shutdown(stream.fd, SHUT_RDWR);
      ending.swap(streams);
    }
    for (Stream& stream : ending) stream.thread.join();
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopped = true;
    }
    io.stop();
  }

  bool admit(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex);
    if (connections >= options.max_connections ||
        connections_by_client[client] >= options.max_connections_per_client)
      return false;
    ++connections;
    ++connections_by_client[client];
    return true;
  }
  void release(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex);
    --connections;
    if (--connections_by_client[client] <= 0) connections_by_client.erase(client);
  }
  bool reserve_body(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    if (body_bytes + bytes > options.max_bodies_bytes) return false;
    body_bytes += bytes;
    return true;
  }
  void release_body(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    body_bytes -= bytes;
  }

  void accept();
  bool start_stream(tcp::socket& socket, Response& response, const std::string& head);
  std::string response_head(const Response& response) const;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Transport::Impl& server, tcp::socket socket, std::string client)
      : server_(server), stream_(std::move(socket)), client_(std::move(client)) {}
  ~Connection() {
    release_body();
    server_.release(client_);
  }
  void start() { read_head(); }

 private:
  using Self = std::shared_ptr<Connection>;
  const TransportOptions& options() const { return server_.options; }
  const TransportCallbacks& callbacks() const { return server_.callbacks; }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    // Set once the head has been checked, so that a 401 comes before a 413.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    request_ = Request{};
    request_.client = client_;
    stream_.expires_after(std::chrono::seconds(options().header_seconds));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_head(error); });
  }

  void on_head(beast::error_code error) {
    if (error == bhttp::error::header_limit) return refuse(431, "the request's headers are too large");
    if (is_parse_error(error)) return refuse(400, "malformed request (" + error.message() + ")");
    if (error) return linger_close();  // timeout, reset, or the client closed
    const auto& head = parser_->get();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    for (const auto& field : head) request_.headers.emplace_back(lower(std::string(field.name_string())), field.value());
    try {
      RequestTarget target = parse_target(request_.target);
      request_.path = std::move(target.path);
      request_.query = std::move(target.query);
    } catch (const Refusal& refusal) {
      return refuse(refusal.status, refusal.what());
    }
    if (std::optional<Response> refusal = callbacks().check_head(request_)) return send(std::move(*refusal), true);
    if (parser_->is_done()) return dispatch();
    const auto length = parser_->content_length();
    if (length && *length > options().max_body_bytes)
      return refuse(413, "the upload is larger than the studio accepts (--max-upload)");
    parser_->body_limit(options().max_body_bytes);
    const std::size_t wanted = length ? static_cast<std::size_t>(*length) : options().max_body_bytes;
    if (!server_.reserve_body(wanted)) {
      Response busy = callbacks().error(503, "the studio is receiving too many uploads; try again shortly");
      busy.set_header("Retry-After", "5");
      return send(std::move(busy), true);
    }
    reserved_ = wanted;
    if (lower(request_.header("expect")) == "100-continue") {
      auto interim = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      stream_.expires_after(std::chrono::seconds(options().header_seconds));
      return asio::async_write(stream_, asio::buffer(*interim),
                               [self = shared_from_this(), interim](beast::error_code error, std::size_t) {
                                 if (error) return self->linger_close();
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(std::chrono::seconds(options().body_seconds + static_cast<long>(reserved_ >> 18)));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_body(error); });
  }

  void on_body(beast::error_code error) {
    if (error == bhttp::error::body_limit)
      return refuse(413, "the upload is larger than the studio accepts (--max-upload)");
    if (is_parse_error(error)) return refuse(400, "malformed request body (" + error.message() + ")");
    if (error) return linger_close();
    request_.body = std::move(parser_->get().body());
    dispatch();
  }

  void dispatch() {
    keep_alive_ = parser_->get().keep_alive();
    if (callbacks().is_quick(request_)) return respond(handle());
    asio::post(server_.handlers, [self = shared_from_this()] {
      Response response = self->handle();
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->respond(std::move(response)); });
    });
  }

  Response handle() {
    try {
      return callbacks().handle(request_);
    } catch (const std::exception& error) {
      return callbacks().error(500, first_line(error.what()));
    }
  }

  void respond(Response response) {
    request_.body = std::string();
    release_body();
    if (!response.stream) return send(std::move(response), response.close || !keep_alive_);
    callbacks().on_response(response.status);
    tcp::socket socket = stream_.release_socket();
    if (server_.start_stream(socket, response, server_.response_head(response))) return;
    stream_.socket() = std::move(socket);  // no free stream slot
    Response busy = callbacks().error(503, "too many open event streams; poll GET /jobs/{id} instead");
    busy.set_header("Retry-After", "5");
    send(std::move(busy), true);
  }

  void send(Response response, bool close) {
    callbacks().on_response(response.status);
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), 11);
    for (const auto& [name, value] : callbacks().default_headers) message->set(name, value);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    if (!response.content_type.empty()) message->set(bhttp::field::content_type, response.content_type);
    message->body() = std::move(response.body);
    message->keep_alive(!close);
    message->prepare_payload();
    stream_.expires_after(std::chrono::seconds(60));
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message, close](beast::error_code error, std::size_t) {
                         if (error || close) return self->linger_close();
                         self->read_head();
                       });
  }

  void refuse(int status, const std::string& message) { send(callbacks().error(status, message), true); }

  // Sends FIN, then reads and drops what the client still sends (the body
  // of a refused upload) for a moment: closing with unread bytes would
  // reset the connection and could destroy the response before it is read.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(discard_), [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (!error) self->drain();
    });
  }

  void release_body() {
    if (reserved_ > 0) server_.release_body(reserved_);
    reserved_ = 0;
  }

  Transport::Impl& server_;
  beast::tcp_stream stream_;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  bool keep_alive_ = false;
  std::size_t reserved_ = 0;
  std::array<char, 16384> discard_;
};

}  // namespace

void Transport::Impl::accept() {
  acceptor.async_accept(io, [this](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      beast::error_code ignored;
      const auto peer = socket.remote_endpoint(ignored);
      const std::string client = ignored ? "?" : peer.address().to_string();
      socket.set_option(tcp::no_delay(true), ignored);
      if (admit(client)) {
        std::make_shared<Connection>(*this, std::move(socket), client)->start();
      } else {
        // Best effort, never blocking the loop: a full studio says so and closes.
        const Response busy = callbacks.error(503, "too many open connections");
        const std::string text = response_head(busy) + busy.body;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(text), ignored);
        socket.close(ignored);
      }
    }
    accept();
  });
}

std::string Transport::Impl::response_head(const Response& response) const {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(response.status))) + "\r\n";
  for (const auto& [name, value] : callbacks.default_headers) head += name + ": " + value + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  if (!response.content_type.empty()) head += "Content-Type: " + response.content_type + "\r\n";
  if (!response.stream) head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  return head + "Connection: close\r\n\r\n";
}

// A stream's thread owns its socket and writes to it with blocking writes;
// the I/O loop never touches it again. The body ends when the connection does.
bool Transport::Impl::start_stream(tcp::socket& socket, Response& response, const std::string& head) {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto it = streams.begin(); it != streams.end();) {
    if (*it->done) {
      it->thread.join();
      it = streams.erase(it);
    } else {
      ++it;
    }
  }
  if (stopped || static_cast<int>(streams.size()) >= options.max_streams) return false;
  auto done = std::make_shared<bool>(false);
  auto owned = std::make_shared<tcp::socket>(std::move(socket));
  const int fd = owned->native_handle();
  std::thread thread([this, owned, done, head, write_events = std::move(response.stream)] {
    beast::error_code error;
    owned->non_blocking(false, error);
    asio::write(*owned, asio::buffer(head), error);
    if (!error) write_events([&](const std::string& data) {
      asio::write(*owned, asio::buffer(data), error);
      return !error;
    });
    std::lock_guard<std::mutex> lock(mutex);
    owned->shutdown(tcp::socket::shutdown_both, error);
    owned->close(error);
    *done = true;
  });
  streams.push_back({std::move(thread), fd, done});
  return true;
}

Transport::Transport(TransportOptions options, TransportCallbacks callbacks)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(callbacks))) {}

Transport::~Transport() = default;

int Transport::bind() {
  TransportOptions& options = impl_->options;
  // Slow clients each hold a descriptor: allow as many as the system does.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur != RLIM_INFINITY)
      options.max_connections = static_cast<int>(
          std::min<rlim_t>(options.max_connections, files.rlim_cur > 128 ? files.rlim_cur - 64 : 64));
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code error;
  const auto address = asio::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, error);
  if (error) throw Error("--host " + options.host + ": not an IP address of this machine");
  tcp::acceptor& acceptor = impl_->acceptor;
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  acceptor.open(endpoint.protocol(), error);
  // SO_REUSEADDR (a restart need not wait out TIME_WAIT) but never
  // SO_REUSEPORT: a second studio on a busy port must fail, not share it.
  if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(1024, error);
  if (error) {
    beast::error_code ignored;
    acceptor.close(ignored);
    throw Error("cannot listen on " + where + ": " +
                (error == asio::error::address_in_use ? std::string("the port is in use (another studio?)")
                                                      : error.message()));
  }
  return acceptor.local_endpoint().port();
}

void Transport::run() {
  impl_->accept();
  impl_->io.run();
}

void Transport::stop() { impl_->stop(); }

}  // namespace atelier::studio::http
