// The studio's HTTP/1.1 transport on Boost.Beast: one event-driven I/O thread
// for every connection, so slow or idle clients cost a socket, not a thread.
// Each request's head has a deadline and is checked (token, Host, Origin,
// size) before a byte of its body is read; its body has a deadline of its own;
// connections are bounded in all and per client; a refused request closes
// its connection, so nothing left unread is ever parsed as a new request.
// Handlers run on a small pool; quick ones (health) on the I/O thread.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace atelier::studio::http {

struct Request {
  std::string method, target;
  std::string path;                               // percent-decoded
  std::multimap<std::string, std::string> query;  // percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string client;                // the peer's address
  std::vector<std::string> matches;  // filled by the router

  std::string header(const std::string& lower_case_name) const;
  bool has_param(const std::string& name) const { return query.count(name) > 0; }
  std::string param(const std::string& name) const;
};

// Writes one piece of a stream; false once the client has gone.
using StreamWriter = std::function<bool(const std::string&)>;

struct Response {
  int status = 200;
  std::string content_type, body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
  // Set for a long-lived stream (Server-Sent Events): after the head, it runs
  // on a thread of its own and writes until it returns.
  std::function<void(const StreamWriter&)> stream;

  void set_header(const std::string& name, const std::string& value) { headers.emplace_back(name, value); }
};

struct TransportOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::size_t max_body_bytes = 64 << 20;
  std::size_t max_header_bytes = 16 << 10;
  // Bodies held in memory at once, all connections together; more get 503.
  std::size_t max_bodies_bytes = 256 << 20;
  int header_seconds = 10;  // from connection (or the previous response) to a whole head
  int body_seconds = 15;    // plus one second per 256 KiB announced
  int max_connections = 1000;
  int max_connections_per_client = 400;
  int handler_threads = 8;
  int max_streams = 16;
};

struct TransportCallbacks {
  // Called once a request's head has arrived, before its body is read: a
  // response to send instead (the connection then closes).
  std::function<std::optional<Response>(const Request& head)> check_head;
  std::function<Response(Request&)> handle;
  // Cheap requests answered on the I/O thread, never queued behind others.
  std::function<bool(const Request& head)> is_quick;
  // The response to a request refused by the transport itself.
  std::function<Response(int status, const std::string& message)> error;
  // Every response's status (metrics) and headers every response carries.
  std::function<void(int status)> on_response;
  std::vector<std::pair<std::string, std::string>> default_headers;
};

class Transport {
 public:
  Transport(TransportOptions options, TransportCallbacks callbacks);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and listens (never sharing the port with another process); returns
  // the port. Throws atelier::Error when it cannot.
  int bind();
  void run();   // serves until stop()
  void stop();  // from any thread

  struct Impl;  // public so that the connections in the .cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace atelier::studio::http
