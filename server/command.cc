#include "server/command.h"

#include "server/connection.h"
#include "server/server.h"

namespace arvel::server {

CommandContext::CommandContext(Connection& conn, const CommandSpec& spec,
                               std::span<const std::string_view> args)
    : conn_(conn), spec_(spec), args_(args), writer_(conn.writer()) {}

ClientState& CommandContext::client() { return conn_.state(); }
Server& CommandContext::server() { return conn_.server(); }
drivers::Store& CommandContext::store() { return *conn_.state().store; }

PendingReply CommandContext::Suspend() {
  return PendingReply(&conn_.server(), conn_.state().id, conn_.Suspend());
}

PendingReply CommandContext::SuspendForOneCall() {
  return PendingReply(&conn_.server(), conn_.state().id, conn_.Suspend(true));
}

void CommandContext::ReplyStatus(const Status& status) {
  if (status.ok()) {
    writer_.Ok();
  } else {
    writer_.Error(status.message());
  }
}

bool PendingReply::alive() const {
  if (server_ == nullptr) return false;
  Connection* conn = server_->FindClient(client_id_);
  return conn != nullptr && conn->IsPending(ticket_);
}

void PendingReply::MarkWaiting(std::function<void()> on_cancel) {
  if (!alive()) return;
  server_->FindClient(client_id_)->MarkWaiting(ticket_, std::move(on_cancel));
}

Connection* PendingReply::Claim() {
  if (!alive()) return nullptr;
  return server_->FindClient(client_id_);
}

protocol::ReplyWriter PendingReply::WriterFor(Connection* conn) const {
  return conn->SlotWriter(ticket_);
}

void PendingReply::Release(Connection* conn) {
  server_ = nullptr;
  conn->Resume(ticket_);
}

}  // namespace arvel::server
